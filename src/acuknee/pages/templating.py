"""The Jinja2 environment the pages are rendered with.

The pages were Django templates; resolving variables through the template language took about
two fifths of a signed-in page (issue 15: the patient page, profiled), where Jinja2 compiles a
template to Python once per process. What the Django templates had built in is given here once:
``url`` (``{% url %}``), ``static``, the safety banner, the ``number`` and ``join_dates``
filters and Django's own filters that Jinja2 lacks, and values are printed as Django prints
them (``finalize``), so a page template reads and renders like the Django one it replaced.
The markup a page repeats for every field (``field_row``, ``measure_item``) and Django's own
form templates (``FormRenderer``) are written in Python, each held by the tests to the
template it stands for: a page prints a hundred fields or more.

``PageTemplates`` is Django's Jinja2 backend that also sends ``template_rendered``, the signal
Django's test client listens to, so a test can read ``response.context`` of a page as it could
for a Django template.
"""

from __future__ import annotations

import datetime as dt
import functools
import sys
from collections.abc import Callable, Iterable
from typing import Any

import jinja2
import markupsafe
from django.conf import settings
from django.forms import BaseForm, BaseFormSet, BoundField
from django.forms.formsets import (
    INITIAL_FORM_COUNT,
    MAX_NUM_FORM_COUNT,
    MIN_NUM_FORM_COUNT,
    TOTAL_FORM_COUNT,
)
from django.forms.models import ModelChoiceIterator
from django.forms.renderers import Jinja2 as JinjaFormRenderer
from django.forms.renderers import get_default_renderer
from django.middleware.csrf import get_token
from django.template import TemplateSyntaxError, defaultfilters
from django.template.backends.jinja2 import Jinja2, get_exception_info
from django.template.backends.jinja2 import Template as JinjaTemplate
from django.template.loader import get_template
from django.templatetags.static import static
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.formats import localize
from django.utils.functional import lazy
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString
from django.utils.timezone import template_localtime
from django.utils.translation import get_language, gettext
from markupsafe import Markup, escape

from acuknee.clinical.numbers import format_number
from acuknee.kept import Kept
from acuknee.pages.banner import banner_context


def url(name: str, *args: Any, **kwargs: Any) -> str:
    """``{% url name arg %}``: the path of a named view. A page links thirty or more; each is
    worked out once per process for the URLconf and prefix in force (Django's ``reverse``
    resolves the pattern again on every call)."""
    if kwargs:
        return reverse(name, kwargs=kwargs)
    try:
        return _reversed(name, args, get_script_prefix(), get_urlconf())
    except TypeError:  # an argument that cannot be a cache key
        return reverse(name, args=args or None)


def _page_url(prefix: str, urlconf: Any) -> Callable[..., str]:
    """``url`` for one page: the script prefix and URLconf, each a context-local read (about
    2 µs), are read once per page where ``url`` reads them for each of its thirty links."""

    def page_url(name: str, *args: Any, **kwargs: Any) -> str:
        if kwargs:
            return reverse(name, kwargs=kwargs)
        try:
            return _reversed(name, args, prefix, urlconf)
        except TypeError:
            return reverse(name, args=args or None)

    return page_url


@functools.lru_cache(maxsize=4096)
def _reversed(name: str, args: tuple[Any, ...], prefix: str, urlconf: Any) -> str:
    return reverse(name, args=args or None, urlconf=urlconf)


def url_or_empty(name: str, *args: Any) -> str:
    """``{% url name as x %}``: the path, or "" where the URLconf lacks the view (a site
    without the accounts pages still renders the navigation)."""
    try:
        return url(name, *args)
    except NoReverseMatch:
        return ""


def number(value: float | int | None, decimals: int = 1) -> str:
    """The value as people read it on every page: rounded, no trailing zeros, never "-0"."""
    return format_number(value, int(decimals))


def join_dates(days: Iterable[dt.date]) -> str:
    """Dates as the pages print them (ISO, "2026-05-01, 2026-06-12"), one format everywhere."""
    return ", ".join(day.isoformat() for day in days)


@jinja2.pass_context
def safety_banner(context: jinja2.runtime.Context) -> Markup:
    """The safety banner of the page's ``patient`` (``pages/_safety_banner.html``), rendered with
    the items ``acuknee.pages.banner`` chooses for the signed-in role."""
    items = banner_context(context.get("patient"), context.get("request"), context.get("chart"))
    template = context.environment.get_template("pages/_safety_banner.html")
    return Markup(template.render(items))


