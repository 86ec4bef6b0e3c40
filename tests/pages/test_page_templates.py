"""The pages' Jinja2 templates: each compiles, none keeps Django template syntax, and no page the
demo's staff can reach prints a Python object where a value belongs.

Jinja2 does not call a method it is handed, as the Django template language did: a template that
says ``{{ patient.get_sex_display }}`` prints "<bound method ...>" and no error. The crawl below
opens every page linked from the demo clinic's pages, as each staff role, and looks for that.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.template import engines
from django.test import Client

import acuknee
from tests.demo_snapshot import restore_demo

SOURCE = Path(acuknee.__file__).parent
DJANGO_SYNTAX = re.compile(
    r"{%\s*(load|url|static|csrf_token|empty|comment|ifchanged|firstof|cycle|spaceless)\b"
    r"|forloop\.|\|(date|default|number|join|truncatechars|yesno|pluralize):"
    r"|{{\s*block\.super"
)
PYTHON_REPR = re.compile(r"bound method|<function |object at 0x|Undefined|jinja2\.")
# Downloads, the APIs, and the evidence and report pages (seconds each: meta-analyses, forest
# plots, the clinic's aggregates, the research report; their own tests render them) are left out.
SKIPPED = re.compile(
    r"/logout|/static/|\.(pdf|ics|csv|png|svg|json|ndjson)(\?|$)|/api/|/fhir/"
    r"|/reports/|/evidence/|/research/"
)
STARTS = ["/", "/worklist/", "/reference/", "/account/tokens/"]
TODAY = dt.date(2026, 11, 1)


def _page_templates() -> list[str]:
    engine = engines["pages"]
    return sorted(engine.env.list_templates(extensions=["html"]))  # type: ignore[attr-defined]


def test_every_page_template_compiles() -> None:
    names = _page_templates()
    assert "pages/base.html" in names
    assert "pages/patient_list.html" in names
    for name in names:
        engines["pages"].get_template(name)


def test_no_page_template_keeps_django_template_syntax() -> None:
    found = [
        f"{path.relative_to(SOURCE)}: {match.group(0)}"
        for path in sorted(SOURCE.glob("*/jinja2/**/*.html"))
        for match in DJANGO_SYNTAX.finditer(path.read_text())
    ]
    assert not found, "\n".join(found)


def test_only_the_reports_keep_django_templates() -> None:
    """One template engine per room: the pages in Jinja2, the PDF reports in Django's."""
    django_templates = sorted(
        str(path.relative_to(SOURCE)) for path in SOURCE.glob("*/templates/**/*.html")
    )
    assert django_templates
    assert all(name.startswith("reports/templates/") for name in django_templates), django_templates


def test_the_syntax_check_catches_a_django_tag() -> None:
    assert DJANGO_SYNTAX.search("{% url 'home' %}")
    assert DJANGO_SYNTAX.search('{{ d|date:"Y" }}')
    assert not DJANGO_SYNTAX.search("{{ url('home') }} {{ d|date('Y') }} {{ loop.index }}")


def test_an_uncalled_method_is_what_the_crawl_looks_for() -> None:
    html = engines["pages"].from_string("{{ user.get_username }}").render({"user": _User()})
    assert PYTHON_REPR.search(html)


class _User:
    def get_username(self) -> str:
        return "x"


