"""Passwords of the local servers and the URLs that carry them.

Each local PostgreSQL / Redis (the stack's, the test servers', the benchmark's) keeps its
generated passwords next to its data, in `<home>/<name>.password` (mode 0600 from the first
byte). PostgreSQL has two roles: the bootstrap superuser `ingest`, used only to create
databases and roles (tests create a database per session with it), and `ingest_app`, a
plain role that owns the `airflow` and `warehouse` databases and is what every Airflow
process connects as — so a DAG cannot reach `COPY … TO PROGRAM` or other superuser powers.
Redis asks for a password (`requirepass`), given to it on stdin so it never shows in `ps`.
"""
from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import quote

from devstack.state import write_private

SUPERUSER, APP_ROLE = "ingest", "ingest_app"


def server_password(home: Path, name: str) -> str:
    """The password `name` of the server living in `home`, generated on first use and kept."""
    path = Path(home) / f"{name}.password"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_private(path, secrets.token_urlsafe(24))
    return path.read_text().strip()


def postgres_url(home: Path, port: int, database: str, *, superuser: bool = False,
                 driver: str = "postgresql") -> str:
    """A TCP URL of the local PostgreSQL in `home`: as `ingest_app`, or as the superuser
    (creating databases and roles only)."""
    user = SUPERUSER if superuser else APP_ROLE
    password = server_password(home, "postgres-superuser" if superuser else "postgres-app")
    return f"{driver}://{user}:{quote(password, safe='')}@127.0.0.1:{port}/{database}"


def redis_url(home: Path, port: int, db: int = 0) -> str:
    return f"redis://:{quote(server_password(home, 'redis'), safe='')}@127.0.0.1:{port}/{db}"