def field_row(field: Any, suffix: Any = None) -> Markup:
    """One form field of a page: its label (after the box for a checkbox), the input and its
    errors. Written here, not by a template: the session form prints 111, which an include per
    field, then a macro, made about a tenth slower (issue 15). Values are printed as a page
    template prints them (``_print``); ``tests/pages/test_page_templates.py`` holds the row to
    the template it replaced. A row of a form not bound to data is kept by its content, as
    ``measure_items`` keeps items: most of a new session's rows are the same for every patient
    on the same protocol (262 different rows among the 21 demo session forms' 2,629)."""
    if field.form.is_bound:  # only a bound form has answers and errors
        return _field_row(field, suffix)
    return _kept(_ROWS, lambda: (_printed_as(field), suffix), lambda: _field_row(field, suffix))


def _field_row(field: Any, suffix: Any) -> Markup:
    label = f"{_print(field.label)}{f' {_print(suffix)}' if suffix else ''}"
    opening = f'<label for="{_print(field.id_for_label)}">{label}</label>'
    widget = _print(field)
    if getattr(field.field.widget, "input_type", None) == "checkbox":
        kind, shown = "field check", f"{widget} {opening}\n  "
    else:
        kind, shown = "field", f"{opening} {widget}"
    errors = field.errors
    shown_errors = f'<div class="errors" role="alert">{_print(errors)}</div>' if errors else ""
    return Markup(f'\n<div class="{kind}">\n  {shown}\n  {shown_errors}\n</div>')


def _kept(
    store: Kept[Any, Markup], key_of: Callable[[], Any], make: Callable[[], Markup]
) -> Markup:
    """``make()``, kept in ``store`` by ``key_of()`` (what it prints); made afresh when there
    is no key (``_printed_as`` refuses choices read from the database) or it holds a value that
    cannot be one (an unhashable attribute or choice)."""
    try:
        key = key_of()
        hash(key)
    except TypeError:
        return make()
    return store.made(key, make)


_ROWS: Kept[Any, Markup] = Kept(4096)
"""Rows of unbound forms as printed, by everything that prints them."""


def kept_render(
    store: Kept[Any, Markup], name: str, context: dict[str, Any], key_of: Callable[[], Any]
) -> Markup:
    """The page part ``name`` printed with ``context`` (no request: no CSRF token, no user),
    kept in ``store`` by ``key_of()`` (everything the context prints), the template itself (in
    development an edited template is another one) and what every print depends on: the
    language and the forms' renderer. ``key_of`` raising TypeError prints it afresh."""
    template = get_template(name)
    compiled = template.template.template  # Jinja2's, the same until the file changes
    renderer = type(get_default_renderer())

    def printed() -> Markup:
        return Markup(template.render(context))

    return _kept(store, lambda: (key_of(), compiled, get_language(), renderer), printed)


def field_group(field: Any) -> Markup:
    """``field.as_field_group()`` (its label, help text, errors and widget, by Django's
    ``field.html``), kept by its content for a form not bound to data, as ``field_row`` keeps
    rows: a first intake's 56 blank questions on its first step are the same for every new
    patient, and printing them was about 2 ms of the page (issue 15)."""
    if field.form.is_bound:  # only a bound form has answers and errors
        return Markup(field.as_field_group())
    return _kept(
        _GROUPS,
        lambda: (_printed_as(field), _grouped_as(field)),
        lambda: Markup(field.as_field_group()),
    )


def _grouped_as(field: Any) -> tuple[object, ...]:
    """What ``field.html`` prints of a field beyond ``_printed_as``: the label's suffix and
    class (``_label_tag``), and the classes and templates that print the group and its label."""
    form, inner = field.form, field.field
    return (
        type(field),
        type(form),
        form.label_suffix,
        inner.label_suffix,
        getattr(form, "required_css_class", None),
        form.template_name_label,
        inner.template_name,
        form.renderer.field_template_name,
    )


_GROUPS: Kept[Any, Markup] = Kept(4096)
"""Field groups of unbound forms as printed, by everything that prints them."""


