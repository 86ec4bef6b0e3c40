from django.apps import AppConfig


class AccountsConfig(AppConfig):  # type: ignore[misc]
    name = "acuknee.accounts"
    label = "accounts"
    verbose_name = "Accounts and two-factor sign-in"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from acuknee.accounts.middleware import stamp_sign_in

        user_logged_in.connect(stamp_sign_in, dispatch_uid="acuknee-stamp-sign-in")
