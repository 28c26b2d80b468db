"""What the ILS should hold for a catalog batch: read the stored MARC of the records the
batch touched (`catalog.record_versions.marc` of each live record's current version) and
map it (mapping.py, holdings_map.py).

A MARC Holdings record's bib is found by its 004 among the catalog's control keys; that
bib's instance is pushed with it (even when another batch wrote the bib), so a holding
never points at an instance the ILS lacks. An identity met twice (a barcode on two
records) keeps its first record, in record order, and the others become problems.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from include.ingest.catalog.iso2709 import decode_record
from include.ingest.ils.holdings_map import from_bib, from_mfhd, mfhd_link
from include.ingest.ils.mapping import Doc, MappingConfig, instance_doc
from include.ingest.ils.marcview import record_kind


@dataclass
class Wanted:
    instances: list[Doc] = field(default_factory=list)
    holdings: list[Doc] = field(default_factory=list)
    items: list[Doc] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    records: int = 0

    def add(self, docs: list[Doc], seen: dict[str, int]) -> None:
        for doc in docs:
            key = f"{doc.kind}:{doc.identity}"
            if key in seen:
                if seen[key] != doc.record_id:
                    self.problems.append(f"{doc.kind} {doc.identity} of record {doc.record_id} "
                                         f"is already record {seen[key]}'s; kept that one")
                continue
            seen[key] = doc.record_id
            getattr(self, doc.kind).append(doc)


def batch_record_ids(conn: psycopg.Connection, batch_id: str) -> list[int]:
    rows = conn.execute("SELECT DISTINCT record_id FROM catalog.record_results WHERE batch_id = %s "
                        "AND record_id IS NOT NULL ORDER BY record_id", (batch_id,)).fetchall()
    return [r[0] for r in rows]


def current_marc(conn: psycopg.Connection, record_ids: list[int]) -> list[tuple[int, dict]]:
    """(record_id, MARC-in-JSON) of each live MARC record among `record_ids`, in id order."""
    rows = conn.execute(
        "SELECT r.record_id, v.marc FROM catalog.records r JOIN catalog.record_versions v "
        "ON v.record_id = r.record_id AND v.version = r.current_version "
        "WHERE r.record_id = ANY(%s) AND v.marc IS NOT NULL ORDER BY r.record_id",
        (record_ids,)).fetchall()
    return [(rid, decode_record(bytes(marc), "utf-8")[0]) for rid, marc in rows]


def _bibs_by_control(conn: psycopg.Connection, links: set[str]) -> dict[str, int]:
    if not links:
        return {}
    rows = conn.execute("SELECT value, min(record_id) FROM catalog.record_keys WHERE kind = 'control' "
                        "AND value = ANY(%s) GROUP BY value", (sorted(links),)).fetchall()
    return dict(rows)


def wanted(conn: psycopg.Connection, record_ids: list[int], cfg: MappingConfig) -> Wanted:
    """Every instance, holding and item the ILS should hold for these catalog records."""
    records = current_marc(conn, record_ids)
    conn.commit()
    out, seen = Wanted(records=len(records)), {}
    mfhds = [(rid, c) for rid, c in records if record_kind(c) == "holdings"]
    bibs = {rid: c for rid, c in records if record_kind(c) == "bib"}
    links = {rid: mfhd_link(c) for rid, c in mfhds}
    owners = _bibs_by_control(conn, {v for v in links.values() if v})
    missing = sorted(set(owners.values()) - set(bibs))
    bibs.update(dict(current_marc(conn, missing)))  # bibs of this batch's MFHDs written earlier
    conn.commit()
    for rid, content in sorted(bibs.items()):
        instance = instance_doc(rid, content, cfg)
        out.add([instance], seen)
        if rid in record_ids:
            mapped = from_bib(rid, content, instance.ils_id, cfg)
            out.add(mapped.holdings + mapped.items, seen)
            out.problems += [f"record {rid}: {p}" for p in mapped.problems]
    for rid, content in mfhds:
        owner = owners.get(links[rid] or "")
        if owner is None or owner not in bibs:
            out.problems.append(f"record {rid}: MARC Holdings 004 {links[rid]!r}: expected a "
                                f"bibliographic record with that control number, got none; skipped")
            continue
        instance_id = cfg.ils_id("instances", f"record:{owner}")
        mapped = from_mfhd(rid, content, instance_id, cfg)
        out.add(mapped.holdings + mapped.items, seen)
        out.problems += [f"record {rid}: {p}" for p in mapped.problems]
    return out
