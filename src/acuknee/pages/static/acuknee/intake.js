// The stepped intake, enhanced (a static file: the CSP allows no inline script). Without
// script the form works the same, step by step on the server; with it:
// - the error summary takes the focus when the page opens, so a screen reader reads it first
//   (or the field named in the address, when a summary link on another step led here);
// - a link in the error summary moves the focus to its field (the first control of a group),
//   not only the scroll position, and brings its label or legend into view;
// - a link of the step list saves the answers typed on this step first (as "Back" does).
(function () {
  "use strict";
  var CONTROLS = "input:not([type=hidden]), select, textarea";

  function control(id) {
    var target = document.getElementById(id);
    if (!target) { return null; }
    if (target.matches(CONTROLS)) { return target; }
    return target.querySelector(CONTROLS);
  }

  function focusField(id) {
    var field = control(id);
    if (!field) { return false; }
    var group = field.closest("fieldset.item, .field") || field;
    group.scrollIntoView({ block: "start" });
    field.focus({ preventScroll: true });
    return true;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector("[data-error-summary]");
    var hash = decodeURIComponent(window.location.hash.slice(1));
    if (!(hash && focusField(hash)) && summary) { summary.focus(); }
    if (summary) {
      summary.addEventListener("click", function (event) {
        var link = event.target.closest("a");
        if (!link) { return; }
        var href = link.getAttribute("href");
        if (href.charAt(0) !== "#") { return; }  // another step: the server shows it
        if (focusField(href.slice(1))) {
          event.preventDefault();
          history.replaceState(null, "", href);
        }
      });
    }
    var form = document.getElementById("intake-form");
    var goto = form && form.querySelector("[data-goto]");
    if (!goto) { return; }
    var changed = false;
    form.addEventListener("input", function () { changed = true; });
    form.addEventListener("change", function () { changed = true; });
    document.querySelectorAll("a[data-step]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        if (!changed) { return; }
        event.preventDefault();
        goto.value = link.getAttribute("data-step");
        form.submit();
      });
    });
  });
})();
