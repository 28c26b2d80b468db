"""The one mapping from catalog MARC to FOLIO instances, holdings and items.

Pure functions of a record's MARC-in-JSON and a `MappingConfig` (README "ILS sync: the
mapping" documents every rule). Each output is a `Doc`: a stable *identity* (so a re-sync
updates instead of duplicating), the ILS id derived from it (uuid5, so a record created
before a crash is found again by id), the fields we own, and fields set only on create
(the ILS owns them afterwards, e.g. an item's circulation status).

Identities:
* instance — `record:<catalog record_id>`
* holding  — MARC Holdings record: `mfhd:<003/001>`; from a bib's 852 or item field:
  `record:<record_id>|<location>|<call number>` (one holding per location + call number)
* item     — `barcode:<barcode, casefolded>` (FOLIO's unique key); an item without
  barcode: `<holding identity>|<tag>#<n>` (its position: weaker, documented)
"""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field, fields, replace

from include.ingest.ils.marcview import control_key, data_fields, joined, record_kind, subfield

# Fields we own per kind: on update they replace the ILS's (absent = removed); every other
# field of the ILS record (hrid, notes, status, suppressions, …) is kept.
OWNED = {
    "instances": ("id", "title", "source", "instanceTypeId", "identifiers"),
    "holdings": ("id", "instanceId", "sourceId", "permanentLocationId", "callNumber",
                 "callNumberPrefix", "callNumberSuffix", "copyNumber", "holdingsStatements",
                 "formerIds"),
    "items": ("id", "holdingsRecordId", "barcode", "materialTypeId", "permanentLoanTypeId",
              "copyNumber", "enumeration", "chronology", "volume", "itemLevelCallNumber"),
}


@dataclass(frozen=True)
class ItemFieldSpec:
    """Which subfields of an embedded item field hold what (None: not carried)."""

    barcode: str | None
    location: str  # one or more codes, joined with "/" (e.g. Koha 952 $a home library)
    call_number: str | None = None
    copy: str | None = None
    enumeration: str | None = None
    chronology: str | None = None
    material_type: str | None = None


DEFAULT_ITEM_FIELDS = {
    # III / OCLC local item load (also what 61PRINT-style vendor records carry in 945)
    "949": ItemFieldSpec(barcode="i", location="l", call_number="a", copy="c", enumeration="v",
                         material_type="t"),
    "945": ItemFieldSpec(barcode="i", location="l", call_number="a", copy="g", enumeration="v",
                         material_type="t"),
    # Koha items: $a home library, $o call number, $p barcode, $t copy, $h enum/chron, $y type
    "952": ItemFieldSpec(barcode="p", location="a", call_number="o", copy="t", enumeration="h",
                         material_type="y"),
}


@dataclass(frozen=True)
class MappingConfig:
    """Every choice of the mapping; `from_json` overrides any of them (DAG param / env)."""

    namespace: str = "6b1d0c4e-0000-4000-8000-00000000f011"  # uuid5 namespace of ILS ids
    instance_type_id: str = "6312d172-f0cf-40f6-b27d-9fa8feaf332f"  # FOLIO "text"
    instance_source: str = "MARC"
    holdings_source_id: str = "036ee84a-6afd-4c3c-9ad3-4a12ab875f59"  # FOLIO "MARC"
    loan_type_id: str = "2b94c631-fca9-4892-a730-03ee529ffe27"  # "Can circulate"
    material_type_id: str = "1a54b431-2e4f-452d-9cae-9cee66c9a892"  # "book"
    initial_item_status: str = "Available"
    identifier_types: dict = field(default_factory=lambda: {
        "isbn": "8261054f-be78-422d-bd51-4ed9f33c3422", "oclc": "439bfbae-75bc-4f74-9fc7-b2a2d47ce3ef"})
    location_ids: dict = field(default_factory=dict)  # location code → UUID; else uuid5(code)
    material_type_ids: dict = field(default_factory=dict)  # item type code → UUID
    bib_call_number_fields: tuple = (("090", "ab"), ("050", "ab"), ("099", "a"))
    item_fields: dict = field(default_factory=lambda: dict(DEFAULT_ITEM_FIELDS))

    @classmethod
    def from_json(cls, overrides: dict | None) -> "MappingConfig":
        """Defaults with `overrides` applied; unknown keys are refused by name."""
        overrides = dict(overrides or {})
        known = {f.name for f in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise ValueError(f"expected mapping keys among {sorted(known)}, got {sorted(unknown)}")
        if "item_fields" in overrides:
            overrides["item_fields"] = {tag: ItemFieldSpec(**spec) for tag, spec in overrides["item_fields"].items()}
        if "bib_call_number_fields" in overrides:
            overrides["bib_call_number_fields"] = tuple(tuple(p) for p in overrides["bib_call_number_fields"])
        return replace(cls(), **overrides)

    def ils_id(self, kind: str, identity: str) -> str:
        return str(uuid.uuid5(uuid.UUID(self.namespace), f"{kind}:{identity}"))

    def location_id(self, code: str) -> str:
        return self.location_ids.get(code) or str(uuid.uuid5(uuid.UUID(self.namespace), f"location:{code}"))


@dataclass(frozen=True)
class Doc:
    """One record as the ILS should hold it."""

    kind: str  # instances | holdings | items
    identity: str
    fields: dict  # owned fields, "id" included
    create_only: dict
    record_id: int

    @property
    def ils_id(self) -> str:
        return self.fields["id"]

    @property
    def sha256(self) -> str:
        return content_sha256(self.fields)


def content_sha256(owned: dict) -> str:
    return hashlib.sha256(json.dumps(owned, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def project(kind: str, ils_record: dict) -> dict:
    """The owned fields of a record read from the ILS (to compare with a Doc)."""
    return {k: ils_record[k] for k in OWNED[kind] if k in ils_record and ils_record[k] not in (None, [], "")}


def merge(doc: Doc, ils_record: dict | None) -> dict:
    """The body to write: the ILS's record with our owned fields replacing its own (ours
    win, absent ones removed), its other fields kept, its `_version` carried; a new record
    also gets the create-only fields."""
    if ils_record is None:
        return {**doc.create_only, **doc.fields}
    body = {k: v for k, v in ils_record.items() if k not in OWNED[doc.kind] and k != "metadata"}
    return {**body, **doc.fields}


def _clean(d: dict) -> dict:
    return {k: v for k, v in d.items() if v not in (None, [], "")}


def instance_doc(record_id: int, content: dict, cfg: MappingConfig) -> Doc:
    title_field = next(data_fields(content, "245"), None)
    title = joined(title_field, "abnp") if title_field else None
    identifiers = [{"identifierTypeId": cfg.identifier_types["isbn"], "value": v}
                   for f in data_fields(content, "020") if (v := subfield(f, "a"))]
    identifiers += [{"identifierTypeId": cfg.identifier_types["oclc"], "value": v}
                    for f in data_fields(content, "035") if (v := subfield(f, "a")) and "OCoLC" in v]
    identity = f"record:{record_id}"
    owned = _clean({"id": cfg.ils_id("instances", identity),
                    "title": (title or "[no title]").rstrip(" /:;,."),
                    "source": cfg.instance_source, "instanceTypeId": cfg.instance_type_id,
                    "identifiers": identifiers})
    return Doc("instances", identity, owned, {}, record_id)


def bib_call_number(content: dict, cfg: MappingConfig) -> str | None:
    for tag, codes in cfg.bib_call_number_fields:
        for f in data_fields(content, tag):
            if value := joined(f, codes):
                return value
    return None
