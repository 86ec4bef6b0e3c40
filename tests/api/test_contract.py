"""One contract every patient-level resource honours (NetBox style): list, detail, filters,
pagination, the error shape, clinic scoping, roles and token authentication.

Each ``Test*`` class says how to make one record of its resource on a day for a patient; the
contract's tests are inherited, so a new resource gets every check by declaring three lines.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import User

from acuknee.clinical import SessionRecord, load_knowledge, score
from acuknee.records.models import (
    ApiToken,
    IntakeRecord,
    Measurement,
    Patient,
    PlanRecord,
    TreatmentSession,
)
from tests.api.conftest import Api, another_patient, api_for, assert_error_shape
from tests.pages.test_sessions import sign_plan

D1, D2, D3 = dt.date(2026, 2, 2), dt.date(2026, 2, 9), dt.date(2026, 2, 16)


class Contract:
    path: str
    clinical = True
    dated = True

    def make(self, patient: Patient, user: User, day: dt.date) -> int:
        raise NotImplementedError

    def ident(self, item: dict[str, Any]) -> int:
        return int(item["id"])

    def detail(self, pk: int) -> str:
        return f"{self.path}/{pk}"

    def ids(self, response: Any) -> list[int]:
        assert response.status_code == 200, response.content
        return [self.ident(item) for item in response.json()["items"]]

    # --- reading ---

    def test_list_holds_the_record(self, alice: User, patient: Patient) -> None:
        pk = self.make(patient, alice, D1)
        response = api_for(alice).get(self.path)
        assert pk in self.ids(response)
        assert response.json()["total"] == len(response.json()["items"])

    def test_detail_returns_the_record(self, alice: User, patient: Patient) -> None:
        pk = self.make(patient, alice, D1)
        response = api_for(alice).get(self.detail(pk))
        assert response.status_code == 200, response.content
        assert self.ident(response.json()) == pk

    def test_unknown_record_is_404_in_the_error_shape(self, alice: User, patient: Patient) -> None:
        assert_error_shape(api_for(alice).get(self.detail(999_999)), 404, None)

    # --- paging and filtering ---

    def test_pages_with_limit_and_offset_and_counts_the_total(
        self, alice: User, patient: Patient
    ) -> None:
        made = [self.make(patient, alice, day) for day in (D1, D2, D3)]
        api = api_for(alice)
        first = api.get(self.path, limit=2)
        rest = api.get(self.path, limit=2, offset=2)
        assert first.json()["total"] == rest.json()["total"] == len(made)
        assert len(self.ids(first)) == 2
        assert len(self.ids(rest)) == 1
        assert sorted(self.ids(first) + self.ids(rest)) == sorted(made)

    def test_a_bad_page_size_is_a_field_error(self, alice: User, patient: Patient) -> None:
        api = api_for(alice)
        assert_error_shape(api.get(self.path, limit=0), 422, "limit")
        assert_error_shape(api.get(self.path, limit=10_000), 422, "limit")
        assert_error_shape(api.get(self.path, offset=-1), 422, "offset")

    def test_filters_by_patient(self, alice: User, patient: Patient) -> None:
        other = another_patient(patient.clinic, alice, "N-0002")
        mine, theirs = self.make(patient, alice, D1), self.make(other, alice, D1)
        found = self.ids(api_for(alice).get(self.path, patient=patient.pk))
        assert mine in found
        assert theirs not in found

    def test_filters_by_date_range(self, alice: User, patient: Patient) -> None:
        if not self.dated:
            return
        first, second, third = (self.make(patient, alice, day) for day in (D1, D2, D3))
        api = api_for(alice)
        assert sorted(self.ids(api.get(self.path, date_from=D2))) == sorted([second, third])
        assert sorted(self.ids(api.get(self.path, date_to=D2))) == sorted([first, second])
        assert self.ids(api.get(self.path, date_from=D2, date_to=D2)) == [second]

    def test_a_bad_date_is_a_field_error(self, alice: User, patient: Patient) -> None:
        if self.dated:
            assert_error_shape(api_for(alice).get(self.path, date_from="soon"), 422, "date_from")

    # --- clinic scoping and roles ---

    def test_another_clinics_patient_is_404(
        self, alice: User, carol: User, patient: Patient
    ) -> None:
        pk = self.make(patient, alice, D1)
        api = api_for(carol)
        assert_error_shape(api.get(self.detail(pk)), 404, None)
        assert_error_shape(api.get(self.path, patient=patient.pk), 404, None)
        assert pk not in self.ids(api.get(self.path))

    def test_front_desk_may_not_read_clinical_records(
        self, alice: User, dana: User, patient: Patient
    ) -> None:
        pk = self.make(patient, alice, D1)
        api = api_for(dana)
        if self.clinical:
            assert_error_shape(api.get(self.path), 403, None)
            assert_error_shape(api.get(self.detail(pk)), 403, None)
        else:
            assert pk in self.ids(api.get(self.path))

    def test_a_researcher_gets_no_patient_level_data(
        self, alice: User, rex: User, patient: Patient
    ) -> None:
        pk = self.make(patient, alice, D1)
        api = api_for(rex)
        assert_error_shape(api.get(self.path), 403, None)
        assert_error_shape(api.get(self.detail(pk)), 403, None)

    def test_a_clinic_admin_reads_the_clinics_records(
        self, alice: User, erin: User, patient: Patient
    ) -> None:
        pk = self.make(patient, alice, D1)
        assert pk in self.ids(api_for(erin).get(self.path))

    # --- authentication ---

    def test_anonymous_is_401(self, alice: User, patient: Patient) -> None:
        pk = self.make(patient, alice, D1)
        response = Api().get(self.path)
        assert_error_shape(response, 401, None)
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert_error_shape(Api().get(self.detail(pk)), 401, None)

    def test_an_unknown_token_is_401(self, alice: User, patient: Patient) -> None:
        assert_error_shape(Api("ak_not-a-token").get(self.path), 401, None)

    def test_a_revoked_token_is_401(self, alice: User, patient: Patient) -> None:
        token, secret = ApiToken.issue(alice, "soon revoked")
        api = Api(secret)
        assert api.get(self.path).status_code == 200
        token.revoke()
        assert_error_shape(api.get(self.path), 401, None)

    def test_a_browser_session_is_not_an_api_credential(
        self, alice: User, patient: Patient
    ) -> None:
        api = Api()
        api.client.force_login(alice)
        assert_error_shape(api.get(self.path), 401, None)


class TestPatients(Contract):
    path = "/patients"
    clinical = False
    dated = False

    def make(self, patient: Patient, user: User, day: dt.date) -> int:
        """The fixture patient first, then new patients of the same clinic."""
        taken: set[int] = self.__dict__.setdefault("_taken", set())
        if patient.pk in taken:
            patient = another_patient(patient.clinic, user, f"X-{len(taken)}")
        taken.add(patient.pk)
        return int(patient.pk)

    def test_pages_with_limit_and_offset_and_counts_the_total(
        self, alice: User, patient: Patient
    ) -> None:
        for n in range(2):
            another_patient(patient.clinic, alice, f"P-{n}")
        api = api_for(alice)
        first, rest = api.get(self.path, limit=2), api.get(self.path, limit=2, offset=2)
        assert first.json()["total"] == 3
        assert len(self.ids(first)) == 2
        assert len(self.ids(rest)) == 1

    def test_filters_by_patient(self, alice: User, patient: Patient) -> None:
        other = another_patient(patient.clinic, alice, "N-0002")
        assert self.ids(api_for(alice).get(self.path, patient=patient.pk)) == [patient.pk]
        assert other.pk in self.ids(api_for(alice).get(self.path))

    def test_searches_by_name_record_number_and_birth_date(
        self, alice: User, patient: Patient
    ) -> None:
        other = another_patient(patient.clinic, alice, "N-0002")
        api = api_for(alice)
        assert self.ids(api.get(self.path, q="ada synth")) == [patient.pk]
        assert self.ids(api.get(self.path, q="N-0002")) == [other.pk]
        assert self.ids(api.get(self.path, q="1960-05-17")) == [patient.pk]

    def test_voided_patients_are_listed_only_when_asked(
        self, alice: User, patient: Patient
    ) -> None:
        patient.void(alice, "duplicate")
        api = api_for(alice)
        assert patient.pk not in self.ids(api.get(self.path))
        assert patient.pk in self.ids(api.get(self.path, include_voided=True))


def _plan(patient: Patient, user: User, day: dt.date) -> PlanRecord:
    record = sign_plan(patient, user)
    IntakeRecord.objects.filter(pk=record.intake_id).update(visit_date=day)
    PlanRecord.objects.filter(pk=record.pk).update(start_date=day)
    return record


class TestIntakes(Contract):
    path = "/intakes"

    def make(self, patient: Patient, user: User, day: dt.date) -> int:
        return int(_plan(patient, user, day).intake_id)

    def test_an_intake_carries_its_screening_and_assessment(
        self, alice: User, patient: Patient
    ) -> None:
        pk = self.make(patient, alice, D1)
        item = api_for(alice).get(self.detail(pk)).json()
        stored = IntakeRecord.objects.get(pk=pk)
        assert item["screening"] == stored.screening
        assert item["assessment"] == stored.assessment
        assert item["data"]["side"] == "right"


class TestPlans(Contract):
    path = "/plans"

    def make(self, patient: Patient, user: User, day: dt.date) -> int:
        return int(_plan(patient, user, day).pk)


class TestSessions(Contract):
    path = "/sessions"

    def make(self, patient: Patient, user: User, day: dt.date) -> int:
        plan = PlanRecord.objects.filter(patient=patient).first() or sign_plan(patient, user)
        number = TreatmentSession.objects.filter(patient=patient).count() + 1
        record = SessionRecord.model_validate({"date": day, "number": number, "pain_before": 5})
        return int(
            TreatmentSession.objects.create(
                patient=patient,
                plan=plan,
                number=number,
                session_date=day,
                data=record.model_dump(mode="json"),
                created_by=user,
            ).pk
        )


def _measure(patient: Patient, user: User, day: dt.date, current: int = 6) -> Measurement:
    answers = {"current": current, "average_last_week": 5, "worst_last_week": 8}
    scores = score("pain_nrs", answers, load_knowledge())
    return Measurement.objects.create(
        patient=patient,
        measured_on=day,
        instrument="pain_nrs",
        answers=answers,
        scores=scores.model_dump(mode="json"),
        created_by=user,
    )


class TestMeasurements(Contract):
    path = "/measurements"

    def make(self, patient: Patient, user: User, day: dt.date) -> int:
        return int(_measure(patient, user, day).pk)


class TestEvaluations(Contract):
    """One evaluation per patient: a record here is a patient with measurements."""

    path = "/evaluations"

    def make(self, patient: Patient, user: User, day: dt.date) -> int:
        if patient.measurements.exists():
            patient = another_patient(patient.clinic, user, f"E-{day.isoformat()}")
        _measure(patient, user, day)
        return int(patient.pk)

    def ident(self, item: dict[str, Any]) -> int:
        return int(item["patient"])

    def test_filters_by_date_range(self, alice: User, patient: Patient) -> None:
        first, second, third = (self.make(patient, alice, day) for day in (D1, D2, D3))
        api = api_for(alice)
        assert sorted(self.ids(api.get(self.path, date_from=D2))) == sorted([second, third])
        assert sorted(self.ids(api.get(self.path, date_to=D2))) == sorted([first, second])

    def test_the_evaluation_is_the_cores_over_the_stored_course(
        self, alice: User, patient: Patient
    ) -> None:
        _measure(patient, alice, D1, current=8)
        _measure(patient, alice, D3, current=2)
        item = api_for(alice).get(self.detail(patient.pk)).json()
        assert item["baseline_date"] == D1.isoformat()
        assert item["follow_up_dates"] == [D3.isoformat()]
        follow_up = item["evaluation"]["follow_ups"][0]
        assert follow_up["date"] == D3.isoformat()
        assert follow_up["oarsi"]["status"] in {"responder", "non_responder", "not_evaluable"}

    def test_before_a_follow_up_there_is_no_evaluation(self, alice: User, patient: Patient) -> None:
        _measure(patient, alice, D1)
        item = api_for(alice).get(self.detail(patient.pk)).json()
        assert item["baseline_date"] == D1.isoformat()
        assert item["evaluation"] is None
