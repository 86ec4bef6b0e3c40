"""The live server the browser tests use answers a browser's parallel requests: a page whose
charts are fetched while the next page is asked for, each a read that writes its audit row."""

from __future__ import annotations

import http.client
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from acuknee.demo import DEMO_CLINIC_SLUG
from acuknee.records.models import Patient


def test_parallel_requests_each_writing_an_audit_row_all_answer(
    live_server: Any, demo: Any
) -> None:
    client = Client()
    client.force_login(get_user_model().objects.get(username="practitioner"))
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    address = urllib.parse.urlsplit(live_server.url)
    patients = list(
        Patient.objects.filter(clinic__slug=DEMO_CLINIC_SLUG).values_list("pk", flat=True)
    )

    def read(k: int) -> int:
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
        try:
            connection.request(
                "GET", f"/patients/{patients[k % len(patients)]}/", headers={"Cookie": cookie}
            )
            return connection.getresponse().status
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(read, range(48)))
    assert statuses == [200] * 48
