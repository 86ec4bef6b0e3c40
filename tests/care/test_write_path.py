"""Every adapter writes a clinical record through the care layer: no module outside
``acuknee.care`` creates, updates, saves, versions or voids an intake, plan, session,
measurement or referral outcome (or an intake draft) itself."""

from __future__ import annotations

import ast
from pathlib import Path

import acuknee

CLINICAL_MODELS = {
    "IntakeRecord",
    "PlanRecord",
    "TreatmentSession",
    "Measurement",
    "ReferralOutcome",
    "TreatmentConsent",
    "SessionAmendment",
    "IntakeDraft",  # not a clinical record, but written in one place all the same
    "ReferralLetterText",
}
WRITES = {"create", "bulk_create", "update", "get_or_create", "update_or_create", "delete"}
RECORD_WRITES = {"save_versioned", "void"}
ROOT = Path(acuknee.__file__).parent


def _chain_root(node: ast.AST) -> str | None:
    """The name a call chain starts from (``Measurement`` in ``Measurement.objects.create``)."""
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def writes_outside_care() -> list[str]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("care/") or "/migrations/" in rel or rel == "records/models.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            name = node.func.attr
            if name in WRITES and _chain_root(node.func.value) in CLINICAL_MODELS:
                found.append(f"{rel}:{node.lineno} {_chain_root(node.func.value)}.….{name}()")
            elif name in RECORD_WRITES and _chain_root(node.func.value) != "services":
                found.append(f"{rel}:{node.lineno} ….{name}()")
    return found


def test_no_adapter_writes_a_clinical_record_except_through_the_care_layer() -> None:
    assert writes_outside_care() == []


def test_the_write_path_check_sees_a_direct_create(tmp_path: Path) -> None:
    """The check can fail: a direct create is reported."""
    tree = ast.parse("Measurement.objects.create(patient=p)")
    call = tree.body[0].value  # type: ignore[attr-defined]
    assert _chain_root(call.func.value) == "Measurement"
