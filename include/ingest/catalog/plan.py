"""Plan an ingest: land the input (raw first), detect its format, cut it into batches.

A batch is a JSON descriptor — file URL, checksum, format, byte range, first ordinal,
record count, overlay policy, MARC encoding — never records (docs/architecture.md §3: XCom carries descriptors).
Cutting is streamed over the file (record terminators, record start tags or lines), so
planning a multi-GB file holds one block in memory.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlparse

from include.ingest.catalog import jsonld, marc, marcxml
from include.ingest.catalog.batches import batch_id
from include.ingest.catalog.model import FORMATS, CatalogInputError
from include.ingest.catalog.overlay import POLICIES

MIN_BATCH, MAX_BATCH = 500, 1000
MAX_BATCHES = 1024  # Airflow [core] max_map_length: a longer list fails the plan task
_EXTENSIONS = {".mrc": "marc21", ".dat": "marc21", ".marc": "marc21", ".xml": "marcxml",
               ".jsonl": "jsonld", ".json": "jsonld", ".jsonld": "jsonld", ".rdf": "jsonld"}


def open_source(url: str) -> BinaryIO:
    """A seekable binary stream of a local path, file:// URL or any ObjectStoragePath URL
    (s3://, gs://). Local files skip the Airflow import (workers open many batches)."""
    parsed = urlparse(url)
    if parsed.scheme in ("", "file"):
        return open(unquote(parsed.path) if parsed.scheme else url, "rb")
    from airflow.sdk import ObjectStoragePath
    return ObjectStoragePath(url).open("rb")


def detect_format(stream: BinaryIO, name: str) -> str:
    """marc21 / marcxml / jsonld from the first bytes, else from the file extension."""
    by_bytes = _format_of_bytes(stream)
    if by_bytes is not None:
        return by_bytes
    by_extension = _EXTENSIONS.get(Path(name).suffix.lower())
    if by_extension is None:
        # the bytes are not quoted: the file may be anything, secrets included
        raise CatalogInputError(f"cannot tell the format of {name}: expected ISO 2709, MARCXML "
                                f"or JSON-LD first bytes or a known extension, got neither; "
                                f"set format explicitly")
    return by_extension


def _format_of_bytes(stream: BinaryIO) -> str | None:
    """marc21 / marcxml / jsonld as the first bytes say, or None when they say neither."""
    stream.seek(0)
    head = stream.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] == b"<":
        return "marcxml"
    if head[:1] in (b"[", b"{"):
        return "jsonld"
    return "marc21" if re.match(rb"\d{5}[ -~]{7}\d{5}", head) else None


_LOOKS_LIKE = {"marc21": "MARC21 binary (ISO 2709: a 5-digit length, then a leader)",
               "marcxml": "MARCXML (it starts with <)", "jsonld": "JSON (it starts with [ or {)"}


def _check_format(stream: BinaryIO, source: str, fmt: str) -> None:
    """CatalogInputError when the first bytes say another format than the one given: read
    as `fmt`, the whole file would be one bad record (a run that 'succeeds' with one DLQ
    row)."""
    looks = _format_of_bytes(stream)
    if looks is not None and looks != fmt:
        raise CatalogInputError(f"{source}: expected {fmt} (the format param), but this looks "
                                f"like {_LOOKS_LIKE[looks]}; trigger again with format "
                                f"{looks} or auto")


def sha256_size(stream: BinaryIO) -> tuple[str, int]:
    stream.seek(0)
    digest, size = hashlib.sha256(), 0
    while block := stream.read(1 << 20):
        digest.update(block)
        size += len(block)
    return digest.hexdigest(), size


