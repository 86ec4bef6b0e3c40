"""Record every audited request as one row, in the same transaction as the write it made.

A write (POST, PUT, PATCH, DELETE) runs inside ``transaction.atomic``: the view's own atomic
blocks become savepoints, the audit row is inserted before the commit, and so the write and its
audit row are committed together or not at all. A failed write (a 5xx answer) is rolled back,
then its attempt recorded on its own. A read is recorded after the view answered, whatever the
answer (an exception is already a 500 response here), so a crashing page is still logged.

One INSERT per audited request; requests that are not audited (the knowledge base, static
files, the health check, an anonymous visitor's login page) cost only a dictionary look-up.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.http import HttpRequest, HttpResponseBase
from django.urls import Resolver404, ResolverMatch, resolve

from acuknee.audit import capture


def _authenticated(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)


class AuditMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.method in capture.READ_METHODS:
            return self._read(request)
        match = _resolve(request)
        name = match.url_name if match else ""
        if name in capture.SKIPPED_NAMES:
            return self.get_response(request)
        if name in capture.NON_ATOMIC_NAMES:
            return self._read(request)  # recorded after the answer, like a read
        try:
            with transaction.atomic():
                response = self.get_response(request)
                if response.status_code < 500:
                    self._record(request, response.status_code, response.get("Location", ""))
                    return response
                transaction.set_rollback(True)
        except BaseException:
            self._record(request, 500)
            raise
        self._record(request, response.status_code)
        return response

    def _read(self, request: HttpRequest) -> HttpResponseBase:
        try:
            response = self.get_response(request)
        except BaseException:
            self._record(request, 500)
            raise
        self._record(request, response.status_code)
        return response

    def _record(self, request: HttpRequest, status: int, location: str = "") -> None:
        match = getattr(request, "resolver_match", None) or _resolve(request)
        target = capture.classify(request, match, _authenticated(request))
        if target is None:
            return
        if target.patient_id is None and target.record is None and location:
            target.patient_id = capture.created_patient(location)  # a new patient's page
        for event in capture.build_all(request, target, status):
            event.save()


def _resolve(request: HttpRequest) -> ResolverMatch | None:
    try:
        return resolve(request.path_info)
    except Resolver404:
        return None
