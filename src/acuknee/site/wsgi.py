"""WSGI entry point for gunicorn (``acuknee serve``): the app, with the worker settled
(``acuknee.serving.settle_worker``) before its first request."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "acuknee.site.settings")
application = get_wsgi_application()

from acuknee.serving import settle_worker  # noqa: E402 - after Django is set up

settle_worker()
