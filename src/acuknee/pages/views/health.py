"""``/healthz/``: a liveness probe that answers "ok" without the database or a login.

It is public on purpose (a load balancer has no account), so it uses no ``clinic_view``; it
reveals nothing but that the process serves requests. It is also the floor of the served
benchmark (``benchmarks/bench_clinic.py``): the cost of one request through the server and the
middleware, measured in the same run as the clinic's pages.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from acuknee.accounts.access import public_view


@require_safe
@never_cache
@public_view(reason="a load balancer's liveness probe: no account, answers only 'ok'")
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")


urlpatterns: list[URLPattern] = [path("healthz/", healthz, name="healthz")]
