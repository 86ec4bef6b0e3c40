"""``/account/tokens/``: create and revoke API tokens in the browser; a new token is shown once.

Tokens are personal: the signed-in user creates them for themselves only, by session (a token
cannot reach this page, so a token never mints one), and a user with a second factor enrolled
gives a fresh code with the request. Each token has scopes and an expiry (at most
``ApiToken.MAX_LIFETIME``). Listing and revoking follow ``auth.manageable_tokens``: a user
manages their own tokens, a clinic admin also their clinic's staff's. Creation and revocation
are audited with the token and its owner.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_POST

from acuknee.accounts.access import clinic_view
from acuknee.accounts.twofactor import confirmed_device
from acuknee.api.auth import ALL_ROLES, manageable_tokens
from acuknee.audit import capture
from acuknee.records.models import ApiToken, TokenScope


class TokenForm(forms.Form):  # type: ignore[misc]
    name = forms.CharField(
        label="Token name (what it is for)", max_length=100, help_text="e.g. research export"
    )
    scopes = forms.MultipleChoiceField(
        label="What it may do",
        choices=TokenScope.choices,
        initial=[TokenScope.READ],
        widget=forms.CheckboxSelectMultiple,
        help_text="Give only what the program needs.",
    )
    days = forms.IntegerField(
        label="Expires after (days)",
        min_value=1,
        max_value=ApiToken.MAX_LIFETIME.days,
        initial=ApiToken.DEFAULT_LIFETIME.days,
        help_text=f"At most {ApiToken.MAX_LIFETIME.days} days.",
    )
    code = forms.CharField(
        label="Six-digit code from your authenticator app",
        required=False,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, owner: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.device = confirmed_device(owner)
        if self.device is None:
            del self.fields["code"]

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"]).strip()
        if not name:
            raise forms.ValidationError("A name is required.")
        return name

    def clean_code(self) -> str:
        """A fresh code from the owner's enrolled device: a stolen session alone mints nothing."""
        code = "".join(str(self.cleaned_data.get("code", "")).split())
        if self.device is None:
            return code
        if not code:
            raise forms.ValidationError("Enter a current code: creating a token needs one.")
        if not code.isdigit() or not self.device.verify_token(code):
            raise forms.ValidationError("That code is not right (or too many tries: wait).")
        return code


@clinic_view(roles=ALL_ROLES)
def tokens_page(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None, owner=request.user)
    created: str | None = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            lifetime = dt.timedelta(days=form.cleaned_data["days"])
            token, created = ApiToken.issue(
                request.user, form.cleaned_data["name"], form.cleaned_data["scopes"], lifetime
            )
            capture.note(
                request, object_type="api_token", object_id=str(token.pk), subject=request.user
            )
            form = TokenForm(owner=request.user)
            status = 201
        else:
            status = 400
    context = {
        "form": form,
        "created": created,
        "tokens": manageable_tokens(request.user).order_by("-created_at", "-id"),
    }
    response = render(request, "pages/account_tokens.html", context, status=status)
    response["Cache-Control"] = "no-store"  # the page may hold a secret shown once
    return response


@require_POST  # type: ignore[untyped-decorator]
@clinic_view(roles=ALL_ROLES)
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(manageable_tokens(request.user), pk=token_id)
    token.revoke()
    capture.note(request, object_type="api_token", object_id=str(token.pk), subject=token.user)
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("account-tokens")


urlpatterns: list[URLPattern] = [
    path("account/tokens/", tokens_page, name="account-tokens"),
    path("account/tokens/<int:token_id>/revoke/", token_revoke, name="account-token-revoke"),
]