def plan_batches(source: str, run_id: str, fmt: str = "auto", batch_size: int = MAX_BATCH,
                 policy: str = "replace", sha256: str | None = None,
                 min_batch: int = MIN_BATCH, encoding: str = "auto") -> list[dict]:
    """Batch descriptors for one landed file (JSON-able dicts, in file order). `encoding`
    (marc.ENCODINGS) is how an ISO 2709 file's records are read: `auto` follows leader/09
    and repairs mislabels, `utf-8` / `marc-8` override leader/09 for every record."""
    if not min_batch <= batch_size <= MAX_BATCH:
        raise CatalogInputError(f"expected a batch size of {min_batch}..{MAX_BATCH} records, "
                                f"got {batch_size}")
    if policy not in POLICIES:
        raise CatalogInputError(f"expected an overlay policy in {POLICIES}, got {policy!r}")
    if encoding not in marc.ENCODINGS:
        raise CatalogInputError(f"expected an encoding in {marc.ENCODINGS}, got {encoding!r}")
    with open_source(source) as stream:
        if fmt == "auto":
            fmt = detect_format(stream, source)
        if fmt not in FORMATS:
            raise CatalogInputError(f"expected a format in {FORMATS} or auto, got {fmt!r}")
        _check_format(stream, source, fmt)
        if fmt != "marc21" and encoding != "auto":
            raise CatalogInputError(f"expected encoding auto for a {fmt} file (it declares its "
                                    f"own encoding), got {encoding!r}; the encoding param "
                                    f"applies to MARC 21 (ISO 2709) files only")
        digest, size = sha256_size(stream) if sha256 is None else (sha256, stream.seek(0, 2))
        extra, bounds = {}, None
        if fmt == "marc21":
            bounds = list(marc.batch_bounds(stream, batch_size))
        elif fmt == "marcxml":
            extra = {"xml": marcxml.xml_context(stream)}
            bounds = list(marcxml.batch_bounds(stream, batch_size))
        else:
            extra = {"framing": jsonld.framing(stream)}
            bounds = list(jsonld.batch_bounds(stream, batch_size))
    if not bounds:
        found = ("no <record> element" if fmt == "marcxml"
                 else "none (the file is empty or holds only blank lines / padding)")
        raise CatalogInputError(f"{source}: expected at least one {fmt} record, got {found}; "
                                f"check the export and trigger again with the full file")
    if len(bounds) > MAX_BATCHES:
        raise CatalogInputError(f"{source}: {len(bounds)} batches, expected at most {MAX_BATCHES} "
                                f"(Airflow max_map_length); raise the batch size or split the file")
    descriptors, first = [], 0
    for no, (start, end, records) in enumerate(bounds):
        descriptors.append({"batch_id": batch_id(run_id, no), "run_id": run_id, "batch_no": no,
                            "source": source, "sha256": digest, "size": size, "format": fmt,
                            "start": start, "end": end, "first_ordinal": first,
                            "records": records, "policy": policy, "encoding": encoding,
                            **extra})
        first += records
    return descriptors


def land_source(source: str, run_id: str):
    """The input as a landed file (landing.LandedFile). Only what the input policy allows
    (include/ingest/safety): a file in the landing zone is used in place; a file in an
    inbox root or an allow-listed http(s) URL is copied in first (streamed, size-capped),
    once per run. Anything else raises `InputRefused`."""
    from airflow.sdk import ObjectStoragePath

    from include.ingest import landing
    from include.ingest.safety import paths

    root = landing.landing_root()
    if urlparse(source).scheme in ("http", "https"):
        return _land_url(source, run_id, root)
    allowed = paths.allowed_source(source, str(root))
    if allowed.local:
        stream = paths.open_regular(allowed.location, source)
        path = ObjectStoragePath(Path(allowed.location).as_uri())
    else:
        path = ObjectStoragePath(allowed.location)
        if not path.is_file():
            raise CatalogInputError(f"expected an existing file, got {source!r} (not found); "
                                    f"check the name")
        stream = path.open("rb")
    with stream:
        if allowed.in_landing_zone:
            if landed := landing.already_landed(path):
                return landed
            digest, size = sha256_size(stream)
            return landing.LandedFile(str(path), digest, size, source, "in place")
        target = _target(root, source, run_id, path.name)
        return landing.already_landed(target) or landing.land(
            iter(lambda: stream.read(1 << 20), b""), target, source, max_bytes=landing.size_cap("catalog"))


def _target(root, source: str, run_id: str, name: str):
    key = hashlib.sha256(f"{source}\n{run_id}".encode()).hexdigest()[:16]
    return root / "raw" / "catalog" / key / (re.sub(r"[^A-Za-z0-9._-]+", "_", name) or "input")


def _land_url(url: str, run_id: str, root):
    from include.ingest import landing
    from include.ingest.safety.urls import UrlPolicy, fetch_blocks

    policy = UrlPolicy.from_settings()
    policy.check_url(url)  # before anything is created for it
    target = _target(root, url, run_id, Path(urlparse(url).path).name)
    if landed := landing.already_landed(target):
        return landed
    return landing.land(fetch_blocks(url, policy), target, url, max_bytes=landing.size_cap("catalog"))
