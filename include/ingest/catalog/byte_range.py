"""Reading one byte range of a file in blocks: the batches of every catalog reader are
byte ranges [start, end) of the landed file (docs/architecture.md §6)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

READ_BLOCK = 1 << 20


def read_range(stream: BinaryIO, start: int, end: int | None,
               block_size: int = READ_BLOCK) -> Iterator[bytes]:
    """The bytes of [start, end) (to EOF when `end` is None) in blocks of at most
    `block_size`; memory is one block whatever the range."""
    stream.seek(start)
    remaining = None if end is None else end - start
    while remaining is None or remaining > 0:
        block = stream.read(block_size if remaining is None else min(block_size, remaining))
        if not block:
            return
        if remaining is not None:
            remaining -= len(block)
        yield block