def measure_item(field: Any) -> Markup:
    """One instrument item, the same on the intake, the reassessment and the self-report: a
    radio group (``radio_group``) when its answers are few whole numbers, else a labelled
    number box. ``field``: a bound field made by ``measurements.item_field``. Written here, not
    by a macro, as ``field_row`` is: the reassessment form prints 61 items and 290 answers."""
    if getattr(field.field.widget, "input_type", None) == "radio":
        return Markup(f"\n\n{radio_group(field)}\n")
    errors = field.errors
    auto_id = _print(field.auto_id)
    shown_errors = _item_errors(auto_id, errors)
    return Markup(
        f'\n\n<div class="item{" invalid" if errors else ""}">\n'
        f'  <label for="{_print(field.id_for_label)}">{_print(field.label)}</label>\n'
        f"  {_print(field)}\n  {shown_errors}\n</div>\n"
    )


def measure_items(fields: Iterable[Any]) -> Markup:
    """Instrument items, each by ``measure_item``. The items of a form not bound to data print
    the same markup whenever what they print is the same, so they are printed once per content
    (``_printed_as``) and kept: the reassessment form's 61 items and 290 answers took about a
    third of the page (issue 15). A bound form's items (answers, errors) are printed afresh."""
    fields = list(fields)

    def printed() -> Markup:
        return Markup("".join(measure_item(field) for field in fields))

    if not fields or fields[0].form.is_bound:  # only a bound form has answers and errors
        return printed()

    def key_of() -> tuple[object, ...]:
        return tuple(_printed_as(field) for field in fields)

    return _kept(_ITEMS, key_of, printed)


def _printed_as(field: Any) -> tuple[object, ...]:
    """Everything ``measure_item`` and ``field_row`` print of a field of an unbound form (it
    has no errors), Django's widget included (``BoundField.as_widget`` and
    ``build_widget_attrs``): its names and ids, words, value, the widget's kind, templates and
    attributes, the choices, what makes ``required``, ``disabled`` and ``aria-describedby``
    attributes, and the renderer. Choices read from the database are not a key (TypeError)."""
    inner, widget, form = field.field, field.field.widget, field.form
    choices = getattr(inner, "choices", None)
    if isinstance(choices, ModelChoiceIterator):
        raise TypeError("choices from a query")
    return (
        field.html_name,
        field.auto_id,
        field.label,
        field.help_text,
        repr(field.value()),
        inner.required,
        inner.disabled,
        inner.show_hidden_initial,
        inner.localize,
        form.use_required_attribute,
        type(form.renderer),
        type(widget),
        widget.template_name,
        getattr(widget, "option_template_name", None),
        widget.is_localized,
        widget.use_fieldset,
        getattr(widget, "input_type", None),
        getattr(widget, "format", None),
        getattr(widget, "check_test", None),
        tuple(widget.attrs.items()),
        tuple(choices) if choices is not None else None,
    )


_ITEMS: Kept[Any, Markup] = Kept(256)
"""Items of unbound forms as printed, by everything that prints them (``_printed_as``): a
KOOS group is about 40 kB."""


def radio_group(field: Any) -> Markup:
    """One question answered by picking one answer: an accessible radio group. The fieldset's
    legend is the question, the hint (a rating's ends) is tied to it by aria-describedby, and
    each answer is a native radio inside its own label, so a tap anywhere on the answer picks
    it, Tab enters and leaves the group and the arrow keys move between answers. ``field``: a
    bound choice field with a RadioSelect widget."""
    errors, help_text = field.errors, field.help_text
    auto_id = _print(field.auto_id)
    described = ""
    if help_text or errors:
        hint = f"{auto_id}-hint" if help_text else ""
        error = f" {auto_id}-errors" if errors else ""
        described = f' aria-describedby="{hint}{error}"'
    shown_hint = f'<p class="hint" id="{auto_id}-hint">{_print(help_text)}</p>' if help_text else ""
    answers = "".join(
        f'<label for="{_print(radio.id_for_label)}">{radio.tag()} '
        f"<span>{_print(radio.choice_label)}</span></label>"
        for radio in field
    )
    shown_errors = _item_errors(auto_id, errors)
    return Markup(
        f'\n<fieldset class="item{" invalid" if errors else ""}" id="{auto_id}"{described}>\n'
        f"  <legend>{_print(field.label)}</legend>\n"
        f"  {shown_hint}\n"
        f'  <div class="scale">{answers}</div>\n'
        f"  {shown_errors}\n</fieldset>"
    )


