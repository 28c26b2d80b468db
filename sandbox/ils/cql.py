"""CQL-lite: the query subset FOLIO clients use against inventory storage.

Grammar (clauses joined by `and`; one optional `sortBy`):

    field == "value"            exact match (quotes optional)
    field == (a or b or c)      any of the values (what a client builds for a page of ids)
    field = "value"             treated as exact here (FOLIO: word match)
    field > "value"             string comparison (keyset paging: `id > "x" sortBy id`)
    cql.allRecords=1            every record
    ... sortBy field[/sort.descending]

Fields may be dotted (`status.name`). Anything else raises CqlError, which the server
answers like RMB: 400 text/plain "unable to list … malformed parameter 'query'".
"""
from __future__ import annotations

import re
from typing import Any, Callable

_CLAUSE = re.compile(r'\s*([\w.]+)\s*(==|=|<>|>=|<=|>|<)\s*(\((?:[^()]*)\)|"(?:[^"\\]|\\.)*"|[^\s()]+)\s*')
_SORT = re.compile(r"\s+sortBy\s+([\w.]+)(/sort\.(?:ascending|descending))?\s*$", re.IGNORECASE)


class CqlError(ValueError):
    pass


def _value(raw: str) -> str:
    return raw[1:-1].replace('\\"', '"') if raw.startswith('"') else raw


def _field(record: dict, path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def parse(query: str | None) -> tuple[Callable[[dict], bool], tuple[str, bool] | None]:
    """(predicate over a record, (sort field, descending) or None)."""
    text = (query or "").strip()
    sort = None
    m = _SORT.search(" " + text)
    if m:
        sort = (m.group(1), (m.group(2) or "").endswith("descending"))
        text = (" " + text)[: m.start()].strip()
    if not text or text.replace(" ", "") == "cql.allRecords=1":
        return (lambda r: True), sort
    tests = []
    for pos, part in enumerate(re.split(r"\s+and\s+", text, flags=re.IGNORECASE)):
        m = _CLAUSE.fullmatch(part)
        if not m:
            raise CqlError(f"malformed parameter 'query', syntax error at clause {pos + 1}: {part!r}")
        field, op, raw = m.groups()
        if raw.startswith("("):
            if op not in ("==", "="):
                raise CqlError(f"malformed parameter 'query': a value list needs ==, got {op}")
            options = {_value(v.strip()) for v in re.split(r"\s+or\s+", raw[1:-1].strip()) if v.strip()}
            tests.append(lambda r, f=field, o=options: str(_field(r, f)) in o)
            continue
        value = _value(raw)
        compare = {"==": lambda a, b: a == b, "=": lambda a, b: a == b, "<>": lambda a, b: a != b,
                   ">": lambda a, b: a > b, "<": lambda a, b: a < b,
                   ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b}[op]
        tests.append(lambda r, f=field, v=value, c=compare: _field(r, f) is not None
                     and c(str(_field(r, f)), v))
    return (lambda r: all(t(r) for t in tests)), sort


def select(records: list[dict], query: str | None, offset: int, limit: int) -> tuple[list[dict], int]:
    """The page [offset, offset+limit) of the matching records, and how many match."""
    predicate, sort = parse(query)
    found = [r for r in records if predicate(r)]
    if sort:
        field, descending = sort
        found.sort(key=lambda r: str(_field(r, field) or ""), reverse=descending)
    return found[offset: offset + limit], len(found)
