"""``/account/tokens/``: create and revoke API tokens in the browser; a new token is shown once.

The page uses the same rules as the API's ``/tokens`` endpoints (``auth.manageable_tokens``,
``auth.token_owners``): a user manages their own tokens, a clinic admin also their clinic's.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_POST

from acuknee.api.auth import ALL_ROLES, manageable_tokens, token_owners
from acuknee.clinic.access import clinic_view
from acuknee.clinic.models import ApiToken


class TokenForm(forms.Form):  # type: ignore[misc]
    name = forms.CharField(
        label="Token name (what it is for)", max_length=100, help_text="e.g. research export"
    )
    user = forms.ModelChoiceField(
        label="For user", queryset=ApiToken.objects.none(), to_field_name="username"
    )

    def __init__(self, *args: Any, owner: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owners = token_owners(owner)
        self.fields["user"].queryset = owners
        self.fields["user"].initial = owner.get_username()
        if owners.count() <= 1:
            self.fields["user"].widget = forms.HiddenInput()

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"]).strip()
        if not name:
            raise forms.ValidationError("A name is required.")
        return name


@clinic_view(roles=ALL_ROLES)
def tokens_page(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None, owner=request.user)
    created: str | None = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            _, created = ApiToken.issue(form.cleaned_data["user"], form.cleaned_data["name"])
            form = TokenForm(owner=request.user)
            status = 201
        else:
            status = 400
    context = {
        "form": form,
        "created": created,
        "tokens": manageable_tokens(request.user).order_by("-created_at", "-id"),
    }
    response = render(request, "clinic/account_tokens.html", context, status=status)
    response["Cache-Control"] = "no-store"  # the page may hold a secret shown once
    return response


@require_POST  # type: ignore[untyped-decorator]
@clinic_view(roles=ALL_ROLES)
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(manageable_tokens(request.user), pk=token_id)
    token.revoke()
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("account-tokens")


urlpatterns: list[URLPattern] = [
    path("account/tokens/", tokens_page, name="account-tokens"),
    path("account/tokens/<int:token_id>/revoke/", token_revoke, name="account-token-revoke"),
]
