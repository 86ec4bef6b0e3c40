"""trials.toml loads, every entry is sourced, and a bad entry fails with its name."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from acuknee.evidence.data import (
    EvidenceDataError,
    arm_summary,
    build_evidence,
    comparison_effect,
    load_evidence,
)


def _raw() -> str:
    return (resources.files("acuknee.evidence") / "trials.toml").read_text(encoding="utf-8")


def test_packaged_evidence_loads_with_trials_comparisons_and_guidelines() -> None:
    ev = load_evidence()
    assert {t.id for t in ev.trials} >= {"witt2005", "scharf2006", "foster2007", "hinman2014"}
    assert {g.id for g in ev.guidelines} == {"acr2019", "nice_ng226", "oarsi2019", "aaos2021"}
    assert {tuple(a.comparators) for a in ev.analyses} == {
        ("sham",),
        ("no_acupuncture", "waiting_list"),
    }


def test_every_entry_cites_a_defined_source_with_a_citation() -> None:
    ev = load_evidence()
    entries = [*ev.trials, *ev.comparisons, *ev.reviews, *ev.guidelines]
    for entry in entries:
        assert entry.source, entry
        for sid in entry.source:
            assert ev.sources[sid].citation.strip()


def test_entry_without_source_fails_naming_the_entry() -> None:
    raw = _raw().replace('source = ["ev_aaos2021"]\n', "", 1)
    with pytest.raises(EvidenceDataError, match=r"guidelines.*source"):
        build_evidence(raw)


def test_entry_with_empty_source_list_fails() -> None:
    raw = _raw().replace('source = ["ev_aaos2021"]', "source = []", 1)
    with pytest.raises(EvidenceDataError, match="source"):
        build_evidence(raw)


def test_unknown_source_id_fails_naming_entry_and_source() -> None:
    raw = _raw().replace('source = ["ev_aaos2021"]', 'source = ["ev_nowhere"]', 1)
    with pytest.raises(EvidenceDataError, match="guideline aaos2021: unknown source 'ev_nowhere'"):
        build_evidence(raw)


def test_comparison_missing_a_number_for_its_kind_fails() -> None:
    raw = _raw().replace("sd1 = 3.6\n", "", 1)
    with pytest.raises(EvidenceDataError, match="needs sd1"):
        build_evidence(raw)


def test_comparison_naming_unknown_trial_fails() -> None:
    raw = _raw().replace('trial = "hinman2014"', 'trial = "hinman2099"', 1)
    with pytest.raises(EvidenceDataError, match="unknown trial 'hinman2099'"):
        build_evidence(raw)


def test_rates_without_arm_sizes_cannot_enter_a_pooled_analysis() -> None:
    raw = re.sub(
        r'(id = "scharf2006_sham"[^\[]*?kind = "rates")',
        r'\1\nanalysis = "sham_smd"',
        _raw(),
        count=1,
    )
    with pytest.raises(EvidenceDataError, match="only a comparison with an effect size"):
        build_evidence(raw)


def test_sd_from_standard_error_is_se_times_root_n() -> None:
    witt = next(c for c in load_evidence().comparisons if c.id == "witt2005_sham")
    arms = arm_summary(witt)
    assert arms is not None
    assert arms.sd1 == pytest.approx(1.4 * 150**0.5)
    assert arms.sd2 == pytest.approx(1.9 * 76**0.5)


def test_lower_is_better_outcome_is_turned_so_positive_favours_acupuncture() -> None:
    witt = next(c for c in load_evidence().comparisons if c.id == "witt2005_sham")
    found = comparison_effect(witt)
    assert found is not None
    measure, effect = found
    assert measure == "SMD"
    assert effect.yi > 0  # 26.9 with acupuncture vs 35.8 with minimal acupuncture (lower = better)


def test_rates_without_arm_sizes_have_no_effect_size() -> None:
    scharf = next(c for c in load_evidence().comparisons if c.id == "scharf2006_usual")
    assert comparison_effect(scharf) is None
