"""The form records are compared in: one record arriving again reads as `unchanged`.

A record is stored as it arrived (UTF-8 ISO 2709 bytes, or MARC-in-JSON when ISO 2709
cannot hold it), but its `content_sha256` is the sha256 of its **canonical form**: text in
Unicode NFC and leader/09 = `a` (the content is Unicode whatever the input's flag said) —
so the same record in NFD (as MARC-8 conversions and some exporters write it) or with
another leader/09 is the same content, not an update.

The canonical form of a record already in NFC with leader/09 = `a` — every clean UTF-8
record — is its stored bytes: its hash is the stored bytes' sha256, computed as before
(the fast path: no decoding), so versions written before this comparison existed still
match. Other records are re-encoded (NFC, directory in field order); their stored bytes'
own sha256 comes along as `stored` (keys.RecordKeys.stored_sha256), which is what versions
written before canonical hashing hold: an existing NFD version still reads as unchanged.
"""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata

from include.ingest.catalog.iso2709 import MarcError, RecordTooLong, decode_record, to_iso2709

# UTF-8 lead bytes below 0xCC encode code points below U+0300 (Latin-1, Latin Extended,
# IPA), none of which NFC changes or composes with: text made only of them is NFC, checked
# in C without decoding (the common case of European records)
_BELOW_U0300 = re.compile(rb"[\x00-\xcb]*")
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _nfc(text: str) -> str:
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def canonical_content(content: dict) -> dict:
    """MARC-in-JSON in NFC with leader/09 = a."""
    leader = _nfc(content["leader"])
    fields = []
    for field in content["fields"]:
        ((tag, value),) = field.items()
        if isinstance(value, str):
            fields.append({tag: _nfc(value)})
        else:
            fields.append({tag: {"ind1": _nfc(value["ind1"]), "ind2": _nfc(value["ind2"]),
                                 "subfields": [{_nfc(c): _nfc(v) for c, v in sub.items()}
                                               for sub in value["subfields"]]}})
    return {"leader": leader[:9] + "a" + leader[10:], "fields": fields}


def marc_digest(marc: bytes) -> tuple[str, str | None]:
    """(sha256 of the canonical form, sha256 of the stored bytes when that differs) of a
    UTF-8 ISO 2709 record already validated by the reader."""
    sha = hashlib.sha256(marc).hexdigest()
    labelled = marc[9:10] == b"a"
    if marc.isascii():
        if labelled:
            return sha, None
        return hashlib.sha256(marc[:9] + b"a" + marc[10:]).hexdigest(), sha
    if labelled and (_BELOW_U0300.fullmatch(marc) or unicodedata.is_normalized(
            "NFC", marc[int(marc[12:17]):].decode("utf-8"))):
        return sha, None
    try:
        canonical = to_iso2709(canonical_content(decode_record(marc, "utf-8")[0]))
    except (MarcError, RecordTooLong):  # NFC never grows a record but for odd scripts
        return sha, None
    return hashlib.sha256(canonical).hexdigest(), sha


def json_digest(content: dict, stored_json: str) -> tuple[str, str | None]:
    """The same for a MARC record kept as MARC-in-JSON (`stored_json`: its stored text)."""
    stored = hashlib.sha256(stored_json.encode("utf-8")).hexdigest()
    canonical = hashlib.sha256(_ENCODE(canonical_content(content)).encode("utf-8")).hexdigest()
    return canonical, None if canonical == stored else stored