def management_form(formset: BaseFormSet) -> Markup:
    """``{{ formset.management_form }}``: the four hidden counts a formset posts back. For a
    formset not bound to data they are written here, as Django's ``ManagementForm`` prints them
    (its hidden inputs, by ``div.html`` and ``hidden.html``): making that form and printing it
    through its templates was about a fifth of printing the session form, which has three
    (issue 15). A bound formset's (the counts posted, perhaps in error), or one whose
    management form, auto id or renderer is its own, is Django's;
    ``tests/pages/test_page_templates.py`` holds the written one to Django's."""
    auto_id = formset.auto_id
    if (
        formset.is_bound
        or type(formset).management_form is not BaseFormSet.management_form
        or type(formset.renderer) is not FormRenderer
        or not isinstance(auto_id, str)
        or "%s" not in auto_id
    ):
        return Markup(str(formset.management_form))
    counts = (
        (TOTAL_FORM_COUNT, formset.total_form_count()),
        (INITIAL_FORM_COUNT, formset.initial_form_count()),
        (MIN_NUM_FORM_COUNT, formset.min_num),
        (MAX_NUM_FORM_COUNT, formset.max_num),
    )
    inputs = []
    for name, count in counts:
        html_name = f"{formset.prefix}-{name}"
        inputs.append(
            f'<input type="hidden" name="{_escape(html_name)}" value="{_escape(count)}" '
            f'id="{_escape(auto_id % html_name)}">'
        )
    return Markup("".join(inputs))


def _item_errors(auto_id: str, errors: Any) -> str:
    """An instrument item's errors, named by its id for ``aria-describedby`` ("" for none)."""
    if not errors:
        return ""
    return f'<div class="errors" role="alert" id="{auto_id}-errors">{_print(errors)}</div>'


def _print(value: Any) -> str:
    """``{{ value }}`` on a page: printed as Django prints it (``finalize``), then escaped."""
    return _escape(_as_django_prints(value))


DJANGO_FILTERS = (
    "date",
    "time",
    "urlencode",
    "capfirst",
    "linebreaksbr",
    "pluralize",
    "yesno",
    "truncatechars",
    "default_if_none",
    "timesince",
)
"""Django's own filters, under their names (Jinja2's ``urlencode`` differs; the rest it lacks).
Jinja2's ``default`` applies to an undefined value only: write ``x or "—"`` for Django's."""


def _django_filter(name: str) -> Callable[..., Any]:
    """Django's filter ``name``. One that expects local time (``date``, ``time``, ``timesince``)
    is given the value in the current time zone first, as Django's templates give it: an aware
    time carrying another zone (a booked visit, in the clinic's zone) would otherwise be printed
    in that zone, not as the Django templates printed it."""
    django_filter: Callable[..., Any] = getattr(defaultfilters, name)
    if not getattr(django_filter, "expects_localtime", False):
        return django_filter

    @functools.wraps(django_filter)
    def in_local_time(value: Any, *args: Any) -> Any:
        if args in _FAST and isinstance(value, dt.date):  # the pages' usual formats, fast
            if isinstance(value, dt.datetime):
                value = template_localtime(value)
                day = f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
                return day if args == _DAY else f"{day} {value.hour:02d}:{value.minute:02d}"
            if args == _DAY:
                return value.isoformat()
        return django_filter(template_localtime(value), *args)

    return in_local_time


_DAY = ("Y-m-d",)
_FAST = {_DAY, ("Y-m-d H:i",)}
"""The formats the pages use most, written directly (Django's ``dateformat`` builds a
formatter object per value); ``tests/pages/test_page_templates.py`` holds them to Django's."""


def _as_django_prints(value: Any) -> Any:
    """Every ``{{ value }}`` printed as a Django template prints it: aware times in the
    clinic's zone, dates and numbers in the site's format ("7 Dec 2026")."""
    if isinstance(value, str):  # most of what a page prints, and Markup: unchanged
        return value
    if type(value) is int and not settings.USE_THOUSAND_SEPARATOR:  # a count: as ``str``
        return str(value)
    return localize(template_localtime(value))


