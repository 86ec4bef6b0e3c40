"""The account page and the two-factor steps, included at ``/account/``."""

from django.urls import URLPattern, path

from acuknee.accounts import views

urlpatterns: list[URLPattern] = [
    path("", views.account, name="account"),
    path("password/", views.password, name="password-change"),
    path("confirm/", views.confirm_identity, name="confirm-identity"),
    path("two-factor/setup/", views.setup, name="two-factor-setup"),
    path("two-factor/verify/", views.verify, name="two-factor-verify"),
]
