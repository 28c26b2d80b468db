"""Sandbox configuration: one dataclass, defaults chosen so a bare ``Sandbox()`` is useful.

``scale`` is the number of generated rows per *slice* (provider x billing account x month);
restated versions add a few late rows on top (see each generator).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.periods import parse_month

PROVIDERS = ("aws", "azure", "gcp", "ils")


@dataclass
class SandboxConfig:
    seed: int = 1
    scale: int = 1000
    months: tuple[str, ...] = ("2024-01", "2024-02")
    host: str = "127.0.0.1"
    aws_port: int = 0
    azure_port: int = 0
    azure_tls_port: int = 0
    gcp_port: int = 0
    faults: Any = None
    data_dir: Path | None = None
    state_dir: Path | None = None
    providers: tuple[str, ...] = PROVIDERS
    # AWS (both CUR layouts live in one bucket)
    aws_bucket: str = "sandbox-billing"
    aws_payer: str = "111122223333"
    cur_prefix: str = "cur"
    cur_report: str = "sandbox-cur"
    cur2_prefix: str = "cur2"
    cur2_export: str = "sandbox-cur2"
    aws_rows_per_file: int = 100_000
    # Azure
    azure_tenant: str = "00000000-0000-4000-8000-00000000a2a2"
    azure_clients: dict[str, str] = field(default_factory=lambda: {"sandbox-client": "sandbox-secret"})
    client_secret_from_env: bool = False  # azure_clients' secret came from $SANDBOX_CLIENT_SECRET
    azure_billing_account: str = "12345678"
    azure_page_size: int = 1000
    azure_max_page_size: int = 5000
    azure_qpu_limits: tuple[tuple[int, int], ...] = ((10, 12), (60, 60), (3600, 600))
    azure_daily_window: str = "truncate"  # or "error": what a Daily query over 31 days does
    azure_require_auth: bool = True
    tls_hostnames: tuple[str, ...] = ()  # extra names in the Azure TLS certificate (e.g. a compose service)
    azure_storage_account: str = "sandboxexports"
    azure_container: str = "exports"
    azure_export_dialects: tuple[str, ...] = ("ea", "mca", "de", "payg-bom")
    azure_rows_per_part: int = 100_000
    # GCP
    gcp_project: str = "sandbox-billing-project"
    gcp_dataset: str = "billing_export"
    gcp_billing_account: str = "01A2B3-C4D5E6-F7A8B9"
    gcp_page_size: int = 1000
    gcp_max_page_size: int = 100_000
    # ILS (FOLIO-style inventory storage; sandbox/ils/)
    ils_port: int = 0
    ils_tenant: str = "diku"
    ils_username: str = "sandbox-ils"
    ils_password: str = "sandbox-secret"
    ils_password_from_env: bool = False  # ils_password came from $SANDBOX_CLIENT_SECRET
    ils_token_ttl_s: float = 600.0  # FOLIO's default access-token lifetime
    ils_rate_limit: int | None = 25  # calls per second (Alma's threshold); None = no limit
    ils_retry_after: str | None = "1"  # Retry-After on the threshold's 429; None = no header
    ils_batch_max: int = 10_000  # POST_SYNC_MAX_ENTITIES

    def __post_init__(self) -> None:
        self.months = tuple(self.months)
        for month in self.months:
            parse_month(month)
        if self.scale < 1:
            raise ValueError(f"expected scale >= 1 rows per slice, got {self.scale}")
        unknown = set(self.providers) - set(PROVIDERS)
        if unknown:
            raise ValueError(f"expected providers among {PROVIDERS}, got {sorted(unknown)}")
        if self.azure_daily_window not in ("truncate", "error"):
            raise ValueError(f"expected azure_daily_window 'truncate' or 'error', got {self.azure_daily_window!r}")
        if self.ils_rate_limit is not None and self.ils_rate_limit < 1:
            raise ValueError(f"expected ils_rate_limit >= 1 call per second or None, got {self.ils_rate_limit}")
        if self.data_dir is not None:
            self.data_dir = Path(self.data_dir)

    @property
    def gcp_table(self) -> str:
        return "gcp_billing_export_v1_" + self.gcp_billing_account.replace("-", "_")