def environment(**options: Any) -> jinja2.Environment:
    """The pages' environment (``TEMPLATES`` names it)."""
    options.setdefault("finalize", _as_django_prints)
    # Django's backend picks DebugUndefined when DEBUG is on, which prints "{{ name }}" for a
    # name a page does not pass: the demo (``make run``) would then show what production and
    # the tests never do. An undefined name prints "" everywhere, as in Django's templates.
    options["undefined"] = jinja2.Undefined
    env = jinja2.Environment(**options)
    env.globals.update(
        url=url,
        url_or_empty=url_or_empty,
        static=static,
        safety_banner=safety_banner,
        field_row=field_row,
        field_group=field_group,
        measure_item=measure_item,
        measure_items=measure_items,
        management_form=management_form,
    )
    env.filters.update(number=number, join_dates=join_dates)
    env.filters.update({name: _django_filter(name) for name in DJANGO_FILTERS})
    return env


class _Template:
    """A page template that announces its rendering as Django templates do in tests."""

    def __init__(self, template: JinjaTemplate, name: str) -> None:
        self.template = template
        self.name = name
        self.origin = template.origin

    def render(self, context: dict[str, Any] | None = None, request: Any = None) -> str:
        context = {} if context is None else context
        html = self._render(context, request)
        signals = sys.modules.get("django.test.signals")  # imported by Django's test tools only
        if signals is not None and signals.template_rendered.receivers:
            # After rendering, so a test reads what the page had, as from a Django template:
            # ``messages``, ``user`` and ``request`` with the view's own values.
            signals.template_rendered.send(sender=self, template=self, context=context)
        return html

    def _render(self, context: dict[str, Any], request: Any) -> str:
        """Django's ``jinja2.Template.render``, with the CSRF token masked once per page: its
        ``csrf_input`` masks a new token wherever a page prints it (three forms on a patient's
        page), where the template language's ``{% csrf_token %}`` masks one per page, as here."""
        if request is not None:
            token = functools.cache(lambda: get_token(request))
            context["request"] = request
            context["csrf_input"] = _csrf_input(token)
            context["csrf_token"] = _csrf_token(token)
            context["url"] = _page_url(get_script_prefix(), get_urlconf())
            for context_processor in self.template.backend.template_context_processors:
                context.update(context_processor(request))
        try:
            return str(self.template.template.render(context))
        except jinja2.TemplateSyntaxError as exc:
            new = TemplateSyntaxError(exc.args)
            new.template_debug = get_exception_info(exc)
            raise new from exc


def _input(token: Callable[[], str]) -> SafeString:
    return format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token())


_csrf_input = lazy(_input, SafeString, str)
_csrf_token = lazy(lambda token: token(), str)


class FormRenderer(JinjaFormRenderer):
    """Django's Jinja2 form renderer (``FORM_RENDERER``) that writes Django's own widgets
    itself, as Django's templates for them write them (``django/forms/jinja2/django/forms/
    widgets``): the ``<input>`` family, ``<textarea>``, ``<select>`` with its options, and the
    radio and checkbox lists. Each render through a template cost about 50 µs, and a choice
    widget one more per option: five on a patient's page, some 600 on the intake page and 570 on
    the session form (issue 15). A widget or option with another template is rendered by it.
    Around the widget it also writes a field's group (``field.html``: its label, help text and
    errors, as ``as_field_group()`` prints them), its label (``label.html``) and an error list
    (``errors/list``), which Django renders through three or four more templates per field
    (about 100 µs a field on the intake page); what goes in them (the label's suffix, its
    ``for``, the ids) is still Django's own code.
    ``tests/pages/test_page_templates.py`` holds each to Django's template's output."""

    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        write = _WIDGET_WRITERS.get(template_name)
        if write is not None and context.keys() == {"widget"}:
            try:
                return write(context["widget"])
            except _OwnTemplate:
                pass
        part = _PART_WRITERS.get(template_name)
        if part is not None and context.keys() == part[0]:
            return part[1](context).strip()  # as Django's renderer strips a template's output
        return str(super().render(template_name, context, request=request))


class _OwnTemplate(Exception):
    """An option of a choice widget names a template of its own: render the widget by it."""


def _escape(value: Any) -> str:
    """``markupsafe.escape(value)``, as text: the same characters, without making a ``Markup``
    of every name and value written (about 0.5 µs each; the session form writes some 1,500).
    ``tests/pages/test_page_templates.py`` holds it to ``escape``."""
    if type(value) is str:
        return _escape_text(value)
    return escape(value)  # safe text (``__html__``), lazy text, numbers: as ``escape`` does


