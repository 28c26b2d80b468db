"""Goldens: exact Decimal sums, blanks skipped, JSON with strings, lazy registry."""
from __future__ import annotations

from decimal import Decimal

from sandbox.golden import GoldenRegistry, GoldenSlice, decimal_text, sum_decimals
from sandbox.jsonio import dumps_exact


def test_sums_are_exact_and_blanks_do_not_count_as_zero():
    g = GoldenSlice("p", "acct", "2024-01", "v1", 0, ("a", "b"))
    for _ in range(10):
        g.add({"a": Decimal("0.1"), "b": None})
    g.add({"a": Decimal("1E-10"), "b": Decimal("-3.5")})
    assert g.rows == 11
    assert g.sums == {"a": Decimal("1.0000000001"), "b": Decimal("-3.5")}
    data = g.to_json()
    assert data["sums"] == {"a": "1.0000000001", "b": "-3.5"} and data["version"] == "v1"


def test_decimal_text_and_exact_json_never_use_exponents_or_float():
    assert decimal_text(Decimal("1E-10")) == "0.0000000001"
    assert dumps_exact({"x": [Decimal("19.54536367"), 1, "s", None]}) == '{"x":[19.54536367,1,"s",null]}'
    assert sum_decimals([Decimal("0.1")] * 3) == Decimal("0.3")


def test_registry_lazy_and_latest():
    reg = GoldenRegistry()
    calls = []

    def factory():
        calls.append(1)
        return GoldenSlice("p", "a", "2024-01", "v1", 1, ("c",))

    reg.put(GoldenSlice("p", "a", "2024-01", "v0", 0, ("c",)))
    reg.put_lazy("p", "a", "2024-01", 1, factory)
    assert calls == []
    assert [g.version for g in reg.find(provider="p")] == ["v0", "v1"]
    assert [g.version for g in reg.find(latest=True)] == ["v1"]
    reg.find()
    assert calls == [1]  # computed once, then kept
