"""Scoring of every instrument in ``knowledge/instruments.toml``: validation of answers,
missing-item rules and subscale formulas.

The rules live in the data file (each subscale names its items, formula, missing-item rule,
range, direction, domain and sources); this module only applies them, so adding an instrument
means adding data, not code. Public functions:

- ``score(instrument, answers, kb=None) -> Scores``: validate one measurement's answers and
  score every subscale. Missing items (absent or ``None``) follow the subscale's rule; a subscale
  with too few answers has ``value=None`` and a note saying why.
- ``validate_answers(instrument, answers, kb=None) -> dict[str, float]``: the validation alone.
- ``instrument_problems(kb) -> list[str]``: consistency checks of the instrument data (tables,
  ranges, reversed items, short forms) that the generic knowledge loader does not make.
- ``parse_item_text`` / ``load_item_text``: the clinic-supplied licensed item wording
  (format in ``docs/formats.md``, "Licensed item text").

Values are kept at full float precision; presentation rounds (KOOS examples usually show one
decimal). Invalid answers raise ``InvalidInput`` (one problem) or ``InvalidInputs`` (several),
each naming ``<instrument>.<item>``.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from acuknee.clinical.base import CoreModel
from acuknee.clinical.errors import InvalidInput, InvalidInputs
from acuknee.clinical.knowledge import Instrument, Item, KnowledgeBase, Subscale, load_knowledge
from acuknee.clinical.numbers import format_number


class SubscaleScore(CoreModel):
    """One subscale's score; ``value`` is None when too few items were answered."""

    id: str
    value: float | None
    answered: int
    required: int
    note: str | None = None
    raw: float | None = None  # the raw item sum a table score was looked up from


class Scores(CoreModel):
    """The result of ``score``: every subscale of one instrument, keyed by subscale id."""

    instrument: str
    subscales: dict[str, SubscaleScore]

    def value(self, subscale: str) -> float | None:
        return self.subscales[subscale].value

    def values(self) -> dict[str, float | None]:
        """Every subscale's value by id (None where it could not be scored)."""
        return {sid: s.value for sid, s in self.subscales.items()}


ItemText = dict[tuple[str, str], str]
"""Licensed item wording keyed by (instrument id, item code)."""


# --- answers ------------------------------------------------------------------------------------


def _instrument(kb: KnowledgeBase, instrument: str) -> Instrument:
    try:
        return kb.instruments[instrument]
    except (KeyError, TypeError):
        known = ", ".join(sorted(kb.instruments))
        raise InvalidInput(
            "instrument", f"unknown instrument {instrument!r}; known: {known}"
        ) from None


def _accepted_items(kb: KnowledgeBase, instrument: Instrument) -> Mapping[str, Item]:
    """Codes an answer set may carry: the instrument's own, plus its parent's for a short form,
    so a full KOOS answer set can be scored as KOOS-PS or KOOS JR."""
    accepted = instrument.items_by_code
    parent = kb.instruments.get(instrument.derived_from or "")
    if parent is not None:
        accepted = {**parent.items_by_code, **accepted}
    return accepted


def _fmt(number: float) -> str:
    """An answer echoed back in its error, to as many decimals as anyone types."""
    return format_number(number, 6)


