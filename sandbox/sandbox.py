"""``Sandbox``: start the AWS, Azure and GCP emulators in-process and wire them together.

    from sandbox import Sandbox
    with Sandbox(seed=1, scale=1000) as sb:
        sb.aws_url, sb.azure_url, sb.azure_tls_url, sb.gcp_url      # base URLs
        sb.golden("aws-cur", "2024-01")                             # newest golden of a slice
        sb.set_faults("azure.query:429:first=2")                    # replace the fault rules
        sb.restate("aws", "2024-01", layout="cur1")                 # new assembly / version

All servers share one FaultPlan and one GoldenRegistry. ``endpoints`` is the JSON the CLI
prints when ready. Keyword arguments are SandboxConfig fields.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from sandbox.config import SandboxConfig
from sandbox.faults import FaultPlan
from sandbox.golden import GoldenRegistry
from sandbox.httpkit import SandboxServer


class Sandbox:
    def __init__(self, config: SandboxConfig | None = None, **kwargs: Any) -> None:
        self.config = config or SandboxConfig(**kwargs)
        self.faults = FaultPlan(self.config.seed, self.config.faults)
        self.goldens = GoldenRegistry()
        self.servers: dict[str, SandboxServer] = {}
        self._own_state = self.config.state_dir is None
        self.state_dir = Path(self.config.state_dir or tempfile.mkdtemp(prefix="billing-sandbox-"))
        self.user_goldens: list[Any] = []

    # ---- lifecycle ---------------------------------------------------------------------
    def start(self) -> "Sandbox":
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        c = self.config
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if "gcp" in c.providers:
            from sandbox.gcp.server import GcpServer

            gcp = self.servers["gcp"] = GcpServer(c, self.faults, self.goldens)
            gcp.start()
        if "azure" in c.providers:
            from sandbox.azure.server import AzureServer
            from sandbox.tls import server_context, write_self_signed

            cert, key = write_self_signed(self.state_dir / "tls", c.host, tuple(c.tls_hostnames))
            azure = self.servers["azure"] = AzureServer(c, self.faults, self.goldens, self.state_dir, server_context(cert, key))
            self.azure_ca_cert = str(cert)
            azure.publish_exports()
            azure.start()
        if "aws" in c.providers:
            from sandbox.aws.server import AwsServer

            aws = self.servers["aws"] = AwsServer(c, self.faults, self.goldens, self.state_dir)
            aws.start()
            aws.publisher.publish_all()
        if "ils" in c.providers:
            from sandbox.ils.server import IlsServer

            ils = self.servers["ils"] = IlsServer(c, self.faults, self.goldens,
                                                  None if self._own_state else self.state_dir)
            ils.start()
        if c.data_dir is not None:
            from sandbox.userdata import load_user_data

            self.user_goldens = load_user_data(self, Path(c.data_dir))
        for server in self.servers.values():
            server.endpoints_info = self.endpoints

    def stop(self) -> None:
        for server in reversed(list(self.servers.values())):
            try:
                server.stop()
            except Exception:  # keep stopping the others; a failed stop must not leak ports
                pass
        self.servers = {}
        if self._own_state:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ---- addresses ---------------------------------------------------------------------
    def _url(self, name: str) -> str | None:
        server = self.servers.get(name)
        return server.url if server else None

    @property
    def aws_url(self) -> str | None:
        return self._url("aws")

    @property
    def azure_url(self) -> str | None:
        return self._url("azure")

    @property
    def azure_tls_url(self) -> str | None:
        server = self.servers.get("azure")
        return server.tls_url if server else None

    @property
    def gcp_url(self) -> str | None:
        return self._url("gcp")

    @property
    def ils_url(self) -> str | None:
        return self._url("ils")

    @property
    def ils(self):
        """The ILS server (its `store`, `limiter`, `tokens`, `writes`), for in-process tests."""
        return self.servers["ils"]

    @property
    def endpoints(self) -> dict[str, Any]:
        """Everything a client needs to connect (also printed by the CLI when ready)."""
        c = self.config
        out: dict[str, Any] = {"seed": c.seed, "scale": c.scale, "months": list(c.months), "state_dir": str(self.state_dir)}
        if "aws" in self.servers:
            out["aws"] = {"url": self.aws_url, "bucket": c.aws_bucket, "region": "us-east-1",
                          "access_key_id": "sandbox", "secret_access_key": "sandbox",
                          "cur": {"prefix": c.cur_prefix, "report": c.cur_report},
                          "cur2": {"prefix": c.cur2_prefix, "export": c.cur2_export}}
        if "azure" in self.servers:
            out["azure"] = {"url": self.azure_url, "tls_url": self.azure_tls_url, "ca_cert": self.azure_ca_cert,
                            "authority": self.azure_tls_url, "tenant": c.azure_tenant,
                            "client_id": next(iter(c.azure_clients)),
                            # a secret given through the environment is never echoed (the
                            # ready JSON goes to logs); the built-in emulator one is public
                            "client_secret": ("from $SANDBOX_CLIENT_SECRET" if c.client_secret_from_env
                                              else next(iter(c.azure_clients.values()))),
                            "billing_account": c.azure_billing_account,
                            "scope": f"providers/Microsoft.Billing/billingAccounts/{c.azure_billing_account}",
                            "subscriptions": self.servers["azure"].data.subscription_ids(),
                            "blob_url": f"{self.azure_url}/blob/{c.azure_storage_account}", "container": c.azure_container}
        if "gcp" in self.servers:
            out["gcp"] = {"url": self.gcp_url, "api_root": f"{self.gcp_url}/bigquery/v2", "project": c.gcp_project,
                          "dataset": c.gcp_dataset, "table": c.gcp_table, "billing_account": c.gcp_billing_account}
        if "ils" in self.servers:
            out["ils"] = {"url": self.ils_url, "tenant": c.ils_tenant, "username": c.ils_username,
                          "password": ("from $SANDBOX_CLIENT_SECRET" if c.ils_password_from_env
                                       else c.ils_password),
                          "token_ttl_s": c.ils_token_ttl_s, "rate_limit_per_s": c.ils_rate_limit,
                          "batch_max": c.ils_batch_max}
        return out

    # ---- control -----------------------------------------------------------------------
    def set_faults(self, spec: Any, mode: str = "replace") -> None:
        self.faults.set(spec, mode=mode)

    def clear_faults(self) -> None:
        self.faults.clear()

    def golden(self, provider: str, period: str, account: str | None = None, version: int | None = None) -> dict[str, Any]:
        """The golden (JSON form) of one slice: the given version, else the newest."""
        found = self.goldens.find(provider=provider, period=period, account=account, version=version)
        if not found:
            raise KeyError(f"expected a golden for provider={provider!r} period={period!r} account={account!r} "
                           f"version={version!r}; known providers: {sorted({g.provider for g in self.goldens.find()})}")
        return found[-1].to_json()

    def goldens_json(self, **filters: Any) -> list[dict[str, Any]]:
        return [g.to_json() for g in self.goldens.find(**filters)]

    def restate(self, provider: str, period: str, **options: Any) -> dict[str, Any]:
        """Publish the next version of a month: provider 'aws' (layout='cur1'|'cur2'), 'azure' or 'gcp'."""
        server = self.servers[provider]
        return server.restate({"month": period, **options})

    def requests(self, provider: str, endpoint: str | None = None) -> list[dict[str, Any]]:
        return self.servers[provider].log.entries(endpoint)

    def quota(self) -> dict[str, Any]:
        return self.servers["azure"].quota.summary()
