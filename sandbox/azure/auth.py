"""Microsoft identity platform (v2.0) client-credentials flow, just enough for azure-identity.

``ClientSecretCredential(tenant, client_id, secret, authority=<azure_tls_url>,
connection_verify=<azure_ca_cert>)`` works against it: MSAL's instance discovery
(``/common/discovery/instance``), tenant discovery
(``/{tenant}/v2.0/.well-known/openid-configuration``) and ``POST /{tenant}/oauth2/v2.0/token``.
Any tenant id is accepted (tokens carry it: that is the tenant the QPU quota charges); the
client id / secret pairs come from config.azure_clients. Tokens are opaque and expire after
an hour. Errors use AAD's shape: {"error", "error_description": "AADSTS...", "error_codes"}.
"""
from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN_LIFETIME = 3599


@dataclass(frozen=True)
class Grant:
    tenant: str
    client_id: str
    expires_at: float


class TokenIssuer:
    def __init__(self, clients: dict[str, str], lifetime: int = TOKEN_LIFETIME) -> None:
        self.clients, self.lifetime = dict(clients), lifetime
        self._tokens: dict[str, Grant] = {}
        self._lock = threading.Lock()

    def issue(self, tenant: str, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        """(status, JSON body) for a token request."""
        value = lambda k: (form.get(k) or [""])[0]  # noqa: E731
        if value("grant_type") != "client_credentials":
            return 400, aad_error("unsupported_grant_type", 70003,
                                  f"expected grant_type=client_credentials, got {value('grant_type')!r}")
        client_id = value("client_id")
        if client_id not in self.clients:
            return 400, aad_error("unauthorized_client", 700016,
                                  f"Application with identifier '{client_id}' was not found in the directory '{tenant}'.")
        if not secrets.compare_digest(value("client_secret"), self.clients[client_id]):
            return 401, aad_error("invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent "
                                  "in the request is the client secret value, not the client secret ID.")
        if not value("scope").endswith("/.default"):
            return 400, aad_error("invalid_scope", 1002012,
                                  f"expected a scope ending in '/.default' for client credentials, got {value('scope')!r}")
        token = f"sbx.{secrets.token_urlsafe(24)}"
        with self._lock:
            self._tokens[token] = Grant(tenant, client_id, time.time() + self.lifetime)
        return 200, {"token_type": "Bearer", "expires_in": self.lifetime, "ext_expires_in": self.lifetime,
                     "access_token": token}

    def check(self, authorization: str | None) -> tuple[Grant | None, str, str]:
        """(grant, error code, message) for an Authorization header; grant None means 401."""
        if not authorization:
            return None, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is not a Bearer token."
        with self._lock:
            grant = self._tokens.get(token.strip())
        if grant is None:
            return None, "InvalidAuthenticationToken", "The access token is invalid."
        if grant.expires_at < time.time():
            return None, "ExpiredAuthenticationToken", "The access token expiry UTC time is earlier than current UTC time."
        return grant, "", ""


def aad_error(error: str, code: int, description: str) -> dict[str, Any]:
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    trace = str(uuid.uuid4())
    return {"error": error, "error_description": f"AADSTS{code}: {description} Trace ID: {trace} Timestamp: {now}",
            "error_codes": [code], "timestamp": now, "trace_id": trace, "correlation_id": str(uuid.uuid4())}


def openid_configuration(base: str, tenant: str) -> dict[str, Any]:
    root = f"{base}/{tenant}"
    return {
        "token_endpoint": f"{root}/oauth2/v2.0/token",
        "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
        "issuer": f"{root}/v2.0",
        "jwks_uri": f"{root}/discovery/v2.0/keys",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "tenant_region_scope": "WW",
    }


def instance_discovery(base: str, authorization_endpoint: str | None) -> dict[str, Any]:
    path = urlsplit(authorization_endpoint or "").path.strip("/").split("/")
    tenant = path[0] if path and path[0] else "common"
    host = urlsplit(base).netloc
    return {"tenant_discovery_endpoint": f"{base}/{tenant}/v2.0/.well-known/openid-configuration",
            "api-version": "1.1", "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}]}


def parse_form(body: bytes) -> dict[str, list[str]]:
    return parse_qs(body.decode("utf-8"), keep_blank_values=True)
