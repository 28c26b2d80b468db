"""The careful CSV reader: every row of a billing CSV, malformed ones as values.

The fast readers (`pyarrow.csv.open_csv` in `aws_cur` / `azure_exports`) stop at the first
structurally bad row — a row with too many or too few cells, bytes that are not UTF-8 — with
an `ArrowInvalid` naming neither file nor line. One such row must not hold back the rest of
the file, so `pipeline.normalize` reads a file that the fast reader refused again with this
one: Python's `csv` module, physical line numbers counted, and each bad row yielded as a
`MalformedRow` (its line, its bytes as text, the reason) for the quarantine. It is slower
than Arrow's parser and only runs on files that need it.
"""
from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from typing import NamedTuple

import pyarrow as pa
from airflow.sdk import ObjectStoragePath

BATCH_ROWS = 10_000
csv.field_size_limit(64 << 20)  # a Tags cell can be long; the default 128 KiB is not a limit of CSV


class MalformedRow(NamedTuple):
    """A CSV row no normalizer can read: quarantined with its location and text."""
    line_number: int
    text: str  # the row's text; bytes that are not UTF-8 as \\x.. escapes
    reason: str


class LinedBatch(NamedTuple):
    """Rows of text columns (every column `string`, as the fast readers give them), with the
    physical line on which each row starts."""
    batch: pa.RecordBatch
    line_numbers: tuple[int, ...]


def _text_lines(path: str, fmt: str) -> Iterator[str]:
    """The file's physical lines as text; undecodable bytes kept as surrogates."""
    with ObjectStoragePath(path).open("rb") as raw:
        stream = gzip.GzipFile(fileobj=raw) if fmt == "csv.gz" else raw
        first = True
        for line in stream:
            text = line.decode("utf-8", "surrogateescape")
            if first:
                text, first = text.removeprefix("\ufeff"), False
            yield text


def _undecodable(cells: list[str]) -> bool:
    return any("\udc80" <= ch <= "\udcff" for cell in cells for ch in cell)


def _as_text(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue().encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def read_rows(path: str, fmt: str) -> Iterator[LinedBatch | MalformedRow]:
    """Batches of well-formed rows and malformed rows, in file order, under the header."""
    lines = _text_lines(path, fmt)
    reader = csv.reader(lines, strict=False)
    try:
        header = next(reader)
    except StopIteration:
        return
    width, rows, starts = len(header), [], []
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. a NUL byte or a field over the size limit
            yield MalformedRow(start, "", f"expected a CSV row, got {exc}")
            continue
        if not cells:
            continue  # a blank line is not a row (Arrow's reader skips them too)
        if len(cells) != width:
            yield MalformedRow(start, _as_text(cells), f"expected {width} columns (the header's), "
                                                       f"got {len(cells)}")
        elif _undecodable(cells):
            yield MalformedRow(start, _as_text(cells), "expected UTF-8 text, got bytes that are "
                                                       "not UTF-8 (shown as \\x.. escapes)")
        else:
            rows.append(cells)
            starts.append(start)
        if len(rows) >= BATCH_ROWS:
            yield _batch(header, rows, starts)
            rows, starts = [], []
    if rows:
        yield _batch(header, rows, starts)


def _batch(header: list[str], rows: list[list[str]], starts: list[int]) -> LinedBatch:
    columns = [pa.array(column, pa.string()) for column in zip(*rows)]
    return LinedBatch(pa.RecordBatch.from_arrays(columns, names=header), tuple(starts))
