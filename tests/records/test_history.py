"""Every clinical record's history (django-simple-history) is read through one manager class,
built once: still scoped to the record it is read from."""

from __future__ import annotations

import datetime as dt

import pytest
from django.apps import apps
from django.contrib.auth.models import User

from acuknee.records.models import Patient, _HistoryManager


def _tracked() -> list[type]:
    return [
        m
        for m in apps.get_app_config("clinic").get_models()
        if hasattr(m._meta, "simple_history_manager_attribute")
    ]


def test_every_record_with_history_reads_it_through_the_kept_manager_class() -> None:
    tracked = _tracked()
    assert {m.__name__ for m in tracked} >= {"Patient", "IntakeRecord", "Measurement"}
    for model in tracked:
        manager = getattr(model, model._meta.simple_history_manager_attribute)
        assert isinstance(manager, _HistoryManager), model
        assert type(manager) is type(getattr(model, model._meta.simple_history_manager_attribute))


@pytest.mark.django_db
def test_a_records_history_holds_that_record_only(alice: User, patient: Patient) -> None:
    other = Patient.objects.create(
        clinic=patient.clinic,
        record_number="N-0002",
        given_name="Bea",
        family_name="Synthetic",
        date_of_birth=dt.date(1958, 3, 2),
        sex="female",
        synthetic=True,
        created_by=alice,
    )
    other.phone = "01234 567890"
    other.save()
    assert patient.history.count() == 1
    assert other.history.count() == 2
    assert Patient.history.count() == 3
    assert {h.id for h in other.history.all()} == {other.pk}
