"""Fault plan: which request of which endpoint fails, and how. Deterministic by seed.

A plan is an ordered list of rules. For each request, the first rule whose ``endpoint`` glob
matches (and whose optional ``tenant`` matches) and that *fires* decides the fault. A rule
counts the requests it matched (its ordinal n = 1, 2, ...) and fires when:

- ``nth`` lists n, or
- n <= ``first``, or
- ``rate`` is set and unit(seed, rule index, n) < rate  (same seed -> same requests fail), or
- none of nth / first / rate is given (every matching request),
and it has fired fewer than ``max`` times (when ``max`` is given).

Spec string (CLI ``--faults``): rules separated by ';', fields by ':' ::

    azure.query:429:rate=0.3:retry_after=2;gcp.tabledata:reset:nth=2,4;aws.get:slow:delay=0.5

JSON (admin endpoint, Python API): ``{"seed": 7, "rules": [{"endpoint": "azure.query",
"fault": "429", "first": 2, "retry_after": 3}]}`` or just the list of rules. A spec that
starts with '@' names a JSON or spec file.

``extra-row`` is a data fault: the request it fires on lists one row more of the month
(``period=YYYY-MM``, default every month) than the provider's declared totals count
(aggregate queries, export manifest ``dataRowCount``, goldens stay true). Give it no
nth / first / rate so every read sees the same data, and put it after status rules for
the same endpoint (the first rule that fires decides). Where it acts: azure/extra_row.py,
gcp/extra_row.py.
"""
from __future__ import annotations

import fnmatch
import json
import re
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sandbox.detrand import unit

STATUS_FAULTS = {"403", "429", "429-bare", "500", "502", "503"}
BODY_FAULTS = {"reset", "truncate"}
PAGE_FAULTS = {"repeat-token", "restate", "incomplete"}
DATA_FAULTS = {"extra-row"}
# ILS: "edit-conflict" = a librarian changes the record a write carries just before it is
# applied (it really changes: the write then meets FOLIO's 409); "expire-token" = every
# access token expires now (the request gets 401); "stall-after-write" = the write is applied,
# then the answer waits `delay` seconds (a client killed meanwhile never learns it succeeded:
# the crash window between the ILS's commit and ours). Where they act: ils/server.py.
ILS_FAULTS = {"edit-conflict", "expire-token", "stall-after-write"}
FAULT_KINDS = STATUS_FAULTS | BODY_FAULTS | PAGE_FAULTS | DATA_FAULTS | ILS_FAULTS | {"slow"}


class FaultSpecError(ValueError):
    """A fault spec that cannot be parsed; the message says what was expected."""


@dataclass
class FaultRule:
    """One rule; see the module docstring for when it fires."""

    endpoint: str
    fault: str
    rate: float | None = None
    nth: tuple[int, ...] = ()
    first: int | None = None
    max: int | None = None
    tenant: str | None = None
    retry_after: str = "1"  # seconds, or "http-date" for an HTTP-date one second ahead
    delay: float = 1.0  # seconds, for "slow"
    fraction: float = 0.5  # share of the body sent before "reset" / "truncate"
    period: str | None = None  # "extra-row": the month (YYYY-MM) that gets the row; None = every month
    seen: int = field(default=0, compare=False)
    fired: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.fault not in FAULT_KINDS:
            raise FaultSpecError(
                f"expected fault one of {sorted(FAULT_KINDS)}, got {self.fault!r}; fix the rule "
                f"for endpoint {self.endpoint!r}"
            )
        if self.rate is not None and not 0 <= self.rate <= 1:
            raise FaultSpecError(f"expected rate in [0, 1], got {self.rate!r}")
        if not 0 < self.fraction < 1:
            raise FaultSpecError(f"expected fraction in (0, 1), got {self.fraction!r}")
        if self.period is not None and not _MONTH.match(str(self.period)):
            raise FaultSpecError(f"expected period as YYYY-MM (e.g. 2024-01), got {self.period!r}")
        self.nth = tuple(int(n) for n in self.nth)
        self.retry_after = str(self.retry_after)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["nth"] = list(self.nth)
        return data


@dataclass(frozen=True)
class Fault:
    """A decided fault for one request (a copy of the rule's parameters)."""

    kind: str
    rule: int
    retry_after: str = "1"
    delay: float = 1.0
    fraction: float = 0.5
    period: str | None = None

    def covers(self, month: str) -> bool:
        """For "extra-row": does this fault put a row into ``month`` (YYYY-MM)?"""
        return self.period is None or self.period == month


