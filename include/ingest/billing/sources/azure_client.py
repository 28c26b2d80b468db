"""Azure Cost Management access: settings, client-credentials token, per-tenant quota.

``AzureSettings`` comes from the Airflow connection ``azure_cost`` (``from_connection``):
host = management endpoint, login/password = client id/secret, extras ``tenant_id``,
``authority`` (Entra ID authority; the sandbox's TLS URL locally), ``ca_cert`` (a CA bundle
path for a private endpoint such as the sandbox), ``management_endpoint`` (overrides
host), ``blob_url`` + ``container`` (exports), ``qpu_limits`` ([[seconds, QPU], ...]).

``AzureClient.call`` sends one request through the shared per-tenant quota and the error
table. The quota (billing-formats.md §3.5: 12 QPU / 10 s, 60 / min, 600 / h per tenant;
one QPU per month of data queried) is one ``SharedRateLimiter`` per window in Redis, so
every worker of every host shares it. A refused call (429) charged the tenant nothing at
Azure, so its tokens are refunded here too.
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests

from include.ingest.http import throttle_log
from include.ingest.http.client import resilient_request
from include.ingest.errors import PermanentError, TransientError
from include.ingest.http.ratelimit import SharedRateLimiter
from include.ingest.http.redact import redact_url

MANAGEMENT_SCOPE = "https://management.azure.com/.default"
STORAGE_SCOPE = "https://storage.azure.com/.default"
QPU_LIMITS = ((10.0, 12), (60.0, 60), (3600.0, 600))
# A token is taken on Redis' clock, but Azure counts the request when it arrives; a later
# request can arrive sooner after its token than an earlier one did, so each window is
# widened a little to keep the provider's own count within the limit.
WINDOW_MARGIN_S = 0.25


@dataclass(frozen=True)
class AzureSettings:
    management_url: str
    tenant_id: str
    client_id: str
    client_secret: str = field(repr=False)
    authority: str = "https://login.microsoftonline.com"
    ca_cert: str | None = None
    api_version: str = "2023-11-01"
    blob_url: str | None = None
    container: str | None = None
    qpu_limits: tuple[tuple[float, int], ...] = QPU_LIMITS

    @classmethod
    def from_connection(cls, conn: Any) -> AzureSettings:
        extra = conn.extra_dejson if hasattr(conn, "extra_dejson") else json.loads(conn.extra or "{}")
        url = extra.get("management_endpoint") or conn.host
        missing = [name for name, value in (("host or extra management_endpoint", url),
                                            ("extra tenant_id", extra.get("tenant_id")),
                                            ("login (client id)", conn.login),
                                            ("password (client secret)", conn.password)) if not value]
        if missing:
            raise PermanentError(f"connection {conn.conn_id}: expected {', '.join(missing)}, got none; "
                                 "set them in the Airflow connection (see airflow_settings.yaml)")
        limits = tuple((float(w), int(q)) for w, q in extra.get("qpu_limits") or QPU_LIMITS)
        return cls(url.rstrip("/"), extra["tenant_id"], conn.login, conn.password,
                   extra.get("authority") or cls.authority, extra.get("ca_cert"),
                   extra.get("api_version") or cls.api_version, extra.get("blob_url"),
                   extra.get("container"), limits)


class TenantQuota:
    """Every window of the tenant's quota as one ``SharedRateLimiter`` each (shortest first)."""

    def __init__(self, client: Any, tenant: str, limits: tuple[tuple[float, int], ...],
                 max_wait_s: float = 60.0) -> None:
        self.limiters = [SharedRateLimiter(client, f"azure-cost:{tenant}:{w:g}s", q, w + WINDOW_MARGIN_S,
                                           max_wait_s=max_wait_s) for w, q in sorted(limits)]

    def take(self, qpu: int = 1) -> list[str]:
        """Take ``qpu`` tokens in every window (blocking; ThrottledError past max_wait_s)."""
        members: list[str] = []
        waited = 0.0
        try:
            for _ in range(qpu):
                members.append(uuid.uuid4().hex)
                for limiter in self.limiters:
                    waited += limiter.acquire(members[-1])
        except Exception:  # e.g. ThrottledError from a longer window: give back what was taken
            self.refund(members)
            raise
        if waited > 0:  # the console's "waits per provider" (billing.throttle_events)
            throttle_log.record("azure", "limiter", waited)
        return members

    def refund(self, members: list[str]) -> None:
        for member in members:
            for limiter in self.limiters:
                limiter.refund(member)


class AzureClient:
    """A requests session with a bearer token and the tenant's quota in front of it."""

    def __init__(self, settings: AzureSettings, redis_conn: Any, *, max_attempts: int = 8) -> None:
        from azure.identity import ClientSecretCredential

        self.settings = settings
        self.credential = ClientSecretCredential(
            settings.tenant_id, settings.client_id, settings.client_secret,
            authority=settings.authority, connection_verify=settings.ca_cert or True,
            disable_instance_discovery=settings.authority != AzureSettings.authority)
        self.session = requests.Session()
        self.session.verify = settings.ca_cert or True
        self.quota = TenantQuota(redis_conn, settings.tenant_id, settings.qpu_limits)
        self.max_attempts = max_attempts
        self.calls = 0  # requests sent (for logs and tests)
        self._tokens: dict[str, Any] = {}

    def token(self, scope: str = MANAGEMENT_SCOPE) -> str:
        """A bearer token for ``scope``, reused until five minutes before it expires."""
        from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError

        cached = self._tokens.get(scope)
        if cached is not None and cached.expires_on > time.time() + 300:
            return cached.token  # azure-identity caches too, but logs every call at INFO
        try:
            self._tokens[scope] = self.credential.get_token(scope)
            return self._tokens[scope].token
        except ClientAuthenticationError as exc:
            raise PermanentError(f"Azure token for tenant {self.settings.tenant_id}: expected a token, got "
                                 f"{str(exc).splitlines()[0]}; check client id/secret and tenant_id in "
                                 "the connection") from exc
        except ServiceRequestError as exc:  # the identity endpoint did not answer
            raise TransientError(f"Azure token: expected the authority {self.settings.authority} to "
                                 f"answer, got {exc}; retrying") from exc

    def call(self, method: str, url: str, *, body: dict | None = None, qpu: int = 0,
             scope: str = MANAGEMENT_SCOPE, stream: bool = False, parse=None):
        """One logical request: quota (``qpu`` tokens), then the error table's retry loop."""

        def send():
            # the token first: failing to get one must not spend the tenant's quota
            headers = {"Authorization": f"Bearer {self.token(scope)}"}
            if scope == STORAGE_SCOPE:
                headers["x-ms-version"] = "2021-08-06"  # blob REST needs a version with bearer auth
            members = self.quota.take(qpu) if qpu else []
            self.calls += 1
            response = self.session.request(method, url, json=body, stream=stream, timeout=(10, 120),
                                            headers=headers)
            if response.status_code == 429:
                self.quota.refund(members)
            return response

        return resilient_request(send, url=url, method=method, parse=parse,
                                 max_attempts=self.max_attempts,
                                 on_decision=throttle_log.on_decision_for("azure"))

    def origin(self, url: str) -> str:
        return redact_url(url)
