"""The app's form base: each form gets its own copy of its fields, made without re-walking
every choice list.

Django gives every form instance a deep copy of the class's fields, so that one form's changes
(a label, a help text, a narrowed choice list) never reach another request. For a choice field
that deep copy also deep-copies its choice list and normalises the widget's copy of it again:
the intake's 179 fields, with about 560 options, took 4.1 ms a form, 0.9 ms this way (issue 15;
docs/performance.md, goal 1's fifth round). ``copy_fields`` copies each field and widget
exactly as Django's own ``__deepcopy__`` methods do, but copies a normalised choice list one
list at a time: its ``(value, label)`` tuples, texts and lazy texts cannot be changed in place,
so sharing them is the same as copying them. A field or widget with its own copying (a model
choice field, a multi-widget) is deep-copied by Django as before.

Each field is copied when the form first reads it (``FieldsCopiedOnUse``), and a bound form is
cleaned from the fields it has not copied where a copy would clean the same (``for_cleaning``),
without a bound field where one would only pass the posted value on: a posted form reads every
field once to clean it, and shows none again unless it has errors (issue 15, goal 1's twelfth
and thirteenth rounds).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from typing import Any, cast

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.forms.boundfield import BoundField
from django.forms.forms import DeclarativeFieldsMetaclass
from django.forms.widgets import ChoiceWidget
from django.utils.functional import cached_property

_FIELD_COPIES = (forms.Field.__deepcopy__, forms.ChoiceField.__deepcopy__)
_WIDGET_COPIES = (forms.Widget.__deepcopy__, ChoiceWidget.__deepcopy__)


def copy_fields(
    fields: Mapping[str, forms.Field], memo: dict[int, Any] | None = None
) -> dict[str, forms.Field]:
    """Each field copied as ``copy.deepcopy(fields)`` would copy it (see the module)."""
    memo = {} if memo is None else memo
    return {name: copy_field(field, memo) for name, field in fields.items()}


def copy_field(field: forms.Field, memo: dict[int, Any]) -> forms.Field:
    """``Field.__deepcopy__`` (and ``ChoiceField``'s), with the choice list copied by list."""
    copier = type(field).__deepcopy__
    if copier not in _FIELD_COPIES or id(field) in memo:
        return copy.deepcopy(field, memo)  # its own copying, or already copied in this call
    result = _shallow(field)
    memo[id(field)] = result
    result.widget = _copy_widget(field.widget, memo)
    result.error_messages = field.error_messages.copy()
    result.validators = field.validators[:]
    if copier is forms.ChoiceField.__deepcopy__:
        result._choices = _copy_choices(field._choices)
    return result


def _copy_widget(widget: forms.Widget, memo: dict[int, Any]) -> forms.Widget:
    """``Widget.__deepcopy__`` (and ``ChoiceWidget``'s, whose choices are already normal)."""
    copier = type(widget).__deepcopy__
    if copier not in _WIDGET_COPIES or id(widget) in memo:
        return copy.deepcopy(widget, memo)
    result = _shallow(widget)
    result.attrs = widget.attrs.copy()
    if copier is ChoiceWidget.__deepcopy__:
        choices = widget._choices
        if isinstance(choices, list):
            result._choices = _copy_choices(choices)
        else:  # a lazy choice iterator: as Django copies it
            result.choices = copy.copy(choices)
    memo[id(widget)] = result
    return result


def _shallow(obj: Any) -> Any:
    """``copy.copy(obj)``; for a class that copies by the default protocol (its instance
    dictionary, no slots, no ``__copy__``, ``__reduce__`` or ``__getstate__`` of its own),
    without going through that protocol (four times faster for the intake's fields)."""
    kind: Any = type(obj)
    plain = _PLAIN.get(kind)
    if plain is None:
        plain = _PLAIN[kind] = (
            not hasattr(kind, "__copy__")
            and kind.__reduce_ex__ is _OBJECT.__reduce_ex__
            and kind.__reduce__ is _OBJECT.__reduce__
            and kind.__getstate__ is _OBJECT.__getstate__
            and all("__slots__" not in vars(k) for k in kind.__mro__[:-1])
        )
    if not plain:
        return copy.copy(obj)
    result = object.__new__(kind)
    result.__dict__.update(obj.__dict__)
    return result


_OBJECT: Any = object
_PLAIN: dict[type, bool] = {}
"""Per class: does ``copy.copy`` copy its instances by the default protocol?"""


def _copy_choices(choices: Any) -> Any:
    """A normalised choice list with every list in it new and every tuple and text shared;
    anything else (a lazy iterator, a malformed list) deep-copied as Django does."""
    if type(choices) is not list:
        return copy.deepcopy(choices)
    for item in choices:
        if type(item) is not tuple or len(item) != 2:
            return copy.deepcopy(choices)
        if isinstance(item[1], list):
            break
    else:
        return choices.copy()  # no groups: the pairs themselves cannot change
    return [
        (item[0], _copy_choices(item[1])) if isinstance(item[1], list) else item for item in choices
    ]


class FieldsCopiedOnUse(MutableMapping[str, forms.Field]):
    """A form's own fields, each copied (``copy_field``, with one memo for the form, as one
    ``copy.deepcopy`` of them all would share it) from ``shared`` the first time it is read,
    then ``made`` once: a form of many fields whose page shows a few (the intake's 179, one
    step about 60) copies those few (issue 15). Read, set, deleted, iterated (in ``own``'s
    order, then ``shared``'s) and copied as a dict of copies would be; ``shared`` is never
    changed. A shallow or deep copy of it is a plain dict of every field."""

    def __init__(
        self,
        shared: Mapping[str, forms.Field],
        *,
        own: Mapping[str, forms.Field] | None = None,
        made: Callable[[forms.Field], None] | None = None,
        made_shows_only: bool = False,
    ) -> None:
        self._shared = shared
        self._made = made
        self._made_shows_only = made_shows_only
        self._memo: dict[int, Any] = {}
        self._own: dict[str, forms.Field] = {
            k: v for k, v in (own or {}).items() if k not in shared
        }
        self._names: dict[str, None] = dict.fromkeys(own or {}) | dict.fromkeys(shared)

    def __getitem__(self, name: str) -> forms.Field:
        found = self._own.get(name)
        if found is None:
            if name not in self._names:
                raise KeyError(name)
            found = self._own[name] = copy_field(self._shared[name], self._memo)
            if self._made is not None:
                self._made(found)
        return found

    def for_cleaning(self, name: str) -> forms.Field:
        """The field as cleaning reads it: the form's own copy once made; before that, the
        shared field itself where a copy would clean the same, because it is copied as Django
        copies a plain field (its widget, attributes, messages, validators and choices, which
        cleaning only reads) and ``made`` changes only how it is shown (``made_shows_only``).
        A bound form's cleaning reads every field, and the copies were most of the intake
        save's cleaning (issue 15); a page shown again with errors still shows its own
        copies."""
        found = self._own.get(name)
        if found is not None:
            return found
        shared = self._shared.get(name) if name in self._names else None
        if (
            shared is not None
            and (self._made is None or self._made_shows_only)
            and type(shared).__deepcopy__ in _FIELD_COPIES
            and type(shared.widget).__deepcopy__ in _WIDGET_COPIES
        ):
            return shared
        return self[name]

    def __setitem__(self, name: str, field: forms.Field) -> None:
        self._own[name] = field
        self._names[name] = None

    def __delitem__(self, name: str) -> None:
        del self._names[name]
        self._own.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def copied(self) -> Iterable[str]:
        """The names of the fields copied so far (the tests' view of what a page read)."""
        return list(self._own)

    def __copy__(self) -> dict[str, forms.Field]:
        return dict(self.items())

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, forms.Field]:
        return copy_fields(dict(self.items()), memo)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} fields, {len(self._own)} copied)"


