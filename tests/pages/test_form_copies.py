"""``acuknee.forms.base``: every form's fields are copied per form as Django's deep copy would
copy them: equal, sharing exactly the mutable parts Django shares, and never shared between two
forms."""

from __future__ import annotations

import copy
import datetime as dt
import importlib
import pkgutil
from collections.abc import Iterator
from typing import Any

import pytest
from django import forms
from django.utils.functional import Promise

import acuknee.forms
import acuknee.pages.views
from acuknee.clinical import load_knowledge
from acuknee.demo import record_intake
from acuknee.forms.base import Form, copy_field, copy_fields
from acuknee.forms.intake import IntakeForm, _layout
from acuknee.forms.measurements import MeasurementsForm, _item_fields, item_field
from acuknee.forms.sessions import PointForm, SessionForm
from acuknee.records.models import Patient

from .conftest import login
from .test_voiding import oa_intake

_IMMUTABLE = (str, bytes, int, float, bool, type(None), dt.date, Promise, type)


def _all_form_classes() -> list[type[forms.Form]]:
    for package in (acuknee.forms, acuknee.pages.views):
        for module in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)
    found: list[type[forms.Form]] = []
    stack: list[type[forms.Form]] = [Form]
    while stack:
        kind = stack.pop()
        found.append(kind)
        stack += kind.__subclasses__()
    return [k for k in found if k is not Form]


def _walk(obj: Any, path: str = "", depth: int = 0) -> Iterator[tuple[str, Any]]:
    """Every object reachable from a field through attributes, lists, tuples and dicts."""
    yield path, obj
    if depth > 8 or isinstance(obj, _IMMUTABLE) or (callable(obj) and not hasattr(obj, "__dict__")):
        return
    if isinstance(obj, dict):
        items: Any = ((f"[{k!r}]", v) for k, v in obj.items())
    elif isinstance(obj, list | tuple):
        items = ((f"[{i}]", v) for i, v in enumerate(obj))
    elif isinstance(obj, forms.Field | forms.Widget):
        items = ((f".{k}", v) for k, v in vars(obj).items())
    else:
        return
    for step, value in items:
        yield from _walk(value, path + step, depth + 1)


def _mutable(obj: Any) -> bool:
    return isinstance(obj, list | dict | set | forms.Field | forms.Widget)


def _shape(original: Any, made: Any) -> tuple[dict[str, Any], set[str]]:
    """(every path's value, when immutable, else its type), and the paths of the mutable
    objects the copy shares with the original."""
    before = dict(_walk(original))
    values: dict[str, Any] = {}
    shared: set[str] = set()
    for path, obj in _walk(made):
        values[path] = type(obj) if _mutable(obj) or callable(obj) else obj
        if _mutable(obj) and before.get(path) is obj:
            shared.add(path)
    return values, shared


def _fields_to_check() -> list[tuple[str, dict[str, forms.Field]]]:
    out = [("intake layout", dict(_layout(load_knowledge()).fields))]
    out += [(k.__qualname__, dict(k.base_fields)) for k in _all_form_classes()]
    kb = load_knowledge()
    out += [
        (f"{instrument} items, {audience}", dict(_item_fields(kb, inst, audience)))
        for instrument, inst in sorted(kb.instruments.items())
        for audience in ("practitioner", "patient")
    ]
    return out


@pytest.mark.parametrize(("name", "fields"), _fields_to_check(), ids=lambda v: str(v)[:40])
def test_fields_are_copied_as_djangos_deep_copy_copies_them(
    name: str, fields: dict[str, forms.Field]
) -> None:
    ours = copy_fields(fields)
    theirs = copy.deepcopy(fields)
    assert list(ours) == list(theirs)
    for field_name, field in fields.items():
        values, shared = _shape(field, ours[field_name])
        django_values, django_shared = _shape(field, theirs[field_name])
        assert values == django_values, (name, field_name)
        assert shared == django_shared, (name, field_name)
        assert ours[field_name] is not field
        assert ours[field_name].widget is not field.widget


