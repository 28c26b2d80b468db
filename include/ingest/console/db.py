"""Read-only connections for the console: the warehouse and Airflow's metadata database.

Every query the console runs is bounded (`statement_timeout`) and read-only (the session
is `default_transaction_read_only`), so a slow page can never hold a pipeline's lock or
change data; actions go through Airflow's REST API instead (console/actions.py).
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg.rows import dict_row

STATEMENT_TIMEOUT = "15s"
CONNECT_TIMEOUT_S = 5
READ_ONLY_OPTIONS = f"-c statement_timeout={STATEMENT_TIMEOUT} -c default_transaction_read_only=on"


def _libpq_url(url: str) -> str:
    """Airflow's SQLAlchemy URL (`postgresql+psycopg2://`) as a libpq URL."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql://{rest}" if sep and scheme.startswith("postgresql") else url


def warehouse_url() -> str:
    url = os.environ.get("INGEST_DB_URL")
    if not url:
        raise RuntimeError("INGEST_DB_URL is not set; expected the warehouse's postgresql:// URL")
    return url


def metadata_url() -> str:
    url = os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
    if not url:
        from airflow.configuration import conf
        url = conf.get("database", "sql_alchemy_conn")
    return _libpq_url(url)


@contextmanager
def read_only(url: str) -> Iterator[psycopg.Connection]:
    """A read-only connection returning rows as dicts."""
    with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S, options=READ_ONLY_OPTIONS,
                         row_factory=dict_row, autocommit=True) as conn:
        yield conn


@dataclass(frozen=True)
class Page:
    """One page of a large table, paginated by the server (never the browser)."""

    rows: list[dict]
    total: int
    offset: int
    limit: int

    def to_json(self) -> dict:
        return {"rows": self.rows, "total": self.total, "offset": self.offset, "limit": self.limit}


MAX_LIMIT = 200


def bounded(limit: int, offset: int) -> tuple[int, int]:
    """Clamp a client's paging to 1..MAX_LIMIT rows from a non-negative offset."""
    return max(1, min(int(limit), MAX_LIMIT)), max(0, int(offset))


def table_exists(conn: psycopg.Connection, name: str) -> bool:
    """True when `schema.table` exists (sections of work not merged yet, e.g. `ils.*`)."""
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL AS present", (name,)).fetchone()["present"]


def paged(conn: psycopg.Connection, select: str, source: str, order: str, params: dict,
          limit: int, offset: int) -> Page:
    """`SELECT <select> FROM <source> ORDER BY <order>` one page at a time, with the total
    count of `source` (which carries its own WHERE with %(name)s placeholders from `params`)."""
    limit, offset = bounded(limit, offset)
    total = conn.execute(f"SELECT count(*) AS n FROM {source}", params).fetchone()["n"]
    rows = conn.execute(f"SELECT {select} FROM {source} ORDER BY {order} "
                        f"LIMIT %(limit)s OFFSET %(offset)s",
                        {**params, "limit": limit, "offset": offset}).fetchall()
    return Page(rows, total, offset, limit)
