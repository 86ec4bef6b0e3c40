"""Accounts: two-factor sign-in (TOTP, django-otp), required for clinic admins."""
