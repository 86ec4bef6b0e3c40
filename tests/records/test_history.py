"""Every clinical record's history (django-simple-history) is read through one manager class,
built once: still scoped to the record it is read from."""

from __future__ import annotations

import pytest
from django.apps import apps

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
def test_a_records_history_holds_that_record_only(patient: Patient, other_patient: Patient) -> None:
    other_patient.phone = "01234 567890"
    other_patient.save()
    assert patient.history.count() == 1
    assert other_patient.history.count() == 2
    assert Patient.history.count() == 3
    assert {h.id for h in other_patient.history.all()} == {other_patient.pk}