_INT_FIELDS = {"first", "max"}
_FLOAT_FIELDS = {"rate", "delay", "fraction"}
_STR_FIELDS = {"tenant", "retry_after", "period"}
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def parse_rule_text(text: str) -> FaultRule:
    """Parse ``endpoint:fault[:key=value]...`` into a rule."""
    parts = [p.strip() for p in text.split(":")]
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise FaultSpecError(
            f"expected 'endpoint:fault[:key=value...]' (e.g. azure.query:429:first=2), got {text!r}"
        )
    kwargs: dict[str, Any] = {"endpoint": parts[0], "fault": parts[1]}
    for option in parts[2:]:
        key, sep, value = option.partition("=")
        if not sep:
            raise FaultSpecError(f"expected key=value in fault rule {text!r}, got {option!r}")
        if key == "nth":
            kwargs["nth"] = tuple(int(v) for v in value.split(",") if v)
        elif key in _INT_FIELDS:
            kwargs[key] = int(value)
        elif key in _FLOAT_FIELDS:
            kwargs[key] = float(value)
        elif key in _STR_FIELDS:
            kwargs[key] = value
        else:
            raise FaultSpecError(
                f"expected option one of nth, first, max, rate, delay, fraction, tenant, "
                f"retry_after, period in {text!r}, got {key!r}"
            )
    return FaultRule(**kwargs)


def parse_spec(spec: Any) -> tuple[list[FaultRule], int | None]:
    """Rules (and an optional seed) from a spec string, '@file', JSON text, dict or list."""
    if spec is None or spec == "":
        return [], None
    if isinstance(spec, str):
        text = spec.strip()
        if text.startswith("@"):
            text = Path(text[1:]).read_text()
        if text[:1] in "[{":
            return parse_spec(json.loads(text))
        return [parse_rule_text(r) for r in text.replace("\n", ";").split(";") if r.strip()], None
    if isinstance(spec, dict):
        rules = spec.get("rules", [])
        seed = spec.get("seed")
        if "spec" in spec:
            rules, _ = parse_spec(spec["spec"])
        parsed, _ = parse_spec(list(rules))
        return parsed, None if seed is None else int(seed)
    if isinstance(spec, list):
        out = []
        for item in spec:
            if isinstance(item, FaultRule):
                out.append(item)
            elif isinstance(item, str):
                out.append(parse_rule_text(item))
            elif isinstance(item, dict):
                allowed = set(FaultRule.__dataclass_fields__) - {"seen", "fired"}
                unknown = set(item) - allowed
                if unknown:
                    raise FaultSpecError(
                        f"expected rule fields among {sorted(allowed)}, got unknown {sorted(unknown)}"
                    )
                out.append(FaultRule(**item))
            else:
                raise FaultSpecError(f"expected a rule dict or string, got {type(item).__name__}")
        return out, None
    raise FaultSpecError(f"expected a fault spec string, dict or list, got {type(spec).__name__}")


class FaultPlan:
    """The live, thread-safe plan shared by every server of one sandbox."""

    def __init__(self, seed: int = 0, spec: Any = None) -> None:
        self._lock = threading.Lock()
        self.seed = seed
        self.rules: list[FaultRule] = []
        if spec:
            self.set(spec)

    def set(self, spec: Any, mode: str = "replace") -> None:
        """Replace (or, with mode='append', extend) the rules; counters restart."""
        if mode not in ("replace", "append"):
            raise FaultSpecError(f"expected mode 'replace' or 'append', got {mode!r}")
        rules, seed = parse_spec(spec)
        with self._lock:
            if seed is not None:
                self.seed = seed
            self.rules = (self.rules if mode == "append" else []) + rules

    def clear(self) -> None:
        with self._lock:
            self.rules = []

    def decide(self, endpoint: str, tenant: str | None = None) -> Fault | None:
        """The fault for this request of ``endpoint``, or None. Advances rule counters."""
        with self._lock:
            for index, rule in enumerate(self.rules):
                if not fnmatch.fnmatchcase(endpoint, rule.endpoint):
                    continue
                if rule.tenant is not None and rule.tenant != tenant:
                    continue
                rule.seen += 1
                n = rule.seen
                if rule.max is not None and rule.fired >= rule.max:
                    continue
                if rule.nth or rule.first is not None or rule.rate is not None:
                    fires = (
                        n in rule.nth
                        or (rule.first is not None and n <= rule.first)
                        or (rule.rate is not None and unit(self.seed, "fault", index, n) < rule.rate)
                    )
                else:
                    fires = True
                if fires:
                    rule.fired += 1
                    return Fault(rule.fault, index, rule.retry_after, rule.delay, rule.fraction, rule.period)
            return None

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {"seed": self.seed, "rules": [r.to_json() for r in self.rules]}