def test_every_app_form_copies_its_fields_this_way() -> None:
    classes = _all_form_classes()
    assert {"IntakeForm", "SessionForm", "PointForm", "VoidRecordForm"} <= {
        k.__name__ for k in classes
    }
    for kind in classes:
        assert copy.deepcopy(kind.base_fields) is not None  # as BaseForm.__init__ copies them
        assert getattr(type(kind.base_fields), "__deepcopy__", None) is not None, kind


def test_one_forms_changes_never_reach_another_form() -> None:
    first = PointForm()
    first.fields["code"].label = "changed"
    first.fields["code"].widget.attrs["data-x"] = "1"
    first.fields["code"].error_messages["required"] = "changed"
    first.fields["code"].validators.append(lambda value: None)
    second = PointForm()
    assert second.fields["code"].label != "changed"
    assert "data-x" not in second.fields["code"].widget.attrs
    assert second.fields["code"].error_messages["required"] != "changed"
    assert len(second.fields["code"].validators) == len(PointForm.base_fields["code"].validators)


def test_a_choice_list_changed_in_place_stays_with_its_form() -> None:
    kb = load_knowledge()
    first = IntakeForm(patient=None, kb=kb)
    name, field = next((n, f) for n, f in first.fields.items() if isinstance(f, forms.ChoiceField))
    untouched = list(field.choices)
    field.choices.append(("x", "changed"))
    field.widget.choices.append(("x", "changed"))
    second = IntakeForm(patient=None, kb=kb)
    assert list(second.fields[name].choices) == untouched
    assert list(second.fields[name].widget.choices) == untouched


def test_a_grouped_choice_list_is_copied_to_its_groups() -> None:
    class Grouped(Form):
        pick = forms.ChoiceField(choices=[("Knee", [("a", "A"), ("b", "B")]), ("c", "C")])

    first = Grouped()
    first.fields["pick"].choices[0][1].append(("z", "Z"))
    first.fields["pick"].widget.choices[0][1].append(("z", "Z"))
    second = Grouped()
    assert second.fields["pick"].choices == [("Knee", [("a", "A"), ("b", "B")]), ("c", "C")]
    assert second.fields["pick"].widget.choices[0][1] == [("a", "A"), ("b", "B")]


def test_fields_with_their_own_copying_are_deep_copied_by_django() -> None:
    class Timed(Form):
        when = forms.SplitDateTimeField()
        pick = forms.ChoiceField(choices=lambda: [("a", "A")])

    first, second = Timed(), Timed()
    assert first.fields["when"].widget.widgets[0] is not second.fields["when"].widget.widgets[0]
    assert first.fields["when"].fields[0] is not second.fields["when"].fields[0]
    assert list(first.fields["pick"].choices) == [("a", "A")]
    assert list(first.fields["pick"].widget.choices) == [("a", "A")]


def test_the_intake_form_renders_the_same_with_either_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    kb = load_knowledge()
    ours = IntakeForm({"visit_date": "2026-01-05"}, patient=None, kb=kb)
    monkeypatch.setattr("acuknee.forms.base.copy_field", copy.deepcopy)
    theirs = IntakeForm({"visit_date": "2026-01-05"}, patient=None, kb=kb)
    assert str(ours) == str(theirs)


def test_the_intake_form_copies_the_fields_its_page_reads_each_once_and_as_its_own() -> None:
    """The intake's fields are copied as the form reads them: a step's page reads a third of
    them. Each read gives the form's own copy, the same one every time, never the layout's."""
    kb = load_knowledge()
    layout = _layout(kb).fields
    form = IntakeForm(patient=None, kb=kb, initial={"visit_date": dt.date(2026, 1, 5)})
    lazily: Any = form.fields
    assert list(form.fields) == ["visit_date", *layout]
    assert lazily.copied() == ["visit_date"]
    from acuknee.forms.intake import STEPS

    shown = form.step_sections(STEPS[0])
    read = [b.name for _, fields in shown for b in fields]
    assert 0 < len(read) < len(layout) / 2
    assert set(lazily.copied()) == {"visit_date", *read}
    for name in (n for n in read if n in layout):
        assert form.fields[name] is form.fields[name]
        assert form.fields[name] is not layout[name]
        assert form.fields[name].widget is not layout[name].widget
    first = next(n for n in read if n in layout)
    form.fields[first].help_text = "Previous intake: yes. Ask again today."
    assert layout[first].help_text != form.fields[first].help_text
    again = IntakeForm(patient=None, kb=kb)
    assert again.fields[first].help_text == layout[first].help_text


