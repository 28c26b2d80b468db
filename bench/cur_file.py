"""Generated legacy CUR csv.gz files of any size, streamed (the sandbox's row generator)."""
from __future__ import annotations

import csv
import gzip
import io
import itertools
from pathlib import Path

from sandbox.aws.formats import cur1_columns, cur1_row
from sandbox.aws.generator import line_items

PAYER, PERIOD = "111122223333", "2024-01"
DISTINCT_ROWS = 100_000  # generating costs ~50 µs/row; bigger files cycle these lines


def distinct_lines(count: int = DISTINCT_ROWS) -> tuple[str, list[str]]:
    columns = cur1_columns(PERIOD)
    header, buffer = io.StringIO(), io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(columns)
    writer = csv.writer(buffer, lineterminator="\n")
    for item in line_items(1, PAYER, PERIOD, 0, count, False):
        writer.writerow(cur1_row(item, columns))
    return header.getvalue(), buffer.getvalue().splitlines(keepends=True)[:count]


def write_cur(path: Path, rows: int, lines: tuple[str, list[str]]) -> Path:
    """A csv.gz of `rows` rows (the distinct lines, cycled), written in blocks."""
    header, body = lines
    if not path.exists():
        with gzip.open(path, "wt", compresslevel=1, newline="") as out:
            out.write(header)
            source = itertools.islice(itertools.cycle(body), rows)
            while block := list(itertools.islice(source, 10_000)):
                out.write("".join(block))
    return path
