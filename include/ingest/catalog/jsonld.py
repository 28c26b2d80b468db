"""BIBFRAME JSON-LD reader: JSON Lines (one Instance subgraph per line) or one document.

FOLIO's linked-data import takes JSON Lines, one complete expanded-JSON-LD Instance
subgraph per line; we read the same, streaming line by line, and yield a `BadRecord` for a
line that is not JSON or holds no BIBFRAME Instance (the line's bytes, offset and the
parser's message) — the next line is read normally. Blank lines are not records.

A file that is one JSON-LD document (an expanded graph array or an object with @graph,
e.g. id.loc.gov's `*.cbd.json`) is one record; such documents are small, and one larger
than MAX_DOCUMENT_BYTES is reported rather than loaded (convert it to JSON Lines).
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from itertools import chain
from typing import BinaryIO

from include.ingest.catalog.byte_range import read_range
from include.ingest.catalog.model import BIBFRAME, BadRecord, ParsedRecord

READ_BLOCK = 1 << 20
MAX_LINE_BYTES = 64 << 20
MAX_DOCUMENT_BYTES = 64 << 20
LINES, DOCUMENT = "lines", "document"


def framing(stream: BinaryIO) -> str:
    """LINES unless the whole (small) file is a single JSON document spanning lines."""
    size = stream.seek(0, 2)
    stream.seek(0)
    if size > MAX_DOCUMENT_BYTES:
        return LINES
    data = stream.read()
    lines = [line for line in data.splitlines() if line.strip()]
    if len(lines) <= 1:
        return LINES
    try:
        json.loads(data)
    except (ValueError, RecursionError):  # several values (JSON Lines), or broken or
        return LINES  # poison lines: reported one by one
    return DOCUMENT


def _lines(stream: BinaryIO, start: int, end: int | None) -> Iterator[tuple[int, bytes]]:
    buf, buf_at = b"", start
    for block in chain(read_range(stream, start, end, READ_BLOCK), [b""]):  # b"": range end
        buf += block
        i = 0
        while (nl := buf.find(b"\n", i)) >= 0:
            yield buf_at + i, buf[i:nl + 1]
            i = nl + 1
        buf, buf_at = buf[i:], buf_at + i
        if not block:
            if buf:
                yield buf_at, buf
            return
        if len(buf) > MAX_LINE_BYTES:
            yield buf_at, buf  # reported as too long by the caller; memory stays bounded
            buf_at, buf = buf_at + len(buf), b""


def batch_bounds(stream: BinaryIO, batch_size: int) -> Iterator[tuple[int, int, int]]:
    """(start, end, records) ranges of `batch_size` non-blank lines each."""
    if framing(stream) == DOCUMENT:
        yield 0, stream.seek(0, 2), 1
        return
    start = count = 0
    for offset, line in _lines(stream, 0, None):
        if not line.strip():
            continue
        if count == batch_size:
            yield start, offset, count
            start, count = offset, 0
        count += 1
    if count:
        yield start, stream.seek(0, 2), count


def iter_jsonld(stream: BinaryIO, start: int = 0, end: int | None = None,
                first_ordinal: int = 0, framing_: str | None = None
                ) -> Iterator[ParsedRecord | BadRecord]:
    """Every record (non-blank line, or the whole document) in [start, end)."""
    if (framing_ or framing(stream)) == DOCUMENT:
        stream.seek(start)
        data = stream.read(MAX_DOCUMENT_BYTES + 1)
        yield _record(data, start, first_ordinal, "the document")
        return
    ordinal = first_ordinal
    for offset, line in _lines(stream, start, end):
        if line.strip():
            yield _record(line, offset, ordinal, f"line at byte {offset}")
            ordinal += 1


_POSITION = re.compile(r"line \d+ column (\d+) \(char \d+\)")


def _record(data: bytes, offset: int, ordinal: int, where: str) -> ParsedRecord | BadRecord:
    if len(data) > MAX_LINE_BYTES:
        return BadRecord(ordinal, offset, data[:1 << 20],
                         f"{where} is over {MAX_LINE_BYTES:,} bytes; expected one BIBFRAME "
                         f"Instance subgraph per line — split the file (first 1 MiB kept)")
    try:
        value = json.loads(data)
    except RecursionError:  # the parser's own limit: a poison line, not a batch failure
        return BadRecord(ordinal, offset, data,
                         f"{where} is nested too deeply to parse (JSON arrays / objects "
                         f"nested ~1,000 levels or more); expected one BIBFRAME Instance "
                         f"subgraph a few levels deep — fix the line and re-ingest")
    except (ValueError, UnicodeDecodeError) as exc:
        message = _POSITION.sub(lambda m: f"column {m.group(1)}", str(exc))
        return BadRecord(ordinal, offset, data,
                         f"{where} is not JSON: {message}; expected one expanded JSON-LD graph "
                         f"per line (FOLIO linked-data import format)")
    graph = value.get("@graph", [value]) if isinstance(value, dict) else value
    if not isinstance(graph, list) or not all(isinstance(n, dict) for n in graph):
        return BadRecord(ordinal, offset, data, f"{where}: expected a JSON-LD graph (an array "
                                                f"of node objects or an object), got "
                                                f"{type(graph).__name__}")
    if not any(str(t).rsplit("/", 1)[-1].rsplit(":", 1)[-1] == "Instance"
               for node in graph for t in _types(node)):
        return BadRecord(ordinal, offset, data, f"{where}: no BIBFRAME Instance node (@type "
                                                f"bf:Instance); expected one Instance subgraph")
    return ParsedRecord(ordinal, offset, data, BIBFRAME, graph=graph)


def _types(node: dict) -> list:
    types = node.get("@type", [])
    return types if isinstance(types, list) else [types]
