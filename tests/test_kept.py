"""The worker's bounded store (``acuknee.kept``) that every in-process memo uses."""

from __future__ import annotations

import threading

import pytest

from acuknee.kept import Kept


def test_the_store_forgets_the_least_recently_used_first() -> None:
    kept: Kept[str, int] = Kept(2)
    kept.put("a", 1)
    kept.put("b", 2)
    assert kept.get("a") == 1  # "a" used: "b" is now the oldest
    kept.put("c", 3)
    assert (kept.get("a"), kept.get("b"), kept.get("c")) == (1, None, 3)
    assert len(kept) == 2


def test_putting_a_key_again_replaces_its_value_and_makes_it_the_newest() -> None:
    kept: Kept[str, int] = Kept(2)
    kept.put("a", 1)
    kept.put("b", 2)
    assert kept.put("a", 10) == 10
    kept.put("c", 3)
    assert (kept.get("a"), "b" in kept, kept.get("c")) == (10, False, 3)


def test_made_works_a_value_out_once_per_key() -> None:
    kept: Kept[str, list[str]] = Kept(4)
    calls: list[str] = []

    def make(key: str) -> list[str]:
        calls.append(key)
        return [key]

    first = kept.made("x", lambda: make("x"))
    assert kept.made("x", lambda: make("x")) is first
    kept.made("y", lambda: make("y"))
    assert calls == ["x", "y"]


def test_a_store_keeps_at_least_one_value() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Kept(0)


def test_clear_forgets_everything() -> None:
    kept: Kept[int, int] = Kept(8)
    for i in range(5):
        kept.put(i, i)
    kept.clear()
    assert len(kept) == 0
    assert kept.get(1) is None


def test_threads_sharing_a_store_never_break_its_bound_or_its_answers() -> None:
    """A threaded worker (gunicorn's gthread) shares a store: each answer is the value put for
    that key or None, and the bound holds when every thread is done."""
    kept: Kept[int, int] = Kept(16)
    wrong: list[tuple[int, int]] = []

    def work(offset: int) -> None:
        for i in range(5000):
            key = (i * 7 + offset) % 64
            found = kept.get(key)
            if found is not None and found != key * 3:
                wrong.append((key, found))
            kept.put(key, key * 3)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
    assert len(kept) <= 16


def test_a_value_made_with_other_rules_is_made_again_and_replaces_the_old() -> None:
    """``made_with``: a value worked out with one set of rules (compared by identity, not
    equality) is never answered for another, and the store keeps the latest."""
    kept: Kept[str, tuple[object, list[str]]] = Kept(4)
    first_rules, other_rules = ["rule"], ["rule"]  # equal, not the same
    made: list[str] = []

    def make(label: str) -> list[str]:
        made.append(label)
        return [label]

    first = kept.made_with(first_rules, "k", lambda: make("first"))
    assert kept.made_with(first_rules, "k", lambda: make("again")) is first
    other = kept.made_with(other_rules, "k", lambda: make("other"))
    assert other == ["other"]
    assert kept.made_with(other_rules, "k", lambda: make("again")) is other
    assert made == ["first", "other"]
    assert len(kept) == 1


def test_content_keys_are_equal_only_for_data_that_prints_the_same() -> None:
    """Python's equality joins values a page prints apart (``True == 1``, ``1 == 1.0``,
    ``0.0 == -0.0``, ``Decimal("1.0") == Decimal("1")``, a date and midnight, one instant in two
    zones, a word and the enum member of that value): each stands in the key with its type and
    what it prints."""
    import datetime as dt
    from decimal import Decimal

    from acuknee.clinical.vocabulary import Side
    from acuknee.kept import content_key

    apart = [
        (True, 1),
        (1, 1.0),
        (0.0, -0.0),
        (Decimal("1.0"), Decimal("1")),
        (dt.date(2026, 5, 1), dt.datetime(2026, 5, 1)),
        (
            dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC),
            dt.datetime(2026, 5, 1, 13, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        ),
        ("left", Side.LEFT),
        ([1, 2], (1, 2)),
        ({"a": 1}, [("a", 1)]),
        ({"depth": 0.5, "side": "left"}, {"depth": 0.5, "side": "right"}),
    ]
    for one, other in apart:
        assert content_key(one) != content_key(other), (one, other)
    data = {"session": {"day": dt.date(2026, 5, 1)}, "points": [{"code": "ST36", "de_qi": False}]}
    same = {"session": {"day": dt.date(2026, 5, 1)}, "points": [{"code": "ST36", "de_qi": False}]}
    assert content_key(data) == content_key(same)
    assert hash(content_key(data)) == hash(content_key(same))
    assert content_key(Side.LEFT) == content_key(Side("left"))


def test_a_value_that_is_not_plain_data_has_no_content_key() -> None:
    """An object's equality (or its lack: identity) need not say what it prints, nor does a
    text marked safe (printed unescaped), so it makes no key and its caller prints afresh."""
    from django.utils.translation import gettext_lazy
    from markupsafe import Markup

    from acuknee.kept import content_key

    class Shown:
        def __str__(self) -> str:
            return "printed"

    for value in (Shown(), {"label": gettext_lazy("Side")}, [{1, 2}], b"bytes", Markup("<b>")):
        with pytest.raises(TypeError):
            content_key(value)
