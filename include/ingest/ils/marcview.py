"""Read-only helpers over MARC-in-JSON (`{"leader", "fields": [{tag: value | {ind1, ind2,
subfields: [{code: value}]}}]}`, what `catalog.iso2709.decode_record` builds)."""
from __future__ import annotations

from collections.abc import Iterator

HOLDINGS_TYPES = frozenset("uvxy")  # leader/06 of a MARC Holdings record


def record_kind(content: dict) -> str:
    """'holdings' for a MARC Holdings record (leader/06 u v x y), else 'bib'."""
    leader = content.get("leader") or ""
    return "holdings" if len(leader) > 6 and leader[6] in HOLDINGS_TYPES else "bib"


def control(content: dict, tag: str) -> str | None:
    """The value of the first control field `tag` (001–009), stripped; None when absent."""
    for field in content.get("fields", ()):
        value = field.get(tag)
        if isinstance(value, str):
            return value.strip() or None
    return None


def data_fields(content: dict, tag: str) -> Iterator[dict]:
    for field in content.get("fields", ()):
        value = field.get(tag)
        if isinstance(value, dict):
            yield value


def subfield(field: dict, code: str) -> str | None:
    """The first subfield `code`, stripped; None when absent or blank."""
    for sub in field.get("subfields", ()):
        if code in sub:
            return (sub[code] or "").strip() or None
    return None


def subfields(field: dict, code: str) -> list[str]:
    return [(s[code] or "").strip() for s in field.get("subfields", ()) if code in s and (s[code] or "").strip()]


def joined(field: dict, codes: str, sep: str = " ") -> str | None:
    """The subfields of `codes`, in field order, joined; None when none is there."""
    parts = [(v or "").strip() for s in field.get("subfields", ()) for c, v in s.items()
             if c in codes and (v or "").strip()]
    return sep.join(parts) or None


def control_key(content: dict) -> str | None:
    """001 scoped by 003 as the catalog's keys write it (`003/001`, or `001` alone)."""
    f001, f003 = control(content, "001"), control(content, "003")
    return (f"{f003}/{f001}" if f003 else f001) if f001 else None
