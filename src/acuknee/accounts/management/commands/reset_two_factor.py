"""``python -m acuknee.manage reset_two_factor USERNAME``: remove a lost TOTP device.

The user enrols again at the next sign-in (a clinic admin must; others may). Check who is
asking before running it: this is the recovery path for a lost or replaced phone.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):  # type: ignore[misc]
    help = "Remove a user's TOTP devices so they enrol again at their next sign-in."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="the user whose device was lost")

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"]
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        removed, _ = TOTPDevice.objects.filter(user=user).delete()
        self.stdout.write(f"Removed {removed} two-factor device(s) of {username}.")
