"""Django settings: everything configurable comes from ``acuknee.config``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from acuknee import config

CONFIG = config.load()
BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = not CONFIG.production
if CONFIG.production:  # one JSON line per event, tracebacks kept, link tokens redacted
    from acuknee.site.logs import production_logging

    LOGGING = production_logging()
SECRET_KEY = CONFIG.secret_key
ALLOWED_HOSTS = CONFIG.allowed_hosts

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Security (docs/security.md): TOTP second factor, sign-in lockout.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "simple_history",
    # ninja: its packaged Swagger UI assets, so the API docs page loads nothing from a CDN.
    "ninja",
    "acuknee.records",
    "acuknee.pages",
    "acuknee.commands",
    "acuknee.accounts",
    "acuknee.reports",
    "acuknee.research",
    "acuknee.audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "acuknee.accounts.sessions.RenewingSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "acuknee.accounts.middleware.SessionLifetimeMiddleware",
    "acuknee.accounts.middleware.NoStoreWhenSignedInMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "acuknee.accounts.middleware.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "acuknee.audit.middleware.AuditMiddleware",  # after auth: one audit row per audited request
    # Last, as django-axes requires: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "acuknee.site.urls"
WSGI_APPLICATION = "acuknee.site.wsgi.application"

# Form widgets are rendered by Django's Jinja2 form templates (the same markup as the template
# language's): the intake asks about 120 questions with some 650 options, and rendering them
# through the template language took about two thirds of the intake page (issue 15); the plain
# widgets (inputs, text areas) are written without a template, as those templates write them.
FORM_RENDERER = "acuknee.pages.templating.FormRenderer"

# The pages are Jinja2 templates (``acuknee.pages.templating``: resolving variables through the
# template language took about two fifths of a signed-in page); a name not found there falls
# through to the Django templates (the reports' PDF templates).
TEMPLATES = [
    {
        "NAME": "pages",
        "BACKEND": "acuknee.pages.templating.PageTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "environment": "acuknee.pages.templating.environment",
            "context_processors": [
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": CONFIG.database}
# The largest legitimate request (an intake or a session record, as a form or API JSON) is a few
# kilobytes; 1 MiB refuses oversized bodies early (the API answers 413) with a wide margin.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
# No page takes a file (imports go through the command line). A file part of a multipart body is
# kept in memory only when the whole request is within 1 MiB; beyond that it is read in 64 KiB
# chunks and dropped, never spooled to a temporary file on disk (Django's default handler);
# more than 10 file parts is a 400.
FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.MemoryFileUploadHandler"]
DATA_UPLOAD_MAX_NUMBER_FILES = 10
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    # ASVS 2.1.1: at least 12 characters.
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# django-axes first: it refuses a locked-out username+address before the password is checked.
AUTHENTICATION_BACKENDS = [
    "acuknee.accounts.backends.LockoutBackend",
    # Django's ModelBackend, reading the staff profile and clinic with the user (one query).
    "acuknee.accounts.backends.StaffBackend",
]
AXES_FAILURE_LIMIT = CONFIG.lockout_failures
AXES_COOLOFF_TIME = dt.timedelta(minutes=CONFIG.lockout_minutes)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]  # one attacker cannot lock out everyone
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "acuknee.accounts.lockout.locked_out"
AXES_VERBOSE = False
OTP_TOTP_ISSUER = "acuknee"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_AGE = CONFIG.session_idle_minutes * 60
# Idle expiry: a request renews the window, writing the session row only when its stored expiry
# lags a fresh window by more than a minute (acuknee.accounts.sessions), not on every request.
SESSION_ENGINE = "acuknee.accounts.sessions"
SESSION_SAVE_EVERY_REQUEST = False
ACUKNEE_SESSION_MAX_SECONDS = CONFIG.session_max_hours * 3600  # absolute: SessionLifetimeMiddleware
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = CONFIG.production
CSRF_COOKIE_SECURE = CONFIG.production
SECURE_HSTS_SECONDS = 31536000 if CONFIG.production else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = CONFIG.production
# Allows (does not perform) submission to the browsers' preload list; `check --deploy` asks for it.
SECURE_HSTS_PRELOAD = CONFIG.production
SECURE_SSL_REDIRECT = CONFIG.production
# A load balancer probes the health check over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# No inline script or style anywhere (templates use static files; charts are data: images).
# The API docs page (ninja's Swagger UI) loads its init script from a static file too.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
    },
}

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = CONFIG.data_dir / "static"
ACUKNEE_EXPORT_RETENTION_HOURS = CONFIG.export_retention_hours
ACUKNEE_INTAKE_DRAFT_DAYS = CONFIG.intake_draft_days
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# In development whitenoise serves straight from the packaged static folders.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
