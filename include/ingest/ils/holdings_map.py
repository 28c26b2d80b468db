"""Holdings and items of one catalog record (the second half of the mapping; rules and
identities: mapping.py and README "ILS sync: the mapping").

* A bibliographic record's **852** fields are holdings (location $b[/$c], call number
  $h $i, prefix $k, suffix $m, copy $t); its **item fields** (949 / 945 / 952 by default,
  `MappingConfig.item_fields`) are items, each in the holding of its own location + call
  number (call number from the item field, else 090/050/099), created when no 852 names it.
* A **MARC Holdings** record (leader/06 u v x y; linked to its bib by 004) is one holding
  (its 852; statements from 866 $a); its 876 fields ($p barcode, $t copy, $3 volume) and
  any item fields are items in it.

Anything that cannot be mapped (no location, a barcode twice) is a `problem`, never an
exception: one bad field costs that field only.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from include.ingest.ils.mapping import Doc, ItemFieldSpec, MappingConfig, _clean, bib_call_number
from include.ingest.ils.marcview import control, control_key, data_fields, joined, subfield


@dataclass
class Mapped:
    holdings: list[Doc] = field(default_factory=list)
    items: list[Doc] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _location(f: dict, codes: str) -> str | None:
    return joined(f, codes, "/")


def _holding(identity: str, record_id: int, instance_id: str, location: str, cfg: MappingConfig,
             call: str | None = None, extra: dict | None = None) -> Doc:
    owned = _clean({"id": cfg.ils_id("holdings", identity), "instanceId": instance_id,
                    "sourceId": cfg.holdings_source_id, "permanentLocationId": cfg.location_id(location),
                    "callNumber": call, **(extra or {})})
    return Doc("holdings", identity, owned, {}, record_id)


def _from_852(f: dict) -> tuple[str | None, str | None, dict]:
    extra = {"callNumberPrefix": subfield(f, "k"), "callNumberSuffix": subfield(f, "m"),
             "copyNumber": subfield(f, "t")}
    return _location(f, "bc"), joined(f, "hi"), extra


def _item(identity: str, record_id: int, holding: Doc, cfg: MappingConfig, barcode: str | None,
          **values) -> Doc:
    type_code = values.pop("material_type", None)
    owned = _clean({"id": cfg.ils_id("items", identity), "holdingsRecordId": holding.ils_id,
                    "barcode": barcode, "permanentLoanTypeId": cfg.loan_type_id,
                    "materialTypeId": cfg.material_type_ids.get(type_code or "", cfg.material_type_id),
                    **values})
    return Doc("items", identity, owned, {"status": {"name": cfg.initial_item_status}}, record_id)


def _item_identity(barcode: str | None, holding: Doc, tag: str, n: int) -> str:
    return f"barcode:{barcode.casefold()}" if barcode else f"{holding.identity}|{tag}#{n}"


class _Builder:
    """Collects one record's holdings (by identity) and items, and their problems."""

    def __init__(self, record_id: int, instance_id: str, cfg: MappingConfig) -> None:
        self.record_id, self.instance_id, self.cfg = record_id, instance_id, cfg
        self.out = Mapped()
        self.by_identity: dict[str, Doc] = {}
        self.barcodes: set[str] = set()

    def holding(self, doc: Doc) -> Doc:
        if doc.identity not in self.by_identity:
            self.by_identity[doc.identity] = doc
            self.out.holdings.append(doc)
        return self.by_identity[doc.identity]

    def item(self, holding: Doc, tag: str, n: int, barcode: str | None, **values) -> None:
        if barcode and barcode.casefold() in self.barcodes:
            self.out.problems.append(f"{tag}#{n}: barcode {barcode} twice in the record; kept the first")
            return
        if barcode:
            self.barcodes.add(barcode.casefold())
        identity = _item_identity(barcode, holding, tag, n)
        self.out.items.append(_item(identity, self.record_id, holding, self.cfg, barcode, **values))

    def item_fields(self, content: dict, holding_for) -> None:
        for tag, spec in self.cfg.item_fields.items():
            for n, f in enumerate(data_fields(content, tag), 1):
                holding = holding_for(f, spec, tag, n)
                if holding is None:
                    continue
                self.item(holding, tag, n, subfield(f, spec.barcode) if spec.barcode else None,
                          copyNumber=_sub(f, spec.copy), enumeration=_sub(f, spec.enumeration),
                          chronology=_sub(f, spec.chronology), material_type=_sub(f, spec.material_type),
                          itemLevelCallNumber=_sub(f, spec.call_number))


def _sub(f: dict, code: str | None) -> str | None:
    return subfield(f, code) if code else None


def from_bib(record_id: int, content: dict, instance_id: str, cfg: MappingConfig) -> Mapped:
    """Holdings (852) and items (item fields) embedded in a bibliographic record."""
    b = _Builder(record_id, instance_id, cfg)
    fallback_call = bib_call_number(content, cfg)
    for n, f in enumerate(data_fields(content, "852"), 1):
        location, call, extra = _from_852(f)
        if not location:
            b.out.problems.append(f"852#{n}: expected a location in $b, got none; holding skipped")
            continue
        b.holding(_holding(f"record:{record_id}|{location}|{call or ''}", record_id, instance_id,
                           location, cfg, call, extra))

    def holding_for(f: dict, spec: ItemFieldSpec, tag: str, n: int) -> Doc | None:
        location = _location(f, spec.location)
        if not location:
            b.out.problems.append(f"{tag}#{n}: expected a location in ${spec.location}, got none; item skipped")
            return None
        call = _sub(f, spec.call_number) or fallback_call
        return b.holding(_holding(f"record:{record_id}|{location}|{call or ''}", record_id,
                                  instance_id, location, cfg, call))

    b.item_fields(content, holding_for)
    return b.out


def mfhd_link(content: dict) -> str | None:
    """The control key (`003/004`, or `004`) of the bib a MARC Holdings record belongs to."""
    f004, f003 = control(content, "004"), control(content, "003")
    return (f"{f003}/{f004}" if f003 else f004) if f004 else None


def from_mfhd(record_id: int, content: dict, instance_id: str, cfg: MappingConfig) -> Mapped:
    """One holding from a MARC Holdings record, with its 876 and item-field items."""
    b = _Builder(record_id, instance_id, cfg)
    key = control_key(content) or f"record:{record_id}"
    f852 = next(data_fields(content, "852"), None)
    location, call, extra = _from_852(f852) if f852 else (None, None, {})
    if not location:
        b.out.problems.append(f"MFHD {key}: expected 852 $b (location), got none; holding skipped")
        return b.out
    statements = [{"statement": v} for f in data_fields(content, "866") if (v := subfield(f, "a"))]
    extra = {**extra, "holdingsStatements": statements,
             "formerIds": [v for v in [control(content, "001")] if v]}
    holding = b.holding(_holding(f"mfhd:{key}", record_id, instance_id, location, cfg, call, extra))
    for n, f in enumerate(data_fields(content, "876"), 1):
        b.item(holding, "876", n, subfield(f, "p"), copyNumber=subfield(f, "t"), volume=subfield(f, "3"))
    b.item_fields(content, lambda f, spec, tag, n: holding)
    return b.out
