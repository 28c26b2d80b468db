"""A synthetic vendor catalog shaped like real files, for the ILS sync test and benchmark.

Bibliographic records look like `61PRINT160129.mrc` (folio-org/mod-data-import): 001/003
OCoLC, 035 (OCoLC), 245, 090 call number, and one III 945 item field per copy ($i barcode,
$l location, $g copy). Every fourth record also carries an 852; every tenth bib has a
MARC Holdings record (leader/06 `x`, 004 → the bib's 001, 852, 866, 876 items).
"""
from __future__ import annotations

from pathlib import Path

from include.ingest.catalog.iso2709 import to_iso2709

BIB_LEADER = "00000cam a2200000Ia 4500"
MFHD_LEADER = "00000nx  a2200000un 4500"
LOCATIONS = ("fhgen", "fhref", "mrstk", "oclc-m")


def _df(tag: str, *subs: tuple[str, str], ind1: str = " ", ind2: str = " ") -> dict:
    return {tag: {"ind1": ind1, "ind2": ind2, "subfields": [{c: v} for c, v in subs]}}


def bib(n: int, items_per_bib: int) -> dict:
    location = LOCATIONS[n % len(LOCATIONS)]
    call = (f"BP{60 + n % 40}.S{n % 97}", f"A{n % 50} 20{10 + n % 15}")
    fields = [{"001": f"ocn{900000000 + n}"}, {"003": "OCoLC"},
              _df("035", ("a", f"(OCoLC){900000000 + n}")),
              _df("245", ("a", f"Synthetic title {n} :"), ("b", "a test of holdings /"),
                  ("c", "Sandbox Press."), ind1="1", ind2="0"),
              _df("090", ("a", call[0]), ("b", call[1]), ind2="4")]
    if n % 4 == 0:
        fields.append(_df("852", ("a", "NIC"), ("b", location), ("h", call[0]), ("i", call[1]), ("t", "1")))
    for copy in range(1, items_per_bib + 1):
        fields.append(_df("945", ("f", "h"), ("g", str(copy)), ("i", f"3{n:08d}{copy:03d}"),
                          ("l", location), ("t", "1")))
    return {"leader": BIB_LEADER, "fields": fields}


def mfhd(n: int) -> dict:
    return {"leader": MFHD_LEADER, "fields": [
        {"001": f"h{n}"}, {"003": "OCoLC"}, {"004": f"ocn{900000000 + n}"},
        _df("852", ("b", "annex"), ("h", f"Z{n % 900}"), ("i", ".A1"), ("k", "Folio"), ind1="0"),
        _df("866", ("8", "0"), ("a", f"v.1-{n % 30 + 1} (19{50 + n % 40}-)"), ind1="4", ind2="1"),
        _df("876", ("a", f"i{n}1"), ("p", f"7{n:08d}001"), ("3", "v.1")),
        _df("876", ("a", f"i{n}2"), ("p", f"7{n:08d}002"), ("3", "v.2"))]}


def write_catalog(path: Path, bibs: int, items_per_bib: int = 5) -> dict:
    """Write the catalog file; returns what it holds (records, items)."""
    records = items = 0
    with path.open("wb") as out:
        for n in range(bibs):
            out.write(to_iso2709(bib(n, items_per_bib)))
            records += 1
            items += items_per_bib
            if n % 10 == 0:
                out.write(to_iso2709(mfhd(n)))
                records += 1
                items += 2
    return {"records": records, "items": items}