def _check(item: Item, value: object) -> str | None:
    """The problem with one answer, or None when it is a valid number for the item."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"must be a number, not {type(value).__name__}"
    try:
        number = float(value)
    except OverflowError:  # an int beyond float range is outside every item's range
        return f"must be between {_fmt(item.min)} and {_fmt(item.max)}"
    if not math.isfinite(number):
        return "must be a finite number"
    if item.integer and not number.is_integer():
        return "must be a whole number"
    if not item.min <= number <= item.max:
        return f"must be between {_fmt(item.min)} and {_fmt(item.max)}"
    return None


def validate_answers(
    instrument: str, answers: Mapping[str, float | None], kb: KnowledgeBase | None = None
) -> dict[str, float]:
    """The answered values of the instrument's own items, after checking every answer.

    Raises ``InvalidInput`` for one problem and ``InvalidInputs`` for several, so a form can show
    every field's error at once. ``None`` means the item was skipped and is not an error.
    """
    kb = kb or load_knowledge()
    inst = _instrument(kb, instrument)
    if not isinstance(answers, Mapping):
        raise InvalidInput(inst.id, "answers must be an object keyed by item code")
    accepted = _accepted_items(kb, inst)
    own = inst.items_by_code
    errors: list[InvalidInput] = []
    values: dict[str, float] = {}
    for code, value in answers.items():
        field = f"{inst.id}.{code}"
        item = accepted.get(code) if isinstance(code, str) else None
        if item is None:
            errors.append(InvalidInput(field, "unknown item code for this instrument"))
            continue
        if value is None:
            continue
        problem = _check(item, value)
        if problem is not None:
            errors.append(InvalidInput(field, problem))
        elif code in own:
            values[code] = float(value)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise InvalidInputs(errors)
    return values


# --- scoring ------------------------------------------------------------------------------------


def _required(sub: Subscale) -> int:
    """Fewest answered items that still give a score; all items unless the data says otherwise
    (acuknee's conservative default where no published missing-item rule was verified)."""
    return sub.min_answered if sub.min_answered is not None else len(sub.items)


def _oriented(inst: Instrument, item: Item, value: float) -> float:
    """The answer after reversal of positively worded items (reversed = min + max - answer)."""
    return item.min + item.max - value if item.code in inst.reverse_items else value


def _formula(
    inst: Instrument, sub: Subscale, values: dict[str, float]
) -> tuple[float, float | None]:
    """(score, raw sum for table lookups) of a subscale whose required items are answered.

    - koos: 100 - mean x 100 / 4 over the answered items (KOOS Scoring 2012), written with the
      item range so 100 = no problems and 0 = extreme problems.
    - sum / mean: of the oriented answers (PSS-4: Cohen; Warttig 2013).
    - table: the raw sum looked up in the published table (KOOS-PS: Perruccio 2008; KOOS JR:
      Lyman 2016), index 0 = raw sum 0.
    - value: the one item; difference: first minus second item; reciprocal: factor / the item
      (40 m walk speed = 40 / seconds, Dobson 2013).
    """
    items = inst.items_by_code
    answered = [c for c in sub.items if c in values]
    oriented = [_oriented(inst, items[c], values[c]) for c in answered]
    match sub.scoring:
        case "koos":
            lo, hi = items[answered[0]].min, items[answered[0]].max
            mean = math.fsum(oriented) / len(oriented)
            return 100 - (mean - lo) * 100 / (hi - lo), None
        case "sum":
            return math.fsum(oriented), None
        case "mean":
            return math.fsum(oriented) / len(oriented), None
        case "table":
            assert sub.table is not None  # instrument_problems guarantees a table
            raw = math.fsum(oriented)
            low = sum(items[c].min for c in sub.items)
            return sub.table[int(raw - low)], raw
        case "value":
            return oriented[0], None
        case "difference":
            first, second = sub.items
            return values[first] - values[second], None
        case "reciprocal":
            assert sub.factor is not None  # instrument_problems guarantees a factor
            return sub.factor / values[sub.items[0]], None


def _score_subscale(inst: Instrument, sub: Subscale, values: dict[str, float]) -> SubscaleScore:
    answered = sum(1 for c in sub.items if c in values)
    required = _required(sub)
    total = len(sub.items)
    if answered < required:
        rule = f"at least {required} of {total}" if required < total else f"all {total}"
        return SubscaleScore(
            id=sub.id,
            value=None,
            answered=answered,
            required=required,
            note=f"not scored: needs {rule} items answered, {answered} were",
        )
    value, raw = _formula(inst, sub, values)
    note = f"scored from {answered} of {total} items" if answered < total else None
    return SubscaleScore(
        id=sub.id, value=value, answered=answered, required=required, note=note, raw=raw
    )


def score(
    instrument: str, answers: Mapping[str, float | None], kb: KnowledgeBase | None = None
) -> Scores:
    """Validate one measurement's answers and score every subscale of the instrument.

    Formulas and missing-item rules come from ``knowledge/instruments.toml`` and its sources:
    KOOS subscales follow KOOS Scoring 2012 (100 - mean x 25, scored when at least half the
    items are answered: Pain 5/9, Symptoms 4/7, ADL 9/17, Sport/Rec 3/5, QOL 2/4); KOOS-PS
    (Perruccio 2008) and KOOS JR (Lyman 2016) look the raw sum up in their tables and need all
    seven items (acuknee's conservative choice: the developers' rule was not verified); PSS-4
    reverses items 2 and 3 before summing (Cohen; Warttig 2013). Values keep full precision.
    """
    kb = kb or load_knowledge()
    inst = _instrument(kb, instrument)
    values = validate_answers(inst.id, answers, kb)
    return Scores(
        instrument=inst.id,
        subscales={sub.id: _score_subscale(inst, sub, values) for sub in inst.subscales},
    )


# --- data consistency ---------------------------------------------------------------------------


def _reachable(inst: Instrument, sub: Subscale) -> tuple[float, float] | None:
    """The lowest and highest value the formula can give from the items' ranges."""
    items = {i.code: i for i in inst.items}
    parts = [items[c] for c in sub.items]
    match sub.scoring:
        case "koos":
            return 0.0, 100.0
        case "sum":
            return sum(i.min for i in parts), sum(i.max for i in parts)
        case "mean" | "value":
            return min(i.min for i in parts), max(i.max for i in parts)
        case "table":
            return (min(sub.table), max(sub.table)) if sub.table else None
        case "difference":
            first, second = parts
            return first.min - second.max, first.max - second.min
        case "reciprocal":
            (item,) = parts
            if sub.factor is None or item.min <= 0:
                return None
            return sub.factor / item.max, sub.factor / item.min


def _subscale_problems(inst: Instrument, sub: Subscale, kb: KnowledgeBase) -> list[str]:
    where = f"instrument {inst.id} subscale {sub.id}"
    items = {i.code: i for i in inst.items}
    problems = [f"{where}: unknown source {s!r}" for s in sub.source if s not in kb.sources]
    unknown = [c for c in sub.items if c not in items]
    if unknown or not sub.items:
        return [*problems, f"{where}: needs known items (unknown: {unknown})"]
    parts = [items[c] for c in sub.items]
    counts = {"value": 1, "reciprocal": 1, "difference": 2}
    if sub.scoring in counts and len(parts) != counts[sub.scoring]:
        problems.append(f"{where}: {sub.scoring} scoring needs {counts[sub.scoring]} item(s)")
        return problems
    if not 1 <= _required(sub) <= len(parts):
        problems.append(f"{where}: min_answered must be between 1 and the number of items")
    if sub.scoring == "koos" and (
        sub.min_answered is None or len({(i.min, i.max) for i in parts}) != 1
    ):
        problems.append(f"{where}: koos scoring needs min_answered and items of one range")
    if sub.scoring == "table":
        if sub.table is None or not all(i.integer for i in parts):
            problems.append(f"{where}: table scoring needs a table and whole-number items")
        else:
            span = sum(i.max for i in parts) - sum(i.min for i in parts)
            if len(sub.table) != span + 1:
                problems.append(
                    f"{where}: table needs {int(span) + 1} entries, has {len(sub.table)}"
                )
            if sub.min_answered is not None and sub.min_answered < len(parts):
                problems.append(f"{where}: a raw-sum table cannot be read with items missing")
    if sub.scoring == "reciprocal" and (sub.factor is None or parts[0].min <= 0):
        problems.append(f"{where}: reciprocal scoring needs a factor and an item above 0")
    if sub.range_min > sub.range_max:
        problems.append(f"{where}: range_min is above range_max")
    reach = _reachable(inst, sub)
    tolerance = 1e-9
    if reach is not None and (
        reach[0] < sub.range_min - tolerance or reach[1] > sub.range_max + tolerance
    ):
        problems.append(
            f"{where}: scores can reach {reach[0]}..{reach[1]}, outside the declared range "
            f"{sub.range_min}..{sub.range_max}"
        )
    return problems


def instrument_problems(kb: KnowledgeBase) -> list[str]:
    """Every inconsistency in the instrument data, as readable sentences (empty when all is well).

    Checks what the generic loader cannot: subscale sources, formula shapes, table lengths,
    declared ranges that contain every reachable score, reversed items, answer anchors and
    short forms whose items match their parent's.
    """
    problems: list[str] = []
    for inst in kb.instruments.values():
        where = f"instrument {inst.id}"
        codes = {i.code for i in inst.items}
        problems.extend(
            f"{where}: reversed item {c!r} is not an item"
            for c in inst.reverse_items
            if c not in codes
        )
        for item in inst.items:
            if item.min > item.max:
                problems.append(f"{where} item {item.code}: min is above max")
            if item.anchors and (
                not item.integer or len(item.anchors) != int(item.max - item.min) + 1
            ):
                problems.append(f"{where} item {item.code}: needs one anchor per coded value")
        if inst.derived_from is not None:
            parent = kb.instruments.get(inst.derived_from)
            if parent is None:
                problems.append(f"{where}: derived from unknown instrument {inst.derived_from!r}")
            else:
                theirs = {i.code: i for i in parent.items}
                for item in inst.items:
                    other = theirs.get(item.code)
                    if other is None or (other.min, other.max, other.integer) != (
                        item.min,
                        item.max,
                        item.integer,
                    ):
                        problems.append(
                            f"{where} item {item.code}: must match an item of {parent.id}"
                        )
        ids = [s.id for s in inst.subscales]
        if len(ids) != len(set(ids)):
            problems.append(f"{where}: subscale ids must be unique")
        for sub in inst.subscales:
            problems.extend(_subscale_problems(inst, sub, kb))
    return problems


# --- licensed item text -------------------------------------------------------------------------


def parse_item_text(
    text: str, fmt: Literal["toml", "json"], kb: KnowledgeBase | None = None
) -> ItemText:
    """Licensed item wording from a clinic-supplied ``{instrument: {item_code: text}}`` document.

    acuknee ships only paraphrased labels for licensed instruments such as the KOOS (Mapi
    Research Trust terms); a licensed clinic supplies the verbatim wording. Every instrument id
    and item code must exist, and every text must be a non-empty string.
    """
    kb = kb or load_knowledge()
    try:
        data: object = tomllib.loads(text) if fmt == "toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput("item_text", f"not valid {fmt.upper()}: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidInput("item_text", "must be an object keyed by instrument id")
    errors: list[InvalidInput] = []
    texts: ItemText = {}
    for instrument, entries in data.items():
        inst = kb.instruments.get(instrument)
        if inst is None:
            errors.append(InvalidInput(str(instrument), "unknown instrument"))
            continue
        if not isinstance(entries, dict):
            errors.append(InvalidInput(inst.id, "must be an object keyed by item code"))
            continue
        codes = {i.code for i in inst.items}
        for code, wording in entries.items():
            field = f"{inst.id}.{code}"
            if code not in codes:
                errors.append(InvalidInput(field, "unknown item code for this instrument"))
            elif not isinstance(wording, str) or not wording.strip():
                errors.append(InvalidInput(field, "item text must be a non-empty string"))
            else:
                texts[(inst.id, code)] = wording.strip()
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise InvalidInputs(errors)
    return texts


def load_item_text(path: str | Path, kb: KnowledgeBase | None = None) -> ItemText:
    """Read a clinic's licensed item-text file (``.toml`` or ``.json``) and validate it.

    The only file the core reads outside its own data, and only when the caller passes a path.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise InvalidInput("item_text", f"{path.name}: use a .toml or .json file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput("item_text", f"cannot read {path}: {exc}") from exc
    return parse_item_text(text, "toml" if suffix == ".toml" else "json", kb)
