"""Where a stack keeps its state, which ports it uses, and the environment it runs in.

A stack lives in one directory (default `.local/stack`). Ports and secrets are chosen on
the first start and saved there, so a second start reuses the same URLs, credentials and
data. Secrets are generated locally and never leave that directory.
"""
from __future__ import annotations

import json
import os
import secrets
import socket
from dataclasses import dataclass, field
from pathlib import Path

from include.ingest.queues import QUEUES, WORKER_GROUPS

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_HOME = ROOT / ".local" / "stack"

# Ports the stack needs; "api" prefers 8080 (the documented UI address), the rest are free.
PORT_NAMES = ("api", "postgres", "redis", "scheduler_health", "triggerer_logs",
              "sandbox_aws", "sandbox_azure", "sandbox_azure_tls", "sandbox_gcp", "sandbox_ils",
              *(f"worker_logs_{group}" for group in WORKER_GROUPS))
PREFERRED_PORTS = {"api": 8080}

ADMIN_USER = "admin"
# a read-only login (SimpleAuthManager role viewer): sees the console, may trigger nothing
VIEWER_USER = "viewer"


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, 0600 from its first byte (a `write_text` then
    `chmod` leaves a moment in which another local user can open it)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its old mode through O_CREAT
    with os.fdopen(fd, "w") as out:
        out.write(text)


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class StackState:
    """Persistent facts of one local stack: its directory, ports and secrets."""

    home: Path
    ports: dict[str, int] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)

    @property
    def state_file(self) -> Path:
        return self.home / "state.json"

    @property
    def airflow_home(self) -> Path:
        return self.home / "airflow"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @classmethod
    def load(cls, home: Path | None = None) -> "StackState":
        home = Path(home or os.environ.get("INGEST_STACK_HOME") or DEFAULT_HOME).resolve()
        state = cls(home=home)
        if state.state_file.exists():
            saved = json.loads(state.state_file.read_text())
            state.ports, state.secrets = saved["ports"], saved["secrets"]
        return state

    def save(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        write_private(self.state_file, json.dumps({"ports": self.ports, "secrets": self.secrets},
                                                  indent=2))

    def assign(self, running: bool = False) -> None:
        """Choose ports and secrets that are not chosen yet (or whose port was taken).

        `running` says the stack's own processes hold their ports, so a busy saved port is
        ours and is kept.
        """
        for name in PORT_NAMES:
            saved = self.ports.get(name)
            if saved and (running or port_is_free(saved)):
                continue
            preferred = PREFERRED_PORTS.get(name, 0)
            if name == "api" and os.environ.get("AIRFLOW_API_PORT"):
                preferred = int(os.environ["AIRFLOW_API_PORT"])  # 0 = any free port
            taken = {port for other, port in self.ports.items() if other != name}
            port = preferred if preferred and preferred not in taken and port_is_free(preferred) else 0
            while not port or port in taken:  # the kernel may hand a released port out again
                port = free_port()
            self.ports[name] = port
        self.secrets.setdefault("jwt_secret", secrets.token_urlsafe(48))
        self.secrets.setdefault("api_secret_key", secrets.token_urlsafe(32))
        self.secrets.setdefault("sandbox_client_secret", secrets.token_urlsafe(24))
        # the UI / REST login: generated per stack, never a fixed admin/admin
        self.secrets.setdefault("admin_password", secrets.token_urlsafe(12))
        self.secrets.setdefault("viewer_password", secrets.token_urlsafe(12))
        if "fernet_key" not in self.secrets:
            from cryptography.fernet import Fernet
            self.secrets["fernet_key"] = Fernet.generate_key().decode()
        self.save()

    @property
    def admin_password(self) -> str:
        return self.secrets["admin_password"]

    @property
    def viewer_password(self) -> str:
        return self.secrets["viewer_password"]

    @property
    def api_url(self) -> str:
        return f"http://localhost:{self.ports['api']}"


def worker_queue_arg(group: str) -> str:
    return ",".join(WORKER_GROUPS[group]["queues"])


def all_queues() -> tuple[str, ...]:
    return QUEUES
