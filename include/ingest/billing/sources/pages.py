"""Land a paged chunk one page at a time, resumably (Azure Query API, BigQuery).

Each page is landed unchanged as its own file, ``raw/…/<version>/<chunk>/page-00007.json``,
then the chunk's cursor is saved (include/ingest/billing/cursors.py). When every page is in, a
manifest ``pages.json`` (page names, sha256, sizes, row counts) is landed last; it is the
chunk's ``LandedFile`` for normalize, and its presence makes a re-run a no-op.

Resume: the cursor says how far paging got; pages landed after the last cursor save
(killed between the two writes) are found in the landing zone and re-read for their
continuation instead of being fetched again. So a page that was landed is never fetched
or landed twice, whatever killed the previous attempt. A resumed attempt logs where it
resumes and where the cursor came from (Redis or its PostgreSQL mirror).
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from airflow.sdk import ObjectStoragePath

from include.ingest import landing
from include.ingest.billing.paging import Paginator
from include.ingest.billing.store.ledger import SliceVersion
from include.ingest.billing.cursors import ChunkCursor

MANIFEST = "pages.json"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Page:
    """One provider response: its bytes as received, rows in it, its continuation, and
    provider context the next request needs (e.g. the BigQuery job the tokens belong to)."""

    body: bytes
    rows: int
    next_token: str | None
    context: dict | None = None


Source = Callable[[Paginator], Iterator[Page]]  # yields pages while not paginator.done
Reread = Callable[[bytes], tuple[str | None, int, dict]]  # page bytes -> (next token, rows, context)


def chunk_dir(sv: SliceVersion, chunk_id: str) -> ObjectStoragePath:
    return landing.slice_dir("raw", sv.provider, sv.billing_account, sv.billing_period,
                             sv.version) / chunk_id


def page_name(number: int) -> str:
    return f"page-{number:05d}.json"


def _intact(base: ObjectStoragePath, pages: int) -> bool:
    return all(landing.already_landed(base / page_name(n)) is not None for n in range(1, pages + 1))


def land_pages(sv: SliceVersion, chunk: dict, source: Source, reread: Reread, origin: str,
               cursor: ChunkCursor | None = None) -> landing.LandedFile:
    """Land every page of ``chunk`` (resuming from its cursor); returns the manifest.

    ``origin`` is where the pages come from (a URL without secrets) for the audit trail.
    """
    base = chunk_dir(sv, chunk["chunk_id"])
    if (done := landing.already_landed(base / MANIFEST)) is not None:
        return done
    label = f"{sv.load_id} chunk {chunk['chunk_id']}"
    with cursor or ChunkCursor(sv.load_id, chunk["chunk_id"]) as saved:
        paginator = Paginator.from_state(label, saved.load())
        if paginator.pages and not _intact(base, paginator.pages):
            saved.reset()  # the landing zone lost pages the cursor describes: start over
            paginator = Paginator(label)
        if paginator.pages:
            log.info("%s: resuming after page %d (cursor from %s)", label, paginator.pages, saved.source)
        # pages landed after the last cursor save: read their continuation, don't refetch
        reread_pages = 0
        while not paginator.done and (
                hit := landing.already_landed(base / page_name(paginator.pages + 1))) is not None:
            with ObjectStoragePath(hit.path).open("rb") as handle:
                next_token, rows, context = reread(handle.read())
            paginator.context.update(context)
            paginator.accept(next_token, rows)
            saved.save(paginator.to_state())
            reread_pages += 1
        if reread_pages:
            log.info("%s: %d landed page(s) past the cursor re-read from the landing zone, not fetched",
                     label, reread_pages)
        for page in source(paginator):
            paginator.context.update(page.context or {})
            number = paginator.accept(page.next_token, page.rows)  # loop guard before writing
            landing.land([page.body], base / page_name(number), f"{origin} page {number}")
            saved.save(paginator.to_state())
        if not paginator.done:
            raise RuntimeError(f"{label}: expected the source to page until the last page, "
                               f"got it stopping after page {paginator.pages}")
        manifest = {"chunk_id": chunk["chunk_id"], "origin": origin, "rows": paginator.rows,
                    "context": paginator.context, "pages": []}
        for number in range(1, paginator.pages + 1):
            page = landing.already_landed(base / page_name(number))
            if page is None:
                raise RuntimeError(f"{label}: expected page {number} in the landing zone, got none")
            manifest["pages"].append({"name": page_name(number), "sha256": page.sha256,
                                      "size": page.size})
        body = json.dumps(manifest, indent=1).encode()
        return landing.land([body], base / MANIFEST, origin)


def read_pages(manifest_path: str) -> Iterator[tuple[str, bytes]]:
    """(page name, bytes) of every landed page of a chunk, each checked against the
    sha256 the manifest recorded (a page changed after landing is an error, not data)."""
    path = ObjectStoragePath(manifest_path)
    with path.open("r") as handle:
        manifest = json.load(handle)
    for entry in manifest["pages"]:
        page = path.parent / entry["name"]
        landing.verify(landing.LandedFile(str(page), entry["sha256"], entry["size"], "", ""))
        with page.open("rb") as handle:
            yield entry["name"], handle.read()