_escape_text: Callable[[str], str] = getattr(markupsafe, "_escape_inner", None) or (
    lambda text: str(escape(text))
)
"""MarkupSafe's own escaping of plain text (its C speed-up where built), which ``escape`` calls."""


def _widget_attrs(attrs: dict[str, Any]) -> str:
    """``django/forms/widgets/attrs.html``."""
    return "".join(
        f" {_escape(name)}" if value is True else f' {_escape(name)}="{_escape(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def _input_widget(widget: dict[str, Any]) -> str:
    """``django/forms/widgets/input.html``."""
    value = widget["value"]
    shown = f' value="{_escape(value)}"' if value is not None else ""
    return (
        f'<input type="{_escape(widget["type"])}" name="{_escape(widget["name"])}"{shown}'
        f"{_widget_attrs(widget['attrs'])}>"
    )


def _textarea_widget(widget: dict[str, Any]) -> str:
    """``django/forms/widgets/textarea.html`` (its text on a line of its own)."""
    text = _escape(widget["value"]) if widget["value"] else ""
    name, attrs = _escape(widget["name"]), _widget_attrs(widget["attrs"])
    return f'<textarea name="{name}"{attrs}>\n{text}</textarea>'


def _select_widget(widget: dict[str, Any]) -> str:
    """``django/forms/widgets/select.html``, its options by ``select_option.html``."""
    parts = [f'<select name="{_escape(widget["name"])}"{_widget_attrs(widget["attrs"])}>']
    for group, options, _index in widget["optgroups"]:
        if group:
            parts.append(f'\n  <optgroup label="{_escape(group)}">')
        for option in options:
            if option["template_name"] != _SELECT_OPTION:
                raise _OwnTemplate
            value, label = _escape(option["value"]), _escape(option["label"])
            parts.append(
                f'\n  <option value="{value}"{_widget_attrs(option["attrs"])}>{label}</option>'
            )
        if group:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


def _multiple_input_widget(widget: dict[str, Any]) -> str:
    """``django/forms/widgets/multiple_input.html`` (radio and checkbox lists), its options by
    ``input_option.html``."""
    attrs = widget["attrs"]
    shown_id = f' id="{_escape(attrs["id"])}"' if attrs.get("id") else ""
    shown_class = f' class="{_escape(attrs["class"])}"' if attrs.get("class") else ""
    parts = [f"<div{shown_id}{shown_class}>"]
    for group, options, _index in widget["optgroups"]:
        if group:
            parts.append(f"\n  <div><label>{_escape(group)}</label>")
        for option in options:
            parts.append(f"<div>\n    {_input_option(option)}</div>")
        if group:
            parts.append("\n  </div>")
    parts.append("\n</div>")
    return "".join(parts)


def _input_option(option: dict[str, Any]) -> str:
    """``django/forms/widgets/input_option.html`` (``radio_option``, ``checkbox_option``)."""
    if option["template_name"] not in _INPUT_OPTIONS:
        raise _OwnTemplate
    control = _input_widget(option)
    if not option["wrap_label"]:
        return control
    option_id = option["attrs"].get("id")
    opening = f'<label for="{_escape(option_id)}">' if option_id else "<label>"
    return f"{opening}{control} {_escape(option['label'])}</label>"


_SELECT_OPTION = "django/forms/widgets/select_option.html"
_INPUT_OPTIONS = frozenset(
    f"django/forms/widgets/{kind}.html"
    for kind in ("input_option", "radio_option", "checkbox_option")
)


_WIDGET_WRITERS: dict[str, Callable[[dict[str, Any]], str]] = {
    **{
        f"django/forms/widgets/{kind}.html": _input_widget
        for kind in (
            "input",
            "text",
            "number",
            "email",
            "url",
            "password",
            "hidden",
            "date",
            "datetime",
            "time",
            "search",
            "tel",
            "color",
        )
    },
    "django/forms/widgets/textarea.html": _textarea_widget,
    "django/forms/widgets/checkbox.html": _input_widget,
    "django/forms/widgets/select.html": _select_widget,
    "django/forms/widgets/radio.html": _multiple_input_widget,
    "django/forms/widgets/checkbox_select.html": _multiple_input_widget,
    # One answer of a radio or checkbox list on its own (``BoundWidget.tag()``).
    **dict.fromkeys(_INPUT_OPTIONS, _input_option),
}


def _field_group(context: dict[str, Any]) -> str:
    """``django/forms/field.html``, whitespace and all."""
    field = context["field"]
    fieldset = field.use_fieldset
    if fieldset:
        described = field.aria_describedby
        opening = f' aria-describedby="{_escape(described)}"' if described else ""
        label = _label_tag(field, "legend") if field.label else ""
        head = f"\n  <fieldset{opening}>\n  {label}\n"
    else:
        head = f"\n  {_label_tag(field, 'label') if field.label else ''}\n"
    help_html = ""
    if field.help_text:
        auto_id = field.auto_id
        shown_id = f' id="{_escape(auto_id)}_helptext"' if auto_id else ""
        help_html = f'<div class="helptext"{shown_id}>{field.help_text}</div>'
    closing = "</fieldset>" if fieldset else ""
    return f"{head}\n{help_html}\n{_escape(field.errors)}\n{_escape(field)}\n{closing}"


def _label_tag(field: BoundField, tag: str) -> str:
    """``field.label_tag()`` (``legend_tag()`` for a fieldset) as Django's ``BoundField`` makes
    it and ``label.html`` writes it, without the round through the form's renderer (about 15
    µs a field; the intake's first step has 56). A bound field, form or label template of its
    own goes through Django."""
    form = field.form
    if (
        type(field).label_tag is not BoundField.label_tag
        or form.template_name_label != _LABEL_TEMPLATE
        or type(form).render is not BaseForm.render
        or not isinstance(form.renderer, FormRenderer)
    ):
        return _escape(field.label_tag() if tag == "label" else field.legend_tag())
    contents = field.label
    suffix = field.field.label_suffix
    if suffix is None:
        suffix = form.label_suffix
    if suffix and contents and contents[-1] not in gettext(":?.!"):
        # ``format_html``: Django's escaping, which writes an apostrophe as "&#x27;"
        text = f"{conditional_escape(contents)}{conditional_escape(suffix)}"
    else:
        text = _escape(contents)  # the template's escaping, "&#39;"
    widget = field.field.widget
    id_ = widget.attrs.get("id") or field.auto_id
    if not id_:
        return text.strip()  # as the renderer strips the template's output
    attrs: dict[str, Any] = {}
    id_for_label = widget.id_for_label(id_)
    if id_for_label:
        attrs["for"] = id_for_label
    if field.field.required and hasattr(form, "required_css_class"):
        attrs["class"] = form.required_css_class
    shown = _widget_attrs(attrs) if attrs else ""
    return f"<{tag}{shown}>{text}</{tag}>"


_LABEL_TEMPLATE = "django/forms/label.html"


def _label(context: dict[str, Any]) -> str:
    """``django/forms/label.html`` (a label or a legend), its attributes by ``attrs.html``."""
    label = _escape(context["label"])
    if not context["use_tag"]:
        return label
    tag = _escape(context["tag"])
    attrs = context["attrs"]
    return f"<{tag}{_widget_attrs(attrs) if attrs else ''}>{label}</{tag}>"


def _error_list(context: dict[str, Any]) -> str:
    """``django/forms/errors/list/ul.html`` (``default.html`` includes it)."""
    errors = context["errors"]
    if not errors:
        return ""
    field_id = getattr(errors, "field_id", None)
    shown_id = f' id="{_escape(field_id)}_error"' if field_id else ""
    items = "".join(f"<li>{_escape(error)}</li>" for error in errors)
    return f'<ul class="{_escape(context["error_class"])}"{shown_id}>{items}</ul>'


_PART_WRITERS: dict[str, tuple[frozenset[str], Callable[[dict[str, Any]], str]]] = {
    "django/forms/field.html": (frozenset({"field"}), _field_group),
    "django/forms/label.html": (frozenset({"field", "label", "attrs", "use_tag", "tag"}), _label),
    "django/forms/errors/list/default.html": (frozenset({"errors", "error_class"}), _error_list),
    "django/forms/errors/list/ul.html": (frozenset({"errors", "error_class"}), _error_list),
}
"""Django's templates around a widget, each with the context Django gives it; a template given
another context (a view's own) is rendered by the template."""


class PageTemplates(Jinja2):
    """Django's Jinja2 backend whose templates send ``template_rendered`` (see above)."""

    def get_template(self, template_name: str) -> _Template:
        return _Template(super().get_template(template_name), template_name)
