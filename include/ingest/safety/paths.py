"""Which files a param may name: only inside the landing zone or a configured inbox root.

A param is resolved before it is judged — `..`, symlinks and `file:` URLs included — and
must then lie inside a root (`Path.is_relative_to`, never a string prefix: `/landing-x`
starts with `/landing`). Only regular files are opened: a device (`/dev/zero`), FIFO,
socket or directory is refused, and the check is made on the opened descriptor so a
path swapped after the check cannot slip through. Nothing outside the roots is even
tested for existence, so a refusal says nothing about the worker's file system.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from urllib.parse import unquote, urlparse

from include.ingest.safety import InputRefused, setting_list

INBOX_ROOTS = "INGEST_INBOX_ROOTS"  # comma-separated local dirs or s3:// / gs:// prefixes
OBJECT_SCHEMES = ("s3", "gs", "gcs")
_KINDS = ((stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"),
          (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket"))


@dataclass(frozen=True)
class AllowedSource:
    location: str  # a resolved local path, or an object-storage URL
    local: bool
    in_landing_zone: bool  # used in place; a file in an inbox root is landed (copied) first


def inbox_roots() -> list[str]:
    return setting_list(INBOX_ROOTS)


def _local_dir(root: str) -> Path | None:
    parsed = urlparse(root)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    return Path(root) if not parsed.scheme else None


def _refused(source: str, landing_root: str) -> InputRefused:
    inboxes = ", ".join(inbox_roots()) or "none configured"
    return InputRefused(f"expected a file inside the landing zone ({landing_root}) or an inbox root "
                        f"({INBOX_ROOTS}: {inboxes}), got {source!r}; copy the file into an inbox "
                        f"root, or ask an operator to add its folder to {INBOX_ROOTS}")


def allowed_source(source: str, landing_root: str) -> AllowedSource:
    """Where `source` (a path relative to the landing zone, an absolute path, a file://,
    s3:// or gs:// URL) points, if that is inside the landing zone or an inbox root;
    raises `InputRefused` otherwise. Does not check that the file exists."""
    parsed = urlparse(source)
    roots = [(landing_root, True)] + [(root, False) for root in inbox_roots()]
    if parsed.scheme in OBJECT_SCHEMES:
        if ".." in PurePosixPath(parsed.path).parts:
            raise _refused(source, landing_root)
        for root, is_landing in roots:
            if _local_dir(root) is None and source.startswith(root.rstrip("/") + "/"):
                return AllowedSource(source, False, is_landing)
        raise _refused(source, landing_root)
    if parsed.scheme == "file" and parsed.netloc in ("", "localhost"):
        candidate = Path(unquote(parsed.path))
    elif not parsed.scheme:
        candidate = Path(source)
    else:
        raise InputRefused(f"expected a landing-zone path, a local path, an http(s) URL or an "
                           f"{'/'.join(OBJECT_SCHEMES)} URL, got scheme {parsed.scheme!r} in "
                           f"{source!r}")
    if not candidate.is_absolute():
        landing_dir = _local_dir(landing_root)
        if landing_dir is None:  # object-storage landing zone: a key below it
            return allowed_source(f"{landing_root.rstrip('/')}/{source}", landing_root)
        candidate = landing_dir / candidate
    resolved = candidate.resolve()  # follows every symlink that exists, removes `..`
    for root, is_landing in roots:
        root_dir = _local_dir(root)
        if root_dir is not None and resolved.is_relative_to(root_dir.resolve()):
            return AllowedSource(str(resolved), True, is_landing)
    raise _refused(source, landing_root)


def open_regular(path: str, source: str) -> BinaryIO:
    """`path` opened for binary reading if it is a regular file; `source` (the param) is
    what errors name. Opens without following a final symlink and without blocking on a
    FIFO, then checks the open descriptor."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        where = "" if path == source else f" at {path}"  # a relative path: where it looked
        raise InputRefused(f"expected an existing file, got {source!r} (not found{where}); check "
                           f"the name, or upload the file to the landing zone / an inbox root"
                           ) from None
    except OSError as exc:  # a symlink swapped in after the check (ELOOP), no permission
        raise InputRefused(f"expected a readable regular file, got {source!r} "
                           f"({exc.strerror}); check the file's type and permissions") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = next((name for test, name in _KINDS if test(mode)), "special file")
        raise InputRefused(f"expected a regular file, got a {kind} at {source!r}; name a file")
    return os.fdopen(fd, "rb")
