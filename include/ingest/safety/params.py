"""Strict formats for the billing DAGs' params that name places: buckets, prefixes, export
folders, connection ids, accounts. A value that fits is still only a name — the provider
decides what it may read — but a `..`, a URL or a stray character never reaches a path
or a request."""
from __future__ import annotations

import re

from include.ingest.safety import InputRefused

# S3 bucket naming rules (lowercase, digits, dots, hyphens; 3-63 chars); GCS is a superset
# without underscores here on purpose.
BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# Airflow connection ids as this project names them.
CONN_ID = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,249}")
# One key segment: letters, digits and the S3 "safe" punctuation; no slash, no `..`.
_SEGMENT = re.compile(r"[A-Za-z0-9!_.*'()=+-]{1,255}")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,254}")  # report / export names
ACCOUNT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")  # AWS/GCP/Azure billing account ids


def _check(pattern: re.Pattern, value, what: str, expected: str):
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise InputRefused(f"expected {what} to be {expected}, got {value!r}; trigger again "
                           f"with a valid value")
    return value


def bucket(value) -> str:
    return _check(BUCKET, value, "the bucket", "an S3/GCS bucket name (3-63 of a-z 0-9 . -)")


def conn_id(value) -> str:
    return _check(CONN_ID, value, "the connection id", "an Airflow connection id "
                  "(a letter, then letters, digits, _ . -)")


def name(value, what: str = "the report name") -> str:
    return _check(NAME, value, what, "a name of letters, digits, _ . -")


def account(value) -> str:
    return _check(ACCOUNT, value, "the billing account", "an account id of letters, digits, "
                  "_ . : -")


def prefix(value, what: str = "the prefix") -> str:
    """An object-key prefix: segments separated by single '/', no leading '/', no '.' or
    '..' segment; empty is allowed (the bucket root)."""
    if value == "":
        return value
    segments = value.rstrip("/").split("/") if isinstance(value, str) else [None]
    if value.startswith("/") or any(s in (".", "..") or not (s and _SEGMENT.fullmatch(s))
                                    for s in segments):
        raise InputRefused(f"expected {what} to be a key prefix like 'cur/reports' (segments of "
                           f"letters, digits, ! _ . * ' ( ) = + -; no leading '/', no '..'), got "
                           f"{value!r}; trigger again with a valid value")
    return value


def scope(value) -> str:
    """An Azure query scope such as 'subscriptions/<id>' (a leading '/' is kept)."""
    if not isinstance(value, str) or not value.strip("/"):
        raise InputRefused(f"expected a query scope like 'subscriptions/<id>', got {value!r}")
    prefix(value.lstrip("/"), "a query scope")
    return value
