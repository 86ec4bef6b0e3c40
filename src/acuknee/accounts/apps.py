from django.apps import AppConfig


class AccountsConfig(AppConfig):  # type: ignore[misc]
    name = "acuknee.accounts"
    label = "accounts"
    verbose_name = "Accounts and two-factor sign-in"
