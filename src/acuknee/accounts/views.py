"""``/account/``: the signed-in user's account page and the two-factor steps.

Enrolment shows the secret as a QR code (segno, as a ``data:`` image: the CSP allows
``img-src data:`` but no inline SVG styles) and as text; the first correct code confirms the
device and verifies the session. Verification is the step after the password.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login

from acuknee.accounts.access import admits, clinic_view
from acuknee.accounts.middleware import two_factor_step
from acuknee.accounts.twofactor import confirmed_device, pending_device, required_for
from acuknee.records.models import Role

EVERY_ROLE = frozenset(Role(value) for value in Role.values)
"""Every staff member has an account page and may enrol a second factor."""


class CodeForm(forms.Form):  # type: ignore[misc]
    token = forms.CharField(
        label="Six-digit code from your authenticator app",
        min_length=6,
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_token(self) -> str:
        token = "".join(str(self.cleaned_data["token"]).split())
        if not token.isdigit():
            raise forms.ValidationError("Enter the digits shown by your authenticator app.")
        return token


def _next(request: HttpRequest) -> str:
    """Where to go after the step: ``next`` when it is a local URL the user's role may open,
    else the home page (which sends each role to its landing page)."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if (
        wanted
        and url_has_allowed_host_and_scheme(
            wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        and admits(request.user, wanted)
    ):
        return wanted
    return str(reverse("home"))


def _step(name: str, request: HttpRequest) -> str:
    return f"{reverse(name)}?{urlencode({'next': _next(request)})}"


@never_cache  # type: ignore[untyped-decorator]
@clinic_view(roles=EVERY_ROLE)
def account(request: HttpRequest) -> HttpResponse:
    context = {
        "enrolled": confirmed_device(request.user) is not None,
        "required": required_for(request.user),
    }
    return render(request, "accounts/account.html", context)


@never_cache  # type: ignore[untyped-decorator]
@clinic_view(roles=EVERY_ROLE)
def password(request: HttpRequest) -> HttpResponse:
    """Change one's own password: the current one first (a borrowed session alone cannot take
    the account over), then the new one twice, checked by the password validators. The session
    stays signed in; the user's other sessions end (Django's session auth hash changes)."""
    from django.contrib.auth import update_session_auth_hash
    from django.contrib.auth.forms import PasswordChangeForm

    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        update_session_auth_hash(request, user)
        messages.success(request, "Your password is changed.")
        return redirect("account")
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/password.html", {"form": form}, status=status)


@never_cache  # type: ignore[untyped-decorator]
@two_factor_step
@clinic_view(roles=EVERY_ROLE)
def setup(request: HttpRequest) -> HttpResponse:
    """Enrol a TOTP device: scan or type the secret, then confirm with one code."""
    if confirmed_device(request.user) is not None:
        if not request.user.is_verified():
            return redirect(_step("two-factor-verify", request))
        messages.info(request, "Two-factor sign-in is already on for your account.")
        return redirect("account")
    device = pending_device(request.user)
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid() and device.verify_token(form.cleaned_data["token"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            messages.success(request, "Two-factor sign-in is on.")
            return HttpResponseRedirect(_next(request))
        if form.is_valid():
            form.add_error("token", "That code is not right; check the time on your phone.")
        status = 400
    import segno  # only here: the QR code is drawn on this page alone

    qr = segno.make(device.config_url, error="m")
    context = {
        "form": form,
        "qr": qr.svg_data_uri(scale=5, border=2),
        "secret": base64.b32encode(device.bin_key).decode(),
        "required": required_for(request.user),
        "next": _next(request),
    }
    response = render(request, "accounts/setup.html", context, status=status)
    response["Cache-Control"] = "no-store"  # the page holds the secret
    return response


@never_cache  # type: ignore[untyped-decorator]
@two_factor_step
@clinic_view(roles=EVERY_ROLE)
def verify(request: HttpRequest) -> HttpResponse:
    """The step after the password for a user with an enrolled device."""
    device = confirmed_device(request.user)
    if device is None:
        return redirect(_step("two-factor-setup", request))
    if request.user.is_verified():
        return HttpResponseRedirect(_next(request))
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid() and device.verify_token(form.cleaned_data["token"]):
            otp_login(request, device)
            return HttpResponseRedirect(_next(request))
        if form.is_valid():
            form.add_error("token", "That code is not right (or too many tries: wait a moment).")
        status = 400
    return render(
        request, "accounts/verify.html", {"form": form, "next": _next(request)}, status=status
    )


class ConfirmForm(forms.Form):  # type: ignore[misc]
    """The password again, and a current code where the user has enrolled a device."""

    password = forms.CharField(
        label="Your password",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = forms.CharField(
        label="Six-digit code from your authenticator app",
        required=False,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.device = confirmed_device(user)
        if self.device is None:
            del self.fields["code"]

    def clean_password(self) -> str:
        password = str(self.cleaned_data["password"])
        if not self.user.check_password(password):
            raise forms.ValidationError("That password is not right.")
        return password

    def clean_code(self) -> str:
        code = "".join(str(self.cleaned_data.get("code", "")).split())
        if self.device is None:
            return code
        if not code.isdigit() or not self.device.verify_token(code):
            raise forms.ValidationError("That code is not right (or too many tries: wait).")
        return code


@never_cache  # type: ignore[untyped-decorator]
@clinic_view(roles=EVERY_ROLE)
def confirm_identity(request: HttpRequest) -> HttpResponse:
    """Prove it is still you before a sensitive action (``accounts.reauth``); then back to
    where you were going (a path on this site only)."""
    from acuknee.accounts.reauth import mark_confirmed

    wanted = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    target = wanted if wanted and safe else reverse("account")
    form = ConfirmForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        mark_confirmed(request)
        return HttpResponseRedirect(target)
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/confirm.html", {"form": form, "next": target}, status=status)