def test_fields_copied_on_use_read_set_delete_and_copy_as_a_dict_of_copies() -> None:
    """``FieldsCopiedOnUse`` answers as the dict of copies it stands for: its names in order
    (the form's own first, a name set again keeping its place, one deleted and set again
    going last), lookups, a missing name's KeyError, and copies that are plain dicts; two
    fields sharing a widget share one copy of it, as one deep copy of them all would."""
    from acuknee.forms.base import FieldsCopiedOnUse

    widget = forms.TextInput(attrs={"class": "shared"})
    shared = {"a": forms.CharField(), "b": forms.CharField(), "c": forms.IntegerField()}
    shared["a"].widget = shared["b"].widget = widget  # a field's own widget, then shared
    own = {"first": forms.DateField()}
    made: list[forms.Field] = []
    lazily = FieldsCopiedOnUse(shared, own=own, made=made.append)
    eager = {**own, **copy_fields(shared)}
    assert list(lazily) == list(eager) == ["first", "a", "b", "c"]
    assert len(lazily) == 4
    assert "a" in lazily
    assert "z" not in lazily
    with pytest.raises(KeyError):
        lazily["z"]
    assert lazily["first"] is own["first"]
    assert made == []
    a, b = lazily["a"], lazily["b"]
    assert made == [a, b]
    assert a.widget is b.widget
    assert a.widget is not widget
    assert a.widget.attrs == widget.attrs
    assert a.widget.attrs is not widget.attrs
    replacement = forms.BooleanField()
    lazily["b"] = replacement
    assert list(lazily) == ["first", "a", "b", "c"]
    del lazily["a"]
    lazily["a"] = forms.CharField()
    assert list(lazily) == ["first", "b", "c", "a"]
    assert lazily["b"] is replacement
    assert lazily.pop("c").__class__ is forms.IntegerField
    assert "c" not in lazily
    assert "c" in shared
    assert shared["a"].widget is widget  # the shared fields are never changed
    shallow = copy.copy(lazily)
    assert type(shallow) is dict
    assert list(shallow) == list(lazily)
    assert shallow["b"] is replacement
    deep = copy.deepcopy(lazily)
    assert type(deep) is dict
    assert deep["b"] is not replacement


def test_a_field_is_cleaned_uncopied_only_where_a_copy_would_clean_the_same() -> None:
    """``for_cleaning``: the form's own copy once made; the shared field before that, unless
    the form's ``made`` step may change how it cleans or the field copies itself its own way
    (a multi-value field)."""
    from acuknee.forms.base import FieldsCopiedOnUse

    shared = {"a": forms.CharField(), "when": forms.SplitDateTimeField()}
    shown_only = FieldsCopiedOnUse(shared, made=lambda f: None, made_shows_only=True)
    assert shown_only.for_cleaning("a") is shared["a"]
    assert shown_only.copied() == []
    assert shown_only.for_cleaning("when") is not shared["when"]  # its own deep copy
    own = shown_only["a"]
    assert shown_only.for_cleaning("a") is own
    changing: list[forms.Field] = []
    may_change = FieldsCopiedOnUse(shared, made=changing.append)
    assert may_change.for_cleaning("a") is not shared["a"]
    assert changing == [may_change["a"]]
    with pytest.raises(KeyError):
        may_change.for_cleaning("z")


