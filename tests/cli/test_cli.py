"""The command line: JSON in, JSON out, exit 2 with the field named on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from acuknee.cli import app

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
runner = CliRunner()


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_screen_of_septic_arthritis_example_refers_as_an_emergency() -> None:
    code, out, _ = run("screen", str(EXAMPLES / "intake-septic-arthritis.json"))
    assert code == 0
    referrals = json.loads(out)["referrals"]
    assert any(r["urgency"] == "emergency" for r in referrals)


def test_plan_of_septic_arthritis_example_is_refused_with_reasons() -> None:
    code, out, _ = run("plan", str(EXAMPLES / "intake-septic-arthritis.json"))
    assert code == 0
    plan = json.loads(out)
    assert plan["status"] == "refused"
    assert plan["refusal_reasons"]
    assert plan["points"] == []


def test_plan_reads_the_intake_from_stdin_and_dates_the_schedule() -> None:
    intake = (EXAMPLES / "intake-knee-oa.json").read_text()
    code, out, _ = run("plan", "-", "--start", "2026-12-01", stdin=intake)
    assert code == 0
    plan = json.loads(out)
    assert plan["status"] == "proposed"
    assert plan["schedule"][0]["date"] == "2026-12-01"


def test_plan_rejects_a_start_that_is_not_a_date() -> None:
    code, _, err = run("plan", str(EXAMPLES / "intake-knee-oa.json"), "--start", "01/12/2026")
    assert code == 2
    assert "--start" in err


def test_invalid_json_exits_2_with_line_and_column() -> None:
    code, _, err = run("screen", "-", stdin='{"age": 60,,}')
    assert code == 2
    assert "line 1" in err
    assert "Traceback" not in err


def test_unknown_intake_field_exits_2_naming_the_field() -> None:
    code, _, err = run(
        "assess",
        "-",
        stdin='{"age": 60, "side": "left", "duration_weeks": 3, "sex": "f", "knee": 1}',
    )
    assert code == 2
    assert "sex" in err
    assert "knee" in err


def test_out_of_range_age_exits_2_naming_the_field() -> None:
    code, _, err = run("screen", "-", stdin='{"age": 160, "side": "left", "duration_weeks": 3}')
    assert code == 2
    assert "age" in err


def test_missing_file_exits_2_naming_the_file() -> None:
    code, _, err = run("screen", "no-such-file.json")
    assert code == 2
    assert "no-such-file.json" in err


def test_score_rejects_an_out_of_range_koos_item_naming_it() -> None:
    code, _, err = run("score", "koos", "-", stdin='{"P1": 7}')
    assert code == 2
    assert "P1" in err


def test_score_rejects_an_unknown_instrument() -> None:
    code, _, err = run("score", "womac", "-", stdin="{}")
    assert code == 2
    assert "womac" in err


def test_score_rejects_answers_that_are_not_an_object() -> None:
    code, _, err = run("score", "koos", "-", stdin="[1, 2]")
    assert code == 2
    assert "object" in err


def test_score_of_example_koos_answers_gives_the_five_subscales() -> None:
    code, out, _ = run("score", "koos", str(EXAMPLES / "answers-koos.json"))
    assert code == 0
    result = json.loads(out)
    assert set(result["subscales"]) == {"pain", "symptoms", "adl", "sport_rec", "qol"}
    assert all(isinstance(result[k], float) for k in result["subscales"])


def test_score_gives_null_for_a_koos_subscale_with_too_few_answers() -> None:
    code, out, _ = run("score", "koos", "-", stdin='{"P1": 1, "P2": 1, "P3": 1, "P4": 1}')
    assert code == 0
    result = json.loads(out)
    assert result["pain"] is None
    assert result["subscales"]["pain"]["answered"] == 4


def test_points_lists_st35_as_the_lateral_knee_eye() -> None:
    code, out, _ = run("points", "st35")
    assert code == 0
    assert json.loads(out)["code"] == "ST35"


def test_points_rejects_an_unknown_code() -> None:
    code, _, err = run("points", "XX99")
    assert code == 2
    assert "XX99" in err


def test_protocols_lists_every_protocol_with_sources() -> None:
    code, out, _ = run("protocols")
    assert code == 0
    protocols = json.loads(out)
    assert len(protocols) >= 6
    assert all(p["source"] for p in protocols)


@pytest.mark.parametrize("name", ["intake", "course", "stricta", "session", "answers-koos"])
def test_schema_prints_a_json_schema(name: str) -> None:
    code, out, _ = run("schema", name)
    assert code == 0
    schema = json.loads(out)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["type"] == "object"


def test_schema_rejects_an_unknown_name() -> None:
    code, _, err = run("schema", "nothing")
    assert code == 2
    assert "nothing" in err


def test_pretty_plan_is_readable_text_not_json() -> None:
    code, out, _ = run(
        "plan", str(EXAMPLES / "intake-knee-oa.json"), "--start", "2026-12-01", "--pretty"
    )
    assert code == 0
    assert not out.lstrip().startswith("{")
    assert "ST36" in out


def test_an_integer_too_long_for_python_exits_2_not_a_traceback() -> None:
    code, _, err = run("score", "koos", "-", stdin='{"P1": ' + "9" * 5000 + "}")
    assert code == 2
    assert "Traceback" not in err
