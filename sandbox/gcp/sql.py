"""The small, documented set of GoogleSQL query shapes the BigQuery emulator answers.

This is not a SQL engine. A query is::

    SELECT <items> FROM `[project.]dataset.table` [WHERE <cond> [AND <cond>]...]
      [GROUP BY <ordinals|names>] [ORDER BY <ordinal|name> [ASC|DESC], ...] [LIMIT n]

``<items>`` is either ``*`` (rows, in table order; no ORDER BY) or a list of *keys* and
*aggregates*, each optionally ``AS alias`` (case and spacing are free; the UNNEST alias may
be any name):

keys        invoice.month | cost_type | service.id | service.description | project.id |
            DATE(_PARTITIONTIME) | _PARTITIONDATE | DATE(export_time)
aggregates  COUNT(*) | SUM(cost) | SUM(CAST(cost AS NUMERIC)) | SUM(CAST(cost * 1000000 AS INT64)) |
            SUM(IFNULL((SELECT SUM(c.amount) FROM UNNEST(credits) c), 0))   (also with
            CAST(c.amount AS NUMERIC) or CAST(c.amount * 1000000 AS INT64) inside) |
            MAX(export_time) | MIN(export_time) | a sum of aggregates joined by '+'
conditions  invoice.month = 'YYYYMM' | invoice.month IN ('YYYYMM', ...) | cost_type = / IN |
            _PARTITIONTIME, DATE(_PARTITIONTIME), _PARTITIONDATE, export_time with = < <= > >=
            against 'literal', DATE 'x', TIMESTAMP 'x', DATE('x') or TIMESTAMP('x')

That covers Google's invoice-reconciliation query (SUM(cost) + credits per invoice.month,
float and exact-NUMERIC variants), Koku's "max(export_time) per partition" version probe, and
``SELECT *`` extraction of a month or partition. Anything else is a 400 invalidQuery naming
this list. FLOAT results are exact decimal text (no float noise).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Callable

from sandbox.gcp.rows import PROJECTS, SERVICES, Core
from sandbox.gcp.table import DAY_US, RowFilter

SHAPES_HINT = "see sandbox/gcp/sql.py for the supported query shapes"


class QueryError(ValueError):
    pass


def _date_of(us: int) -> str:
    return dt.datetime.fromtimestamp(us / 1e6, dt.timezone.utc).strftime("%Y-%m-%d")


KEYS: dict[str, tuple[str, str, Callable[[Core], str]]] = {  # normalized expr: (default name, type, getter)
    "invoice.month": ("month", "STRING", lambda c: c.month),
    "cost_type": ("cost_type", "STRING", lambda c: c.cost_type),
    "service.id": ("id", "STRING", lambda c: SERVICES[c.service][0]),
    "service.description": ("description", "STRING", lambda c: SERVICES[c.service][1]),
    "project.id": ("id", "STRING", lambda c: PROJECTS[c.project][0]),
    "date(_partitiontime)": ("f_", "DATE", lambda c: _date_of(c.export_us)),
    "_partitiondate": ("_partitiondate", "DATE", lambda c: _date_of(c.export_us)),
    "date(export_time)": ("f_", "DATE", lambda c: _date_of(c.export_us)),
}
_CREDIT = "sum(ifnull((select sum({}) from unnest(credits) c),0))"
AGGREGATES: dict[str, tuple[str, str]] = {  # normalized expr: (measure, output type)
    "count(*)": ("count", "INTEGER"),
    "sum(cost)": ("cost", "FLOAT"),
    "sum(cast(cost as numeric))": ("cost", "NUMERIC"),
    "sum(cast(cost*1000000 as int64))": ("cost", "INTEGER"),
    _CREDIT.format("c.amount"): ("credits", "FLOAT"),
    _CREDIT.format("cast(c.amount as numeric)"): ("credits", "NUMERIC"),
    _CREDIT.format("cast(c.amount*1000000 as int64)"): ("credits", "INTEGER"),
    "max(export_time)": ("max_export", "TIMESTAMP"),
    "min(export_time)": ("min_export", "TIMESTAMP"),
}


@dataclass
class Item:
    name: str
    type: str
    key: Callable[[Core], str] | None = None  # keys
    measures: list[str] = field(default_factory=list)  # aggregates (summed when several)


@dataclass
class ParsedQuery:
    table: tuple[str | None, str, str]
    star: bool
    items: list[Item]
    filter: RowFilter
    order: list[tuple[int, bool]]  # (item index, descending)
    limit: int | None


def _top_level(text: str) -> list[tuple[int, str]]:
    """(position, char) of characters outside quotes and parentheses."""
    out, depth, quote = [], 0, ""
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"`":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0:
            out.append((i, ch))
    return out


def _split(text: str, sep: str) -> list[str]:
    """Split on a top-level separator (',' or a keyword such as ' and ')."""
    top = {i for i, _ in _top_level(text)}
    parts, start, lower = [], 0, text.lower()
    i = 0
    while i < len(text):
        if i in top and lower.startswith(sep, i) and all(j in top for j in range(i, i + len(sep))):
            parts.append(text[start:i])
            start = i = i + len(sep)
            continue
        i += 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


_CLAUSES = ("select", "from", "where", "group by", "order by", "limit")


def _clauses(sql: str) -> dict[str, str]:
    """Top-level clauses of the statement, keyed by keyword (lowercase)."""
    text = " " + re.sub(r"\s+", " ", sql.strip().rstrip(";").strip()) + " "
    top = {i for i, _ in _top_level(text)}
    lower, marks = text.lower(), []
    for clause in _CLAUSES:
        probe = f" {clause} "
        pos = next((i for i in sorted(top) if lower.startswith(probe, i)), None)
        if pos is not None:
            marks.append((pos, clause, len(probe)))
    marks.sort()
    out = {}
    for n, (pos, clause, width) in enumerate(marks):
        end = marks[n + 1][0] if n + 1 < len(marks) else len(text)
        out[clause] = text[pos + width - 1 : end].strip()
    if "select" not in out or "from" not in out:
        raise QueryError(f"expected SELECT ... FROM `dataset.table` ...; got {sql[:120]!r}; {SHAPES_HINT}")
    return out


def normalize(expr: str) -> str:
    """Lowercase, no optional spaces, UNNEST alias renamed to 'c', outer parentheses removed."""
    text = re.sub(r"\s+", " ", expr.strip().lower())
    text = re.sub(r"\s*([(,*+=<>])\s*", r"\1", text)
    text = re.sub(r"\s+\)", ")", text)  # keep the space after ')' so ') from' stays two words
    m = re.search(r"unnest\(credits\)(?: as)? (\w+)", text)
    if m and m.group(1) != "c":
        text = re.sub(rf"\b{m.group(1)}\.amount\b", "c.amount", text)
    text = re.sub(r"unnest\(credits\)(?: as)? \w+", "unnest(credits) c", text)
    while _wrapped(text):
        text = text[1:-1]
    return text


def _wrapped(text: str) -> bool:
    """True when the first '(' closes at the last character: '(a+b)' yes, '(a)+(b)' no."""
    if not (text.startswith("(") and text.endswith(")")):
        return False
    depth = 0
    for i, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if depth == 0:
            return i == len(text) - 1
    return False


def parse(sql: str) -> ParsedQuery:
    parts = _clauses(sql)
    table = _table(parts["from"])
    flt = _where(parts.get("where", ""))
    limit = int(parts["limit"]) if parts.get("limit", "").isdigit() else None
    if parts["select"].strip() == "*":
        if "group by" in parts or "order by" in parts:
            raise QueryError(f"expected SELECT * without GROUP BY / ORDER BY (rows come in table order); {SHAPES_HINT}")
        return ParsedQuery(table, True, [], flt, [], limit)
    items = [_item(text, n) for n, text in enumerate(_split(parts["select"], ","))]
    has_keys = any(i.key for i in items)
    if has_keys and any(i.measures for i in items) and "group by" not in parts:
        raise QueryError("SELECT list mixes keys and aggregates without GROUP BY; add GROUP BY over the keys")
    return ParsedQuery(table, False, items, flt, _order(parts.get("order by", ""), items), limit)


def _table(text: str) -> tuple[str | None, str, str]:
    names = text.strip().strip("`").split(".")
    if len(names) == 2:
        return None, names[0], names[1]
    if len(names) == 3:
        return names[0], names[1], names[2]
    raise QueryError(f"expected FROM `project.dataset.table` or `dataset.table`, got {text!r}")


def _item(text: str, n: int) -> Item:
    m = re.match(r"^(.*?)(?:\s+(?:as\s+)?([A-Za-z_]\w*))?$", text.strip(), re.IGNORECASE | re.DOTALL)
    expr, alias = (m.group(1), m.group(2)) if m else (text, None)
    norm = normalize(expr)
    if norm in KEYS:
        name, kind, getter = KEYS[norm]
        return Item(alias or (name if name != "f_" else f"f{n}_"), kind, key=getter)
    terms = [normalize(t) for t in _split(norm, "+")]
    if all(t in AGGREGATES for t in terms):
        kinds = {AGGREGATES[t][1] for t in terms}
        measures = [AGGREGATES[t][0] for t in terms]
        if len(terms) > 1 and not set(measures) <= {"cost", "credits"}:
            raise QueryError(f"expected '+' only between cost/credit sums, got {expr!r}")
        kind = "NUMERIC" if "NUMERIC" in kinds else kinds.pop() if len(kinds) == 1 else "FLOAT"
        return Item(alias or f"f{n}_", kind, measures=measures)
    raise QueryError(f"unsupported select expression {expr.strip()!r}; {SHAPES_HINT}")


def _order(text: str, items: list[Item]) -> list[tuple[int, bool]]:
    out = []
    for part in _split(text, ",") if text else []:
        m = re.match(r"^(.+?)(?:\s+(asc|desc))?$", part.strip(), re.IGNORECASE)
        ref, desc = m.group(1).strip(), (m.group(2) or "").lower() == "desc"
        if ref.isdigit() and 1 <= int(ref) <= len(items):
            out.append((int(ref) - 1, desc))
            continue
        idx = next((k for k, it in enumerate(items) if it.name.lower() == ref.lower()), None)
        if idx is None:
            raise QueryError(f"expected ORDER BY an ordinal or select alias, got {ref!r}")
        out.append((idx, desc))
    return out


_LITERAL = re.compile(r"^(?:(date|timestamp)\s*\(?\s*)?'([^']*)'\s*\)?$", re.IGNORECASE)


def _literal_us(text: str) -> int:
    m = _LITERAL.match(text.strip())
    if not m:
        raise QueryError(f"expected a quoted date/timestamp literal, got {text!r}")
    value = m.group(2).strip().replace(" UTC", "").replace("Z", "+00:00")
    parsed = dt.datetime.fromisoformat(value if "T" in value or ":" in value else value + "T00:00:00")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return int(parsed.timestamp()) * 1_000_000 + parsed.microsecond


def _where(text: str) -> RowFilter:
    flt = RowFilter()
    for cond in _split(text, " and ") if text else []:
        m = re.match(r"^(.+?)\s*(>=|<=|=|<|>|\s+in\s+)\s*(.+)$", cond, re.IGNORECASE | re.DOTALL)
        if not m:
            raise QueryError(f"unsupported condition {cond!r}; {SHAPES_HINT}")
        lhs, op, rhs = normalize(m.group(1)), m.group(2).strip().lower(), m.group(3).strip()
        if lhs in ("invoice.month", "cost_type"):
            values = set(re.findall(r"'([^']*)'", rhs))
            if op not in ("=", "in") or not values:
                raise QueryError(f"expected {lhs} = 'x' or IN ('x', ...), got {cond!r}")
            attr = "months" if lhs == "invoice.month" else "cost_types"
            current = getattr(flt, attr)
            setattr(flt, attr, values if current is None else current & values)
        elif lhs in ("_partitiontime", "date(_partitiontime)", "_partitiondate", "export_time", "date(export_time)"):
            _bound(flt, op, _literal_us(rhs), DAY_US if lhs != "export_time" else 1)
        else:
            raise QueryError(f"unsupported condition on {m.group(1).strip()!r}; {SHAPES_HINT}")
    return flt


def _bound(flt: RowFilter, op: str, at: int, unit: int) -> None:
    """Partition predicates compare whole days (unit = 1 day); export_time compares micros."""
    lo, hi = {"=": (at, at + unit), ">=": (at, None), ">": (at + unit, None), "<": (None, at), "<=": (None, at + unit)}[op]
    if lo is not None:
        flt.export_lo = lo if flt.export_lo is None else max(flt.export_lo, lo)
    if hi is not None:
        flt.export_hi = hi if flt.export_hi is None else min(flt.export_hi, hi)