def test_a_form_copies_a_field_when_it_first_reads_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every app form holds its fields lazily: built, it has copied none but those its own
    ``__init__`` changed; read, a field is copied once (``copy_field``) and is the form's own."""
    copied: list[str] = []
    real = copy_field

    def counting(field: forms.Field, memo: Any) -> forms.Field:
        copied.append(next(n for n, f in SessionForm.base_fields.items() if f is field))
        return real(field, memo)

    monkeypatch.setattr("acuknee.forms.base.copy_field", counting)
    form = SessionForm()
    changed_in_init = list(copied)
    assert set(changed_in_init) < set(SessionForm.base_fields)  # the numbers' widgets
    first = next(n for n in SessionForm.base_fields if n not in changed_in_init)
    assert form.fields[first] is form.fields[first] is not SessionForm.base_fields[first]
    assert copied == [*changed_in_init, first]
    str(form)
    assert sorted(copied) == sorted(SessionForm.base_fields)


def _posted_rows() -> list[dict[str, str]]:
    """A point row as posted: whole, blank, wrong in three fields, and in millimetres."""
    whole = {"needled": "on", "code": "ST35", "side": "left", "depth_value": "1"}
    whole |= {"depth_unit": "cun", "angle": "oblique", "stimulation": "manual"}
    return [
        whole,
        {},
        whole | {"side": "sideways", "depth_value": "-x", "retention_minutes": "0.5"},
        whole | {"code": "GB34", "depth_unit": "mm", "depth_value": "25.5", "de_qi": "on"},
    ]


