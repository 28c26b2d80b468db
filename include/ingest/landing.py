"""The landing zone (docs/architecture.md §3): raw provider bytes and normalized files, by path.

Base URL from `INGEST_LANDING_URL` (`file://` under the project by default; `s3://` or
`gs://` when Celery workers run on several hosts). Layout, per slice version:

    raw/<provider>/<account>/<period>/<version>/<source name>      provider bytes, unchanged
    raw/…/<source name>.meta.json                                   sha256, size, source, time
    normalized/<provider>/<account>/<period>/<version>/<chunk>.parquet
    normalized/…/<chunk>.quarantine.jsonl

A raw file counts as landed only when its `.meta.json` exists, says the file passed its
integrity check, and the bytes match its sha256. The bytes are written to `<name>.partial`,
checked (size against the provider's, gzip / Parquet complete), then renamed into place and
the meta file written last — so neither a half-written file from a killed worker nor a
truncated download is ever trusted, and a failed check leaves nothing behind for a retry to
reuse. XCom carries `LandedFile.to_json()` — a path and a checksum, never data.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone

from airflow.sdk import ObjectStoragePath

from include.ingest.persist.db import ConfigError
from include.ingest.safety import InputRefused, setting

READ_BLOCK = 1 << 20
# Largest file one land() writes, by input kind; a source that streams forever
# (`/dev/zero`, a URL that never ends) stops here instead of filling the disk. Billing
# files are big (a month of CUR for a large payer is GBs); catalog files are far smaller.
SIZE_CAPS = {"billing": ("INGEST_LANDING_MAX_BYTES", 20 << 30),
             "catalog": ("INGEST_CATALOG_MAX_BYTES", 4 << 30)}


class LandingTooLarge(InputRefused):
    """A landed file passed its size cap; the partial file was removed."""


def size_cap(kind: str = "billing") -> int:
    """The size cap of `kind` in bytes: its setting (env var or Airflow Variable), else the
    default of SIZE_CAPS."""
    name, default = SIZE_CAPS[kind]
    value = setting(name)
    if value is None:
        return default
    if not value.strip().isdigit() or int(value) < 1:
        raise ConfigError(f"expected {name} to be a positive number of bytes, got {value!r}")
    return int(value)


def landing_root() -> ObjectStoragePath:
    url = os.environ.get("INGEST_LANDING_URL")
    if not url:
        raise ConfigError("INGEST_LANDING_URL is not set; expected a file://, s3:// or gs:// "
                          "URL for the landing zone (the local stack sets it; see README)")
    return ObjectStoragePath(url)


def _safe(part: str) -> str:
    """One path segment: provider tokens may hold ':' or '/' (timestamps, ARNs)."""
    cleaned = re.sub(r"[^A-Za-z0-9._=-]+", "_", str(part)).strip("._")
    if not cleaned:
        raise ValueError(f"expected a non-empty path segment, got {part!r}")
    return cleaned


def slice_dir(area: str, provider: str, account: str, period: str, version: str) -> ObjectStoragePath:
    return landing_root() / area / _safe(provider) / _safe(account) / _safe(period) / _safe(version)


@dataclass(frozen=True)
class LandedFile:
    path: str  # URL of the bytes
    sha256: str
    size: int
    source: str  # where the bytes came from (s3://bucket/key, a URL) — no credentials
    landed_at: str

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "LandedFile":
        return cls(**data)


def _meta_path(path: ObjectStoragePath) -> ObjectStoragePath:
    return path.parent / (path.name + ".meta.json")


Check = Callable[[ObjectStoragePath, int], None]  # (written bytes, their size); raises if bad


def land(blocks: Iterable[bytes], target: ObjectStoragePath, source: str, *,
         check: Check | None = None, max_bytes: int | None = None) -> LandedFile:
    """Write `blocks` to `target` unchanged, run `check` on them, then publish the file and
    its meta file; return the descriptor. If writing or `check` raises, nothing is left at
    `target` (the exception propagates: the caller's error table decides retry or fail).

    Streams: memory is one block whatever the file size. Past `max_bytes` (default: the
    billing cap, `size_cap()`) raises `LandingTooLarge`; on any failure the partial file is
    removed, so a retry starts clean and the disk is given back.
    """
    cap = size_cap() if max_bytes is None else max_bytes
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.parent / (target.name + ".partial")
    _meta_path(target).unlink(missing_ok=True)  # an earlier delivery's meta no longer holds
    digest, size = hashlib.sha256(), 0
    try:
        with partial.open("wb") as out:
            for block in blocks:
                size += len(block)
                if size > cap:
                    raise LandingTooLarge(
                        f"expected at most {cap} bytes from {source}, got more; the partial file "
                        f"was removed. Check the source, or raise the cap (see README: size caps)")
                digest.update(block)
                out.write(block)
        if check is not None:
            check(partial, size)
        partial.rename(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    landed = LandedFile(str(target), digest.hexdigest(), size, source,
                        datetime.now(timezone.utc).isoformat())
    with _meta_path(target).open("w") as meta:
        json.dump({**landed.to_json(), "verified": True}, meta)
    return landed


def sha256_of(path: ObjectStoragePath) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while block := handle.read(READ_BLOCK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def already_landed(target: ObjectStoragePath) -> LandedFile | None:
    """The descriptor of `target` if it was landed completely and is intact, else None."""
    meta = _meta_path(target)
    if not meta.exists() or not target.exists():
        return None
    with meta.open("r") as handle:
        recorded = json.load(handle)
    if recorded.pop("verified", False) is not True:
        return None  # landed before checks ran first: may be a truncated copy, fetch again
    landed = LandedFile.from_json(recorded)
    return landed if sha256_of(target) == (landed.sha256, landed.size) else None


def verify(landed: LandedFile) -> None:
    """Raise if the file at `landed.path` is not the bytes that were landed."""
    actual = sha256_of(ObjectStoragePath(landed.path))
    if actual != (landed.sha256, landed.size):
        raise ValueError(f"{landed.path}: expected sha256 {landed.sha256[:12]}… size "
                         f"{landed.size}, got {actual[0][:12]}… size {actual[1]}; the landing "
                         f"zone changed under us — clear the fetch task to land it again")
