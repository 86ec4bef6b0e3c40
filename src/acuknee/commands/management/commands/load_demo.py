"""``python -m acuknee.manage load_demo [--reset] [--seed N]``: the synthetic demo clinic."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from acuknee.accounts.twofactor import REQUIRED_ROLES
from acuknee.demo import DEFAULT_SEED, load_demo


class Command(BaseCommand):
    help = "Create the synthetic demo clinic, one user per role and ~30 synthetic patients."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset", action="store_true", help="delete the demo clinics and create them again"
        )
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")

    def handle(self, *args: Any, **options: Any) -> None:
        result = load_demo(timezone.localdate(), seed=options["seed"], reset=options["reset"])
        if result.created:
            self.stdout.write(f"Demo clinic created with {result.patients} synthetic patients.")
        else:
            self.stdout.write("Demo clinic already exists; nothing changed (use --reset).")
        self.stdout.write("Demo logins (synthetic data only):")
        for login in result.logins:
            self.stdout.write(
                f"  {login.username:<13} {login.password:<28} {login.role:<13} {login.clinic}"
            )
        admins = [login.username for login in result.logins if login.role in REQUIRED_ROLES]
        if admins:
            self.stdout.write(
                f"  {', '.join(admins)}: a clinic admin signs in with a second factor; the first "
                "sign-in enrols an authenticator app (TOTP, a QR code on screen)."
            )