class _LightlyCopied(dict):  # type: ignore[type-arg]
    """A form class's fields; ``copy.deepcopy`` of them (in ``BaseForm.__init__``) is
    ``copy_fields``."""

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, forms.Field]:
        return cast("dict[str, forms.Field]", FieldsCopiedOnUse(self))


class _FieldsMetaclass(DeclarativeFieldsMetaclass):
    def __new__(mcs, name: str, bases: tuple[type, ...], attrs: dict[str, Any]) -> Any:
        new_class = super().__new__(mcs, name, bases, attrs)
        new_class.base_fields = _LightlyCopied(new_class.base_fields)
        return new_class


class Form(forms.Form, metaclass=_FieldsMetaclass):
    """``django.forms.Form`` whose instances copy each field with ``copy_field`` when they first
    read it (``FieldsCopiedOnUse``), and clean a bound form from fields not copied yet
    (``FieldsCopiedOnUse.for_cleaning``), each from its posted value without a bound field
    where Django's would only pass that value on (``_direct``): a formset's rows and a posted
    form read every field once to clean it and most never again."""

    def _direct(self, name: str, fields: FieldsCopiedOnUse) -> forms.Field | None:
        """The field to clean ``name`` with, without a bound field (``for_cleaning``'s), where
        Django's bound field would only pass the posted value on: Django's own bound-field
        class and field methods. None where a bound field is needed: one made already (the
        page showed it) or a field of its own kind."""
        if name in self._bound_fields_cache:
            return None
        field = fields.for_cleaning(name)
        kind = type(field)
        if (
            kind._clean_bound_field is _CLEAN_BOUND
            and kind.get_bound_field is _GET_BOUND
            and field.bound_field_class is None
            and self.bound_field_class is None
        ):
            return field
        return None

    def _bound(self, name: str, fields: FieldsCopiedOnUse) -> BoundField:
        """The bound field cleaning reads where ``_direct`` finds one needed: one made already
        is used as it is; another is made over ``for_cleaning``'s field and kept for cleaning
        only (a formset's row is asked whether it changed, then cleaned), never shown. A
        bound field takes its field's label and help text when made, and a page shown again
        makes its own from the form's own copy, after what it writes there (the intake's
        previous answers)."""
        bound = self._bound_fields_cache.get(name)
        if bound is None:
            kept: dict[str, BoundField] = self.__dict__.setdefault("_bound_for_cleaning", {})
            bound = kept.get(name)
            if bound is None:
                bound = kept[name] = fields.for_cleaning(name).get_bound_field(self, name)
        return bound

    def _posted(self, name: str, field: forms.Field) -> Any:
        """``BoundField.data`` (or ``.initial`` for a disabled field, as Django cleans it),
        read once for both "changed?" and "clean"."""
        read: dict[str, Any] = self.__dict__.setdefault("_posted_values", {})
        if name not in read:
            if field.disabled:
                read[name] = self.get_initial_for_field(field, name)
            else:
                read[name] = field.widget.value_from_datadict(
                    self.data, self.files, self.add_prefix(name)
                )
        return read[name]

    def _clean_fields(self) -> None:
        """As Django's, but a field is cleaned from its posted value without a bound field
        where one would only pass that value on (``_direct``): a bound field costs about 3 µs
        to make, and a posted intake made 179 of them that nothing showed (issue 15)."""
        fields: Any = self.fields
        if not isinstance(fields, FieldsCopiedOnUse):
            super()._clean_fields()
            return
        for name in fields:
            field = self._direct(name, fields)
            try:
                if field is not None:
                    self.cleaned_data[name] = field.clean(self._posted(name, field))
                else:
                    bound = self._bound(name, fields)
                    self.cleaned_data[name] = bound.field._clean_bound_field(bound)
                if hasattr(self, f"clean_{name}"):
                    self.cleaned_data[name] = getattr(self, f"clean_{name}")()
            except ValidationError as exc:
                self.add_error(name, exc)

    def _post_clean(self) -> None:
        """A hidden value the page carries (the record's version) that came back missing or
        garbled is said at the top of the form, where the page shows whole-form errors: the
        page shows no hidden field, and a 400 once said nothing at all."""
        super()._post_clean()
        fields: Any = self.fields
        for name in [n for n in self._errors if n != NON_FIELD_ERRORS]:
            if name not in fields:
                continue
            field = fields.for_cleaning(name) if isinstance(fields, FieldsCopiedOnUse) else None
            field = field or fields[name]
            if isinstance(field.widget, forms.HiddenInput):
                self.add_error(
                    None,
                    f"The page came back without a valid {name.replace('_', ' ')} (a value it "
                    "carries, not shown): reload the page and make the change again.",
                )

    @cached_property
    def changed_data(self) -> list[str]:
        """As Django's, without a bound field where ``_direct`` finds none is needed (a
        formset asks each row whether it changed)."""
        fields: Any = self.fields
        if not isinstance(fields, FieldsCopiedOnUse):
            return [name for name, bound in self._bound_items() if bound._has_changed()]
        changed = []
        for name in fields:
            field = self._direct(name, fields)
            if field is None or field.show_hidden_initial:
                if self._bound(name, fields)._has_changed():
                    changed.append(name)
            elif field.has_changed(
                self.get_initial_for_field(field, name), self._posted(name, field)
            ):
                changed.append(name)
        return changed


_CLEAN_BOUND = forms.Field._clean_bound_field
_GET_BOUND = forms.Field.get_bound_field
