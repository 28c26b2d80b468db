"""Fault plan: spec parsing, firing rules, determinism by seed."""
from __future__ import annotations

import json

import pytest

from sandbox.faults import FaultPlan, FaultSpecError, parse_spec


def _fired(plan: FaultPlan, endpoint: str, n: int, tenant: str | None = None) -> list[int]:
    return [k for k in range(1, n + 1) if plan.decide(endpoint, tenant) is not None]


def test_spec_string_parses_every_option():
    rules, seed = parse_spec("azure.query:429:rate=0.3:retry_after=2;gcp.*:reset:nth=2,4:fraction=0.25;aws.get:slow:delay=0.5:first=3:max=2")
    assert seed is None and [r.fault for r in rules] == ["429", "reset", "slow"]
    assert rules[0].rate == 0.3 and rules[0].retry_after == "2"
    assert rules[1].nth == (2, 4) and rules[1].fraction == 0.25
    assert rules[2].delay == 0.5 and rules[2].first == 3 and rules[2].max == 2


def test_json_and_file_specs(tmp_path):
    doc = {"seed": 11, "rules": [{"endpoint": "gcp.query", "fault": "incomplete", "first": 1}]}
    rules, seed = parse_spec(json.dumps(doc))
    assert seed == 11 and rules[0].fault == "incomplete"
    path = tmp_path / "faults.json"
    path.write_text(json.dumps(doc))
    assert parse_spec(f"@{path}")[1] == 11
    assert parse_spec({"spec": "aws.list:repeat-token"})[0][0].fault == "repeat-token"


@pytest.mark.parametrize("spec, message", [
    ("azure.query", "expected 'endpoint:fault"),
    ("azure.query:teapot", "expected fault one of"),
    ("azure.query:429:often=1", "expected option one of"),
    ("azure.query:429:rate=2", "expected rate in [0, 1]"),
    ([{"endpoint": "x", "fault": "500", "colour": "red"}], "unknown ['colour']"),
])
def test_bad_specs_say_what_was_expected(spec, message):
    with pytest.raises(FaultSpecError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_spec(spec)


def test_nth_first_max_and_always():
    plan = FaultPlan(1, "a:500:nth=2,5")
    assert _fired(plan, "a", 6) == [2, 5]
    plan.set("a:503:first=2")
    assert _fired(plan, "a", 4) == [1, 2]
    plan.set("a:502:max=3")
    assert _fired(plan, "a", 5) == [1, 2, 3]
    plan.set("a:429")
    assert _fired(plan, "a", 3) == [1, 2, 3]
    assert plan.decide("b") is None


def test_glob_tenant_and_first_matching_rule_wins():
    plan = FaultPlan(1, [{"endpoint": "azure.*", "fault": "429", "tenant": "t1"}, {"endpoint": "azure.query", "fault": "500"}])
    assert plan.decide("azure.query", "t1").kind == "429"
    assert plan.decide("azure.query", "t2").kind == "500"
    assert plan.decide("azure.token", "t2") is None


def test_rate_is_deterministic_by_seed():
    def pattern(seed: int) -> list[int]:
        return _fired(FaultPlan(seed, "x:500:rate=0.3"), "x", 200)

    assert pattern(7) == pattern(7)
    assert pattern(7) != pattern(8)
    assert 30 <= len(pattern(7)) <= 90


def test_append_mode_and_json_view():
    plan = FaultPlan(3, "a:500")
    plan.set("b:reset", mode="append")
    view = plan.to_json()
    assert view["seed"] == 3 and [r["endpoint"] for r in view["rules"]] == ["a", "b"]
    with pytest.raises(FaultSpecError):
        plan.set("a:500", mode="merge")
    plan.clear()
    assert plan.to_json()["rules"] == []


def test_extra_row_rule_carries_its_period():
    rules, _ = parse_spec("gcp.*:extra-row:period=2024-02;azure.query:extra-row")
    assert [(r.fault, r.period) for r in rules] == [("extra-row", "2024-02"), ("extra-row", None)]
    plan = FaultPlan(1, rules)
    one, every = plan.decide("gcp.tabledata"), plan.decide("azure.query")
    assert (one.kind, one.period) == ("extra-row", "2024-02")
    assert one.covers("2024-02") and not one.covers("2024-01")
    assert every.covers("2024-01") and every.covers("2031-12")
    assert plan.to_json()["rules"][0]["period"] == "2024-02"


@pytest.mark.parametrize("period", ["2024-13", "202402", "2024-2", "Feb"])
def test_extra_row_period_must_be_a_month(period):
    with pytest.raises(FaultSpecError, match=r"expected period as YYYY-MM"):
        parse_spec(f"gcp.query:extra-row:period={period}")