def test_a_bound_form_cleans_and_answers_as_with_every_field_copied(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bound form cleans from the fields it has not copied (``for_cleaning``): the same
    cleaned data, errors, changed fields and page as a form that copied every field first,
    and the shared fields are left as they were."""
    kb = load_knowledge()
    layout = _layout(kb).fields
    before = {name: _shape(field, field)[0] for name, field in layout.items()}
    intake_data = {"visit_date": "2026-01-05", "m__koos__P1": "9", "m__pain_nrs__current": "4"}

    def answers(eager: bool) -> list[str]:
        out = []
        for row in _posted_rows():
            point = PointForm(row, empty_permitted=True, use_required_attribute=False)
            if eager:
                dict(point.fields)
            out.append(f"{point.has_changed()} {point.changed_data} {point.is_valid()}")
            out.append(f"{point.errors!r} {point.cleaned_data if point.is_bound else ''}")
            point.fields["code"].help_text = "Plan: 1 cun, oblique."  # as a page shown again
            out.append(str(point))
        intake = IntakeForm(intake_data, patient=None, kb=kb)
        if eager:
            dict(intake.fields)
        out.append(f"{intake.is_valid()} {intake.errors!r} {sorted(intake.cleaned_data)}")
        intake.fields["m__pain_nrs__current"].help_text = "Previous intake: 6."  # as its page
        out.append(str(intake))
        return out

    lazily = answers(eager=False)
    assert lazily == answers(eager=True)
    assert any("(required)" in line for line in lazily)  # the page shows the marked labels
    assert sum("Plan: 1 cun, oblique." in line for line in lazily) == 4
    assert any("Previous intake: 6." in line for line in lazily)
    after = {name: _shape(field, field)[0] for name, field in layout.items()}
    assert after == before


def test_cleaning_copies_no_field_that_the_form_never_shows() -> None:
    """A valid posted row or intake is cleaned without copying its fields: the copies were
    most of the saves' cleaning (issue 15)."""
    kb = load_knowledge()
    point = PointForm(_posted_rows()[0])
    assert point.is_valid(), point.errors
    lazily: Any = point.fields
    assert lazily.copied() == []
    intake = IntakeForm({"visit_date": "2026-01-05"}, patient=None, kb=kb)
    intake.is_valid()
    assert "visit_date" not in intake.errors
    copied = set(intake.fields.copied())  # type: ignore[attr-defined]
    assert copied == {"visit_date", *intake.errors}  # a field in error is shown: its own copy
    assert len(copied) < len(intake.fields) / 2


@pytest.mark.django_db
def test_one_patients_previous_answers_never_show_on_another_patients_intake(
    alice: Any, patient: Patient, other_patient: Patient
) -> None:
    """The intake page writes a repeat intake's previous answers into its form's fields (their
    help texts): they stay on that page, whichever patient's intake is opened next."""
    record_intake(patient, oa_intake(), dt.date(2026, 1, 5), alice)
    client = login(alice)
    first = client.get(f"/patients/{patient.pk}/intake/new/?step=all").content.decode()
    assert "Previous intake (2026-01-05)" in first
    second = client.get(f"/patients/{other_patient.pk}/intake/new/?step=all").content.decode()
    assert "Previous intake" not in second


def test_a_reassessment_form_renders_as_with_its_item_fields_built_afresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``MeasurementsForm`` copies each instrument's item fields, built once, where it built
    them for every form: the same form, bound or not, for staff or patient."""
    kb = load_knowledge()
    instruments = sorted(kb.instruments)
    wrong = {"koos__A1": "9", "pain_nrs__current": "12", "measured_on": "x"}

    def forms_shown() -> list[str]:
        shown = [
            MeasurementsForm(instruments=instruments, kb=kb),
            MeasurementsForm(wrong, instruments=instruments, kb=kb),
            MeasurementsForm(wrong, instruments=instruments, kb=kb, audience="patient"),
        ]
        for form in shown:
            form.is_bound and form.is_valid()
        return [str(form) + repr(form.errors) for form in shown]

    ours = forms_shown()
    monkeypatch.setattr(
        "acuknee.forms.measurements._item_fields",
        lambda kb, inst, audience: {
            f"{inst.id}__{item.code}": item_field(inst, item, audience) for item in inst.items
        },
    )
    assert forms_shown() == ours


def test_one_reassessment_form_s_changes_never_reach_another() -> None:
    first = MeasurementsForm(instruments=["koos", "pain_nrs"])
    field = first.fields["koos__A1"]
    field.label = "changed"
    field.widget.attrs["data-x"] = "1"
    field.choices = [("0", "only")]
    field.error_messages["invalid_choice"] = "changed"
    second = MeasurementsForm(instruments=["koos", "pain_nrs"])
    other = second.fields["koos__A1"]
    assert other.label != "changed"
    assert "data-x" not in other.widget.attrs
    assert len(list(other.choices)) == 5
    assert other.error_messages["invalid_choice"] != "changed"


def test_a_posted_form_cleans_as_django_s_own_making_bound_fields_only_where_needed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A plain field is cleaned, and asked whether it changed, from its posted value without a
    bound field; a disabled field from its initial value; a field that needs a bound field (a
    hidden initial value, a file) gets one. The answers are Django's own form's."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.forms.boundfield import BoundField

    class Ours(Form):
        code = forms.CharField(max_length=5, initial="ST36")
        side = forms.ChoiceField(choices=[("left", "Left"), ("right", "Right")], initial="left")
        depth = forms.FloatField(required=False)
        fixed = forms.CharField(disabled=True, initial="SP9")
        counted = forms.IntegerField(show_hidden_initial=True, required=False, initial=3)
        when = forms.SplitDateTimeField(required=False)
        scan = forms.FileField(required=False)

    fields = {name: copy.deepcopy(field) for name, field in Ours.base_fields.items()}
    theirs = type("Theirs", (forms.Form,), fields)
    made: list[str] = []
    real_init = BoundField.__init__

    def counting(self: BoundField, form: Any, field: Any, name: str) -> None:
        made.append(name)
        real_init(self, form, field, name)

    monkeypatch.setattr(BoundField, "__init__", counting)
    posted = [
        {"code": "ST36", "side": "left", "initial-counted": "3", "counted": "3"},
        {"code": "GB34", "side": "right", "depth": "1.5", "fixed": "LI4", "counted": "4"},
        {"code": "TOO-LONG", "side": "up", "depth": "deep", "when_0": "2026-01-05"},
    ]
    upload = {"scan": SimpleUploadedFile("scan.txt", b"synthetic")}
    for data in posted:
        answers = []
        for kind in (Ours, theirs):
            made.clear()
            form = kind(data, upload)
            answer = (form.has_changed(), form.changed_data, form.is_valid())
            answers.append((*answer, dict(form.errors), getattr(form, "cleaned_data", None)))
            if kind is Ours:  # (Django makes the bound field of a field in error, to name it)
                assert set(made) == {"counted", "scan", *form.errors}, data
        assert answers[0] == answers[1], data
