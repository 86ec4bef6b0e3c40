// Copy buttons (a static file: the CSP allows no inline script). A button
// <button type="button" data-copy="ID" hidden> copies the value (or text) of the element ID and
// says so in the live region named by data-copy-status. The buttons start hidden and are shown
// here, so a browser without script shows no button that does nothing.
(function () {
  "use strict";
  function say(button, text) {
    var status = document.getElementById(button.getAttribute("data-copy-status"));
    if (status) { status.textContent = text; }
  }
  function fallback(source) {
    if (typeof source.select !== "function") { return false; }
    source.focus();
    source.select();
    try { return document.execCommand("copy"); } catch (e) { return false; }
  }
  document.addEventListener("DOMContentLoaded", function () {
    var buttons = document.querySelectorAll("button[data-copy]");
    Array.prototype.forEach.call(buttons, function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var source = document.getElementById(button.getAttribute("data-copy"));
        if (!source) { return; }
        var text = "value" in source ? source.value : source.textContent;
        var done = function () { say(button, "Copied."); };
        var failed = function () {
          say(button, fallback(source) ? "Copied." : "Select the text and copy it by hand.");
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, failed);
        } else {
          failed();
        }
      });
    });
  });
})();
