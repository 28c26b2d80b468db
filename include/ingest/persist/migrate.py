"""Forward-only SQL migrations of the warehouse (`migrations/NNNN_name.sql`).

Pending files are applied in name order in one transaction (all or none), each recorded with its
checksum in `public.ingest_migrations`; an applied file whose text changed stops the run
(an applied migration is history: add a new file instead). An advisory lock makes
concurrent callers (several DAG runs starting at once) apply each file exactly once.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg

from include.ingest.persist.db import advisory_key, connect

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


class MigrationError(RuntimeError):
    """The database's migration history disagrees with the files."""


def migration_files() -> list[Path]:
    return sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql"))


def migrate(url: str | None = None) -> list[str]:
    """Apply pending migrations; return the names applied now (empty when up to date)."""
    applied_now = []
    with connect(url) as conn:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (advisory_key("ingest-migrate"),))
            conn.execute("CREATE TABLE IF NOT EXISTS public.ingest_migrations ("
                         "name text PRIMARY KEY, checksum text NOT NULL, "
                         "applied_at timestamptz NOT NULL DEFAULT now())")
            done = dict(conn.execute("SELECT name, checksum FROM public.ingest_migrations"))
            for path in migration_files():
                sql = path.read_text()
                checksum = hashlib.sha256(sql.encode()).hexdigest()
                if path.name in done:
                    if done[path.name] != checksum:
                        raise MigrationError(
                            f"{path.name} was applied with checksum {done[path.name][:12]}, "
                            f"expected it unchanged, got {checksum[:12]}; never edit an "
                            f"applied migration, add a new NNNN_*.sql file")
                    continue
                try:
                    conn.execute(sql)
                except psycopg.Error as exc:
                    raise MigrationError(f"{path.name} failed: {exc}") from exc
                conn.execute("INSERT INTO public.ingest_migrations (name, checksum) "
                             "VALUES (%s, %s)", (path.name, checksum))
                applied_now.append(path.name)
    return applied_now


if __name__ == "__main__":
    print({"applied": migrate()})
