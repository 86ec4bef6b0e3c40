"""The audit app: its signal receivers (logins) are connected once the app registry is ready."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "acuknee.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from acuknee.audit import signals  # noqa: F401  (connects the login receivers)