@pytest.fixture(scope="module")
def _demo(
    django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    with django_db_blocker.unblock(), transaction.atomic():
        restore_demo(tmp_path_factory, TODAY)
        yield
        transaction.set_rollback(True)


def _crawl(client: Client, per_pattern: int = 2, limit: int = 300) -> dict[str, str]:
    """Every HTML page reachable by links from ``STARTS`` (at most ``per_pattern`` pages of one
    URL shape, ids replaced), by path: what a problem was, or "" for a good page."""
    seen: dict[str, str] = {}
    shapes: dict[str, int] = {}
    queue = list(STARTS)
    while queue and len(seen) < limit:
        path = queue.pop(0)
        shape = re.sub(r"\d+", "N", path)
        if path in seen or SKIPPED.search(path) or shapes.get(shape, 0) >= per_pattern:
            continue
        shapes[shape] = shapes.get(shape, 0) + 1
        response = client.get(path, secure=True)
        seen[path] = ""
        if response.status_code >= 500:
            seen[path] = f"HTTP {response.status_code}"
        if "text/html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        leak = PYTHON_REPR.search(html)
        if leak:
            start = max(leak.start() - 80, 0)
            seen[path] = f"prints {html[start : leak.end() + 40]!r}"
        queue += [h.replace("&amp;", "&") for h in re.findall(r'href="(/[^"#]*)', html)]
    return seen


@pytest.mark.usefixtures("_demo", "db")
@pytest.mark.parametrize("username", ["practitioner", "frontdesk"])
def test_no_page_reached_from_the_demo_prints_a_python_object(username: str) -> None:
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    pages = _crawl(client)
    assert len(pages) > 10, pages
    problems = {path: problem for path, problem in pages.items() if problem}
    assert not problems, problems


def test_an_undefined_name_prints_nothing_with_debug_on_as_with_it_off() -> None:
    from acuknee.pages.templating import environment

    for debug_choice in (jinja2.DebugUndefined, jinja2.Undefined):
        env = environment(undefined=debug_choice)
        assert env.from_string("[{{ not_passed }}]").render() == "[]"


def test_the_date_filter_writes_the_usual_formats_as_django_s_own_filter() -> None:
    import datetime as dt
    import zoneinfo

    from django.template import defaultfilters
    from django.test import override_settings
    from django.utils.timezone import template_localtime

    from acuknee.pages.templating import environment

    date_filter = environment().filters["date"]
    utc, paris = dt.UTC, zoneinfo.ZoneInfo("Europe/Paris")
    values = [
        dt.date(2026, 3, 29),
        dt.date(999, 1, 2),
        dt.datetime(2026, 3, 29, 0, 30, tzinfo=utc),  # the night the clocks go forward
        dt.datetime(2026, 10, 25, 0, 30, tzinfo=utc),  # and back
        dt.datetime(2026, 12, 31, 23, 59, tzinfo=utc),  # a new year in Europe, not in UTC
        dt.datetime(2026, 7, 1, 9, 5, tzinfo=paris),
        dt.datetime(2026, 7, 1, 9, 5),  # naive: printed as it is
    ]
    for zone in ("Europe/London", "Europe/Paris", "America/New_York"):
        with override_settings(TIME_ZONE=zone):
            for value in values:
                for fmt in ("Y-m-d", "Y-m-d H:i"):
                    if fmt == "Y-m-d H:i" and not isinstance(value, dt.datetime):
                        continue
                    expected = defaultfilters.date(template_localtime(value), fmt)
                    assert date_filter(value, fmt) == expected, (zone, value, fmt)


def test_a_page_prints_values_as_django_s_localize_prints_them() -> None:
    import decimal

    from django.test import override_settings
    from django.utils.formats import localize
    from django.utils.timezone import template_localtime

    from acuknee.pages.templating import environment

    finalize = environment().finalize
    assert finalize is not None
    values = [0, 7, -3, 1234567, 2.5, decimal.Decimal("1234.50"), True, None, dt.date(2026, 1, 2)]
    for grouped in (False, True):
        with override_settings(USE_THOUSAND_SEPARATOR=grouped):
            for value in values:
                assert finalize(value) == localize(template_localtime(value)), (grouped, value)


def test_the_plain_widgets_are_written_as_django_s_own_templates_write_them() -> None:
    import datetime as dt

    from django import forms
    from django.forms.renderers import Jinja2 as DjangoRenderer

    from acuknee.pages.templating import FormRenderer

    ours, django = FormRenderer(), DjangoRenderer()
    tricky = "a <b> & \"c\" 'd'\nline two"
    widgets: list[tuple[forms.Widget, Any]] = [
        (forms.TextInput(), None),
        (forms.TextInput(attrs={"maxlength": 30, "autofocus": True, "disabled": False}), tricky),
        (forms.NumberInput(attrs={"min": "0", "step": "any"}), 4.5),
        (forms.NumberInput(), 0),
        (forms.HiddenInput(), "7"),
        (forms.HiddenInput(), ""),
        (forms.DateInput(attrs={"type": "date"}), dt.date(2026, 1, 2)),
        (forms.TimeInput(format="%H:%M"), dt.time(9, 5)),
        (forms.EmailInput(), "ada@example.org"),
        (forms.PasswordInput(), "secret"),
        (forms.URLInput(), "https://example.org/?a=1&b=2"),
        (forms.Textarea(attrs={"rows": 3, "aria-describedby": "x-hint"}), tricky),
        (forms.Textarea(), ""),
        (forms.Textarea(), None),
    ]
    for widget, value in widgets:
        attrs = {"id": "id_f", "required": True, "class": "a&b"}
        mine = widget.render("f", value, attrs=attrs, renderer=ours)
        assert mine == widget.render("f", value, attrs=attrs, renderer=django), (widget, value)


def test_the_choice_widgets_are_written_as_django_s_own_templates_write_them() -> None:
    from django import forms
    from django.forms.renderers import Jinja2 as DjangoRenderer
    from django.utils.safestring import mark_safe
    from django.utils.translation import gettext_lazy

    from acuknee.pages.templating import FormRenderer

    ours, django = FormRenderer(), DjangoRenderer()
    flat = [("a", "A <b>"), ("b&c", 'B "quoted"'), (3, "three"), ("", "---")]
    grouped = [("Knee & <thigh>", [("st35", "ST35"), ("sp9", gettext_lazy("SP9"))]), ("x", "X")]
    grouped += [("", [])]
    odd = [(None, "none"), (True, mark_safe("<em>safe</em>")), ("g", "")]

    class OwnOption(forms.RadioSelect):
        option_template_name = "django/forms/widgets/input_option.html"

    class OtherOption(forms.Select):
        option_template_name = "django/forms/widgets/attrs.html"  # not an option writer

    widgets: list[tuple[forms.Widget, Any]] = []
    for choices in (flat, grouped, odd):
        widgets += [
            (forms.Select(choices=choices), "a"),
            (forms.Select(choices=choices, attrs={"class": "c", "disabled": True}), None),
            (forms.SelectMultiple(choices=choices), ["b&c", "st35"]),
            (forms.RadioSelect(choices=choices), "3"),
            (forms.RadioSelect(choices=choices, attrs={"class": "inline"}), None),
            (forms.CheckboxSelectMultiple(choices=choices), ["a", "x"]),
            (OwnOption(choices=choices), "x"),
            (OtherOption(choices=choices), "x"),
        ]
    widgets += [
        (forms.NullBooleanSelect(), True),
        (forms.NullBooleanSelect(), None),
        (forms.CheckboxInput(), True),
        (forms.CheckboxInput(attrs={"class": "c"}), False),
        (forms.CheckboxInput(), "on"),
    ]
    for widget, value in widgets:
        for attrs in ({"id": "id_f", "required": True}, {"aria-describedby": "h"}, None):
            mine = widget.render("f", value, attrs=attrs, renderer=ours)
            theirs = widget.render("f", value, attrs=attrs, renderer=django)
            assert mine == theirs, (type(widget).__name__, value, attrs)


def test_the_app_s_forms_render_as_with_django_s_renderer(db: Any) -> None:
    from django.forms.renderers import Jinja2 as DjangoRenderer

    from acuknee.clinical import load_knowledge
    from acuknee.forms.intake import IntakeForm
    from acuknee.forms.measurements import MeasurementsForm
    from acuknee.forms.sessions import AdverseEventForm, ConsentForm, PointForm, SessionForm
    from acuknee.forms.voiding import VoidRecordForm
    from acuknee.pages.templating import FormRenderer

    forms_shown = [
        IntakeForm(patient=None, kb=load_knowledge()),
        IntakeForm({"visit_date": "not a date"}, patient=None, kb=load_knowledge()),
        VoidRecordForm(initial={"version": 3}),
        VoidRecordForm({"reason": "<script>", "version": "x"}),
        SessionForm(),
        SessionForm({"session_date": "x", "pain_before": "11"}),
        PointForm(),
        PointForm({"code": "<b>", "side": "nowhere"}),
        AdverseEventForm(),
        ConsentForm(),
        MeasurementsForm(instruments=["koos", "pain_nrs", "pss4", "timed_up_and_go"]),
        MeasurementsForm(
            {"m__pain_nrs__current": "12"},
            instruments=["pain_nrs", "koos"],
            with_date=False,
            audience="patient",
        ),
    ]
    for form in forms_shown:
        form.renderer = FormRenderer()
        mine = [str(bound) for bound in form]
        form.renderer = DjangoRenderer()
        theirs = [str(bound) for bound in form]
        assert mine == theirs


def test_one_answer_of_a_list_is_written_as_django_s_option_template_writes_it() -> None:
    """``BoundWidget.tag()`` (a radio or checkbox answer on its own, as the radio groups and
    the session form print them) goes through the option writer."""
    from django import forms
    from django.forms.renderers import Jinja2 as DjangoRenderer

    from acuknee.pages.templating import FormRenderer

    class Answers(forms.Form):
        one = forms.ChoiceField(
            choices=[("0", "None <b>"), ("1", "Mild")], widget=forms.RadioSelect
        )
        many = forms.MultipleChoiceField(
            choices=[("a", "A & a"), ("b", "B")], widget=forms.CheckboxSelectMultiple
        )

    for data in (None, {"one": "1", "many": ["a", "b"]}):
        mine = Answers(data, renderer=FormRenderer())
        theirs = Answers(data, renderer=DjangoRenderer())
        for name in ("one", "many"):
            for ours, django in zip(mine[name], theirs[name], strict=True):
                assert ours.tag() == django.tag()
                assert ours.tag(wrap_label=True) == django.tag(wrap_label=True)


def test_a_field_s_group_label_and_errors_are_written_as_django_s_templates_write_them(
    db: Any,
) -> None:
    """``as_field_group()``, ``label_tag()``, ``legend_tag()`` and the error lists, written by
    the form renderer (``field.html``, ``label.html``, ``errors/list``), against Django's own
    renderer: every edge Django's templates and code handle (a radio group's fieldset, help
    text, no label, a suffix, a required class, no ids, an id of the widget's own, errors of
    the field and of the form)."""
    from django import forms
    from django.forms.renderers import Jinja2 as DjangoRenderer
    from django.utils.safestring import mark_safe

    from acuknee.clinical import load_knowledge
    from acuknee.forms.intake import IntakeForm
    from acuknee.forms.measurements import MeasurementsForm
    from acuknee.forms.sessions import ConsentForm, PointForm, SessionForm
    from acuknee.pages.templating import FormRenderer

    class Edges(forms.Form):
        required_css_class = "needed"
        plain = forms.CharField(label="Plain <b>", help_text="Help & <i>more</i>")
        asked = forms.CharField(label="Asked?", required=False)
        unlabelled = forms.CharField(label="", required=False)
        own_id = forms.CharField(widget=forms.TextInput(attrs={"id": "mine"}), required=False)
        described = forms.CharField(
            widget=forms.TextInput(attrs={"aria-describedby": "elsewhere"}), required=False
        )
        pick = forms.ChoiceField(
            choices=[("a", "A"), ("b", "B")], widget=forms.RadioSelect, help_text="One"
        )
        many = forms.MultipleChoiceField(
            choices=[("a", "A")], widget=forms.CheckboxSelectMultiple, required=False
        )
        safe = forms.CharField(label=mark_safe("<em>Safe</em>"), required=False)
        tick = forms.BooleanField(label="Tick ", label_suffix=" =", required=False)
        quoted = forms.CharField(label='Knee\'s "pain" & more', required=False)
        asked_quoted = forms.CharField(label="Isn't it?", required=False)
        spaced = forms.CharField(label=" Spaced ", label_suffix="", required=False)

        def clean(self) -> dict[str, Any]:
            raise forms.ValidationError(["Whole form <wrong>", "Twice"])

    def make(renderer: Any) -> list[forms.Form]:
        kb = load_knowledge()
        made: list[forms.Form] = [
            Edges(renderer=renderer),
            Edges({"plain": "", "pick": "z"}, renderer=renderer),
            Edges({"plain": "x"}, auto_id=False, renderer=renderer),
            Edges({"plain": "x"}, auto_id="f_%s", label_suffix="", renderer=renderer),
            IntakeForm(patient=None, kb=kb, renderer=renderer),
            IntakeForm({"visit_date": "not a date"}, patient=None, kb=kb, renderer=renderer),
            SessionForm({"session_date": "x", "pain_before": "11"}, renderer=renderer),
            PointForm({"code": "<b>", "side": "nowhere"}, renderer=renderer),
            ConsentForm({}, renderer=renderer),
            MeasurementsForm(
                {"m__pain_nrs__current": "12"},
                instruments=["pain_nrs", "koos"],
                with_date=False,
                audience="patient",
                renderer=renderer,
            ),
        ]
        for form in made:
            form.is_bound and form.is_valid()
        return made

    def written(form: forms.Form) -> list[Any]:
        parts: list[Any] = [str(form.non_field_errors())]
        for bound in form:
            parts += [
                bound.as_field_group(),
                bound.label_tag(),
                bound.label_tag(attrs={"class": "c&d", "hidden": True}, label_suffix="!"),
                bound.legend_tag(contents="Other <x>"),
                str(bound.errors),
            ]
        return parts

    class OwnLabel(Edges):
        template_name_label = "django/forms/errors/list/text.txt"  # prints no label

    class OwnRender(Edges):
        def render(self, *args: Any, **kwargs: Any) -> Any:
            return super().render(*args, **kwargs).replace("<", "[")

    ours, theirs = make(FormRenderer()), make(DjangoRenderer())
    for kind in (OwnLabel, OwnRender):
        ours.append(kind({"plain": ""}, renderer=FormRenderer()))
        theirs.append(kind({"plain": ""}, renderer=DjangoRenderer()))
    for mine, django in zip(ours, theirs, strict=True):
        assert written(mine) == written(django), type(mine).__name__
    edges = ours[1]
    assert "<fieldset" in edges["pick"].as_field_group()  # the fieldset branch was taken
    assert 'class="errorlist nonfield"' in str(edges.non_field_errors())


def test_a_field_with_a_template_of_its_own_is_rendered_by_that_template() -> None:
    from django import forms

    from acuknee.pages.templating import FormRenderer

    class Own(forms.Form):
        name = forms.CharField(template_name="django/forms/div.html")

    form = Own(renderer=FormRenderer())
    # ``div.html`` is a form's template, not a field's: given a field's context it renders
    # nothing of the field's group, which shows the writer for ``field.html`` was not used.
    assert "<label" not in form["name"].as_field_group()


def test_a_page_links_under_the_script_prefix_of_its_own_request(patient: Any, alice: Any) -> None:
    """``url`` on a page reads the script prefix once per page (``templating._page_url``): a
    site mounted under a path links under it, and the next request's prefix is its own."""
    from django.templatetags.static import static
    from django.urls import set_script_prefix

    from tests.pages.conftest import login

    client = login(alice)
    path = f"/patients/{patient.pk}/"
    static("acuknee/acuknee.css")  # the static storage keeps the prefix it was first read under
    # What Django's WSGI handler does with a request's SCRIPT_NAME (the test client does not).
    set_script_prefix("/clinic/")
    try:
        mounted = client.get(path).content.decode()
    finally:
        set_script_prefix("/")
    assert f'href="/clinic/patients/{patient.pk}/outcomes/"' in mounted
    assert f'href="/patients/{patient.pk}/outcomes/"' not in mounted
    plain = client.get(path).content.decode()
    assert f'href="/patients/{patient.pk}/outcomes/"' in plain
    assert '"/clinic/' not in plain


def test_the_writers_escape_every_value_as_markupsafe_escapes_it() -> None:
    from django.utils.safestring import mark_safe
    from django.utils.translation import gettext_lazy
    from markupsafe import Markup, escape

    from acuknee.pages.templating import _escape

    values: list[Any] = [
        "plain",
        "a <b> & \"c\" 'd' >",
        "",
        "&amp; already",
        Markup("<em>safe</em>"),
        mark_safe("<i>django safe</i>"),
        gettext_lazy("Lazy <text>"),
        3,
        4.5,
        None,
        True,
    ]
    for value in values:
        assert _escape(value) == str(escape(value)), repr(value)


ROW_TEMPLATE = """{% macro row(field, suffix=none) %}
<div class="field{% if field.field.widget.input_type == 'checkbox' %} check{% endif %}">
  {% if field.field.widget.input_type == 'checkbox' %}{{ field }} <label for="{{ field.id_for_label }}">{{ field.label }}{% if suffix %} {{ suffix }}{% endif %}</label>
  {% else %}<label for="{{ field.id_for_label }}">{{ field.label }}{% if suffix %} {{ suffix }}{% endif %}</label> {{ field }}{% endif %}
  {% if field.errors %}<div class="errors" role="alert">{{ field.errors }}</div>{% endif %}
</div>{% endmacro %}{{ row(field, suffix) }}"""  # noqa: E501  the row as a page template wrote it


def test_a_field_row_is_written_as_the_page_template_wrote_it(db: Any) -> None:
    """``field_row`` (the session form's, the token and account pages' fields) against the
    row's template as it was, printed by the pages' own environment."""
    from django import forms
    from django.template import engines
    from django.utils.translation import gettext_lazy

    from acuknee.forms.sessions import AdverseEventForm, ConsentForm, PointForm, SessionForm
    from acuknee.pages.templating import field_row

    class Edges(forms.Form):
        tick = forms.BooleanField(label="Tick <b>", required=False)
        lazy = forms.CharField(label=gettext_lazy("Lazy & label"))
        area = forms.CharField(widget=forms.Textarea, required=False)
        when = forms.DateField(required=False)

    template = engines["pages"].env.from_string(ROW_TEMPLATE)  # type: ignore[attr-defined]
    shown = [
        Edges(),
        Edges({"lazy": "", "when": "x<"}),
        Edges({"lazy": "y"}, auto_id=False),
        SessionForm(),
        SessionForm({"session_date": "x", "pain_before": "11"}),
        PointForm({"code": "<b>", "side": "nowhere"}),
        AdverseEventForm(),
        ConsentForm({}),
    ]
    rows = 0
    for form in shown:
        form.is_bound and form.is_valid()
        for bound in form:
            for suffix in (None, 0, 2, "<i>"):
                assert field_row(bound, suffix) == template.render(field=bound, suffix=suffix)
                rows += 1
    assert rows > 100


ITEM_TEMPLATE = """{% macro radio_group(field) %}
<fieldset class="item{% if field.errors %} invalid{% endif %}" id="{{ field.auto_id }}"{% if field.help_text or field.errors %} aria-describedby="{% if field.help_text %}{{ field.auto_id }}-hint{% endif %}{% if field.errors %} {{ field.auto_id }}-errors{% endif %}"{% endif %}>
  <legend>{{ field.label }}</legend>
  {% if field.help_text %}<p class="hint" id="{{ field.auto_id }}-hint">{{ field.help_text }}</p>{% endif %}
  <div class="scale">{% for radio in field %}<label for="{{ radio.id_for_label }}">{{ radio.tag() }} <span>{{ radio.choice_label }}</span></label>{% endfor %}</div>
  {% if field.errors %}<div class="errors" role="alert" id="{{ field.auto_id }}-errors">{{ field.errors }}</div>{% endif %}
</fieldset>{% endmacro %}{% macro measure_item(field) %}
{% if field.field.widget.input_type == "radio" %}
{{ radio_group(field) }}
{% else %}
<div class="item{% if field.errors %} invalid{% endif %}">
  <label for="{{ field.id_for_label }}">{{ field.label }}</label>
  {{ field }}
  {% if field.errors %}<div class="errors" role="alert" id="{{ field.auto_id }}-errors">{{ field.errors }}</div>{% endif %}
</div>
{% endif %}{% endmacro %}{{ measure_item(field) }}"""  # noqa: E501  as the page templates wrote them


def test_an_instrument_item_is_written_as_the_page_templates_wrote_it(db: Any) -> None:
    """``measure_item`` and ``radio_group`` (the intake's measures, the reassessment, the
    self-report) against the two templates they replaced, in the pages' own environment:
    radio groups and number boxes, with and without hints and errors, for staff and patient."""
    from django.template import engines

    from acuknee.clinical import load_knowledge
    from acuknee.forms.intake import IntakeForm
    from acuknee.forms.measurements import MeasurementsForm
    from acuknee.pages.templating import measure_item

    instruments = ["koos", "pain_nrs", "pss4", "timed_up_and_go", "chair_stand_30s", "knee_rom"]
    wrong = {
        "koos__A1": "9",
        "koos__A2": "<b>",
        "pain_nrs__current": "12",
        "chair_stand_30s__stands": "-4",
        "knee_rom__flexion_deg": "abc",
        "measured_on": "x",
    }
    template = engines["pages"].env.from_string(ITEM_TEMPLATE)  # type: ignore[attr-defined]
    shown = [
        MeasurementsForm(instruments=instruments),
        MeasurementsForm(wrong, instruments=instruments),
        MeasurementsForm(wrong, instruments=instruments, with_date=False, audience="patient"),
    ]
    for form in shown:
        form.is_bound and form.is_valid()
    fields = [bound for form in shown for bound in form]
    intake = IntakeForm(patient=None, kb=load_knowledge())
    fields += [bound for _, group in intake.measure_fields() for bound in group]
    radios = 0
    for bound in fields:
        assert measure_item(bound) == template.render(field=bound), bound.name
        radios += "<fieldset" in measure_item(bound)
    assert radios > 50
    assert any("invalid" in measure_item(bound) for bound in fields)


def test_an_unbound_form_s_items_print_the_same_kept_as_printed_afresh(db: Any) -> None:
    """``measure_items`` keeps a blank form's items by everything they print: staff and patient
    forms, a prefix, initial answers and the intake's measures each print exactly what
    ``measure_item`` prints field by field, and the second form of a kind reuses the first's."""
    from acuknee.clinical import load_knowledge
    from acuknee.forms.intake import IntakeForm
    from acuknee.forms.measurements import MeasurementsForm
    from acuknee.pages import templating
    from acuknee.pages.templating import measure_item, measure_items

    instruments = ["koos", "pain_nrs", "pss4", "timed_up_and_go", "knee_rom"]
    templating._ITEMS.clear()

    def made() -> list[Any]:
        return [
            MeasurementsForm(instruments=instruments),
            MeasurementsForm(instruments=instruments, with_date=False, audience="patient"),
            MeasurementsForm(instruments=instruments, prefix="second"),
            MeasurementsForm(instruments=instruments, initial={"koos__P1": 0, "pss4__1": 3}),
        ]

    first = [[measure_items(g.fields) for g in form.groups()] for form in made()]
    for form, printed in zip(made(), first, strict=True):
        for group, kept in zip(form.groups(), printed, strict=True):
            afresh = "".join(measure_item(field) for field in group.fields)
            again = measure_items(group.fields)
            assert again == afresh == kept, group.id
            assert again is kept  # the same content: printed once
    initial = first[3][0]
    assert 'value="0" id="id_koos__P1_0" checked' in initial  # an answer of 0 is an answer
    assert initial != first[0][0]
    assert 'name="second-koos__P1"' in first[2][0]
    intake = IntakeForm(patient=None, kb=load_knowledge())
    for _, group in intake.measure_fields():
        fields = list(group)
        assert measure_items(fields) == "".join(measure_item(f) for f in fields)


def test_a_field_changed_after_its_form_was_made_prints_its_change(db: Any) -> None:
    """What a view changes on a form's item (its label, choices, attributes, required) is part
    of the key: the change is printed, and no other form gets it."""
    from acuknee.forms.measurements import MeasurementsForm
    from acuknee.pages.templating import measure_item, measure_items

    def items(form: Any) -> Any:
        return next(g for g in form.groups() if g.id == "koos").fields

    plain = measure_items(items(MeasurementsForm(instruments=["koos"])))
    changes = [
        lambda f: setattr(f, "label", "Changed <label>"),
        lambda f: setattr(f, "choices", [(0, "only")]),
        lambda f: f.widget.attrs.update({"data-x": "1"}),
        lambda f: setattr(f, "required", True),
        lambda f: setattr(f, "disabled", True),
        lambda f: setattr(f, "help_text", "A new hint"),
    ]
    for change in changes:
        form = MeasurementsForm(instruments=["koos"])
        change(form.fields["koos__P1"])
        fields = items(form)
        printed = measure_items(fields)
        assert printed == "".join(measure_item(f) for f in fields)
        assert printed != plain
        assert measure_items(items(MeasurementsForm(instruments=["koos"]))) == plain


def test_a_bound_form_s_items_are_printed_afresh_with_their_answers_and_errors(db: Any) -> None:
    from acuknee.forms.measurements import MeasurementsForm
    from acuknee.pages import templating
    from acuknee.pages.templating import measure_items

    templating._ITEMS.clear()
    form = MeasurementsForm({"koos__P1": "9", "pain_nrs__current": "3"}, instruments=["koos"])
    form.is_valid()
    printed = measure_items(next(iter(form.groups())).fields)
    assert 'class="item invalid"' in printed
    assert len(templating._ITEMS) == 0  # nothing kept of a bound form (the only kind with errors)


def test_an_unbound_form_s_rows_print_the_same_kept_as_printed_afresh(db: Any) -> None:
    """``field_row`` keeps an unbound form's rows by everything they print: a second form of
    each kind is printed from what the first kept, and equals the row's template; a field
    changed after its form was made (its label, choices, attributes, value, a checkbox's
    test), another prefix or ids, and a bound form print their own rows."""
    from django import forms
    from django.template import engines

    from acuknee.forms.sessions import AdverseEventForm, ConsentForm, PointForm, SessionForm
    from acuknee.pages import templating
    from acuknee.pages.templating import field_row

    template = engines["pages"].env.from_string(ROW_TEMPLATE)  # type: ignore[attr-defined]
    kinds = [SessionForm, PointForm, AdverseEventForm, ConsentForm]
    templating._ROWS.clear()
    first = {kind: [field_row(b, 2) for b in kind()] for kind in kinds}
    assert templating._ROWS
    for kind in kinds:
        again = [field_row(b, 2) for b in kind()]
        assert again == first[kind] == [template.render(field=b, suffix=2) for b in kind()]
        assert all(a is f for a, f in zip(again, first[kind], strict=True))  # kept
    changes = [
        lambda f: setattr(f.fields["code"], "label", "Changed <label>"),
        lambda f: setattr(f.fields["side"], "choices", [("left", "Left only")]),
        lambda f: f.fields["code"].widget.attrs.update({"data-x": "1"}),
        lambda f: f.initial.update({"code": "ST36"}),
        lambda f: setattr(f.fields["code"], "required", not f.fields["code"].required),
    ]
    plain = {b.name: field_row(b) for b in PointForm()}
    for change in changes:
        form = PointForm()
        change(form)
        for bound in form:
            printed = field_row(bound)
            assert printed == template.render(field=bound, suffix=None), bound.name
        assert any(field_row(b) != plain[b.name] for b in form)
    for other in (PointForm(prefix="points-3"), PointForm(auto_id="x_%s")):
        for bound in other:
            assert field_row(bound) == template.render(field=bound, suffix=None)
            assert field_row(bound) != plain[bound.name]

    class Ticks(forms.Form):
        tick = forms.BooleanField(required=False, initial="yes")

    form = Ticks()
    form.fields["tick"].widget.check_test = lambda value: False
    assert "checked" in field_row(Ticks()["tick"])
    assert "checked" not in field_row(form["tick"])  # its own test: not the kept row
    bound = PointForm({"code": "<b>"})
    bound.is_valid()
    kept = len(templating._ROWS)
    assert all(field_row(b) == template.render(field=b, suffix=None) for b in bound)
    assert len(templating._ROWS) == kept  # nothing kept of a bound form


def _field_group_forms() -> list[Any]:
    """Unbound forms whose fields the pages print as groups (``field_group``): a new patient's
    intake, a repeat intake's carried answers and hints, the plan editor's and the referral
    outcome's fields, another prefix and other ids."""
    from acuknee.clinical import load_knowledge
    from acuknee.forms.intake import IntakeForm
    from acuknee.forms.plans import PlanStartForm
    from acuknee.pages.views.intake import ReferralOutcomeForm  # a form of the intake's page

    kb = load_knowledge()
    repeat = IntakeForm(patient=None, kb=kb, initial={"visit_date": dt.date(2026, 5, 1)})
    names = [n for n, f in repeat.fields.items() if not n.startswith("m__")][:12]
    for name in names[::2]:
        repeat.fields[name].help_text = f"Last time: <{name}>"
    repeat.initial.update({names[1]: "carried"})
    return [
        IntakeForm(patient=None, kb=kb),
        repeat,
        IntakeForm(patient=None, kb=kb, prefix="second"),
        IntakeForm(patient=None, kb=kb, auto_id="x_%s"),
        PlanStartForm(),
        ReferralOutcomeForm(initial={"seen_on": dt.date(2026, 5, 1)}),
    ]


def test_an_unbound_form_s_field_groups_print_the_same_kept_as_printed_afresh(db: Any) -> None:
    """``field_group`` keeps an unbound form's groups by everything they print: a second form
    of each kind is printed from what the first kept and equals ``as_field_group()``; hints,
    carried answers, another prefix and other ids print their own groups."""
    from acuknee.pages import templating
    from acuknee.pages.templating import field_group

    templating._GROUPS.clear()
    first = [[field_group(b) for b in form] for form in _field_group_forms()]
    assert templating._GROUPS
    for form, printed in zip(_field_group_forms(), first, strict=True):
        again = [field_group(b) for b in form]
        assert again == printed == [b.as_field_group() for b in form]
        assert all(a is p for a, p in zip(again, printed, strict=True))  # kept
    new, repeat, prefixed, other_ids = first[:4]
    assert new != repeat
    assert new != prefixed
    assert new != other_ids
    assert sum(a != b for a, b in zip(new, repeat, strict=True)) == 7  # six hints, one answer
    assert any("Last time: <" in g for g in repeat)  # a hint is the form's own markup
    assert all('name="second-' in g for g in prefixed if "name=" in g)


def test_a_field_group_changed_after_its_form_was_made_prints_its_change(db: Any) -> None:
    """What a view changes on a field after its form was made (label, choices, attributes,
    value, required, disabled, hint, the label's suffix, the form's required class) is part of
    the key: the change is printed, and no other form gets it."""
    from django import forms

    from acuknee.pages.templating import field_group

    class Methods(forms.Form):
        method = forms.ChoiceField(choices=[("manual", "Manual"), ("electro", "Electro")])
        name = forms.CharField()
        answer = forms.ChoiceField(choices=[("no", "No"), ("yes", "Yes")], widget=forms.RadioSelect)

    def made() -> Methods:
        return Methods(initial={"method": "manual"})

    plain = {b.name: field_group(b) for b in made()}
    changes = [
        ("method", lambda f: setattr(f.fields["method"], "label", "Changed <label>")),
        ("method", lambda f: setattr(f.fields["method"], "choices", [("manual", "Manual only")])),
        ("method", lambda f: f.fields["method"].widget.attrs.update({"data-x": "1"})),
        ("method", lambda f: f.initial.update({"method": "electro"})),
        ("name", lambda f: setattr(f.fields["name"], "required", False)),
        ("method", lambda f: setattr(f.fields["method"], "disabled", True)),
        ("method", lambda f: setattr(f.fields["method"], "help_text", "A new hint")),
        ("method", lambda f: setattr(f.fields["method"], "label_suffix", " →")),
        ("method", lambda f: setattr(f, "label_suffix", "!")),
        ("name", lambda f: setattr(f, "required_css_class", "needed")),
        ("answer", lambda f: setattr(f.fields["answer"], "label", "Changed legend")),
    ]
    for name, change in changes:
        form = made()
        change(form)
        printed = field_group(form[name])
        assert printed == form[name].as_field_group()
        assert printed != plain[name], name
        assert {b.name: field_group(b) for b in made()} == plain


def test_a_bound_form_s_field_groups_are_printed_afresh_with_their_answers_and_errors(
    db: Any,
) -> None:
    from acuknee.pages import templating
    from acuknee.pages.templating import field_group
    from acuknee.pages.views.intake import ReferralOutcomeForm

    templating._GROUPS.clear()
    form = ReferralOutcomeForm({"seen_on": "not a date"})
    form.is_valid()
    printed = [field_group(b) for b in form]
    assert printed == [b.as_field_group() for b in form]
    assert any('class="errorlist"' in g for g in printed)
    assert len(templating._GROUPS) == 0  # nothing kept of a bound form (the only kind with errors)


def test_a_formset_s_counts_are_written_as_django_s_management_form_prints_them() -> None:
    """``management_form``: an unbound formset's four hidden counts as Django prints them, for
    the session form's formsets at any number of rows, another prefix or auto id, and a
    formset with its own minimum and maximum; a bound formset (the counts posted, perhaps in
    error) and an auto id without ``%s`` are Django's own."""
    from django import forms as django_forms
    from django.forms import formset_factory

    from acuknee.forms.sessions import AdverseEventFormSet, ElectroFormSet, PointFormSet
    from acuknee.pages import templating

    row = {"code": "ST35", "side": "left"}
    cases: list[Any] = [
        PointFormSet(initial=[row] * rows, prefix="points") for rows in (0, 1, 9, 40)
    ]
    cases += [
        ElectroFormSet(prefix="electro"),
        AdverseEventFormSet(initial=[{"kind": "bruising"}], prefix="events"),
        PointFormSet(initial=[row], prefix='a"b<c>', auto_id="f-%s-x"),
        PointFormSet(initial=[row]),  # Django's own prefix ("form")
    ]

    class One(django_forms.Form):
        note = django_forms.CharField(required=False)

    bounded = formset_factory(One, extra=1, min_num=2, max_num=5, validate_max=True)
    cases.append(bounded(prefix="notes"))
    written = [str(templating.management_form(formset)) for formset in cases]
    assert written == [str(formset.management_form) for formset in cases]
    assert 'name="points-TOTAL_FORMS" value="11"' in written[2]  # 9 rows and 2 to add
    assert 'value="5" id="id_notes-MAX_NUM_FORMS"' in written[-1]

    posted = {"points-TOTAL_FORMS": "x", "points-INITIAL_FORMS": "0"}
    for formset in (PointFormSet(posted, prefix="points"), PointFormSet(prefix="p", auto_id=True)):
        assert str(templating.management_form(formset)) == str(formset.management_form)
    assert 'value="x"' in str(templating.management_form(PointFormSet(posted, prefix="points")))
