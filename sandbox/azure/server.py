"""Azure emulator: Cost Management Query API, exports blob endpoint, OAuth2 token endpoint.

Routes (endpoint names for fault rules in brackets):
  POST /{scope}/providers/Microsoft.CostManagement/query?api-version=...   [azure.query]
       (GET on it is a 405; the nextLink must be POSTed with the same body, else 400
       "Invalid query definition, Dataset is invalid or not supplied")
  POST /{tenant}/oauth2/v2.0/token                                         [azure.token]
  GET  /{tenant}/v2.0/.well-known/openid-configuration, /common/discovery/instance [azure.oidc]
  GET  /blob/{account}/{container}?restype=container&comp=list              [azure.blob.list]
  GET|HEAD /blob/{account}/{container}/{name}                               [azure.blob.get]
Admin: GET /_sandbox/quota (QPU log + per-tenant summary), DELETE /_sandbox/quota.

The query API requires a bearer token from the token endpoint (config.azure_require_auth) and
charges the token's tenant one QPU per month of the window (quota.py); over quota -> 429 with
the x-ms-ratelimit-microsoft.costmanagement-{qpu,entity,tenant,client,clienttype}-retry-after
headers. Page faults: ``repeat-token`` returns a nextLink with the request's own $skiptoken;
``restate`` bumps the version of the window's first month before the page is computed.
``extra-row`` (query listings, export parts and manifests): see extra_row.py.
"""
from __future__ import annotations

import base64
import collections
import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sandbox.azure import auth, exports, extra_row, query, results
from sandbox.azure.blobstore import BlobStore
from sandbox.azure.dataset import PROVIDER, AzureDataset
from sandbox.azure.quota import QpuQuota
from sandbox.config import SandboxConfig
from sandbox.detrand import stable_uuid
from sandbox.faults import Fault, FaultPlan
from sandbox.golden import GoldenRegistry
from sandbox.httpkit import HandlerError, Request, Response, SandboxServer, admin_json, json_response, retry_after_value
from sandbox.periods import days_in

RL = "x-ms-ratelimit-microsoft.costmanagement"
RETRY_HEADERS = [f"{RL}-{kind}-retry-after" for kind in ("qpu", "entity", "tenant", "client", "clienttype")]


def arm_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response({"error": {"code": code, "message": message}}, status, headers)


class AzureServer(SandboxServer):
    name = "azure"

    def __init__(self, config: SandboxConfig, faults: FaultPlan, goldens: GoldenRegistry, workdir: Path, tls_context: Any = None) -> None:
        super().__init__(config.host, config.azure_port, faults, goldens, tls_port=config.azure_tls_port, tls_context=tls_context)
        self.config, self.workdir = config, workdir
        self.data = AzureDataset(config)
        self.tokens = auth.TokenIssuer(config.azure_clients)
        self.quota = QpuQuota(config.azure_qpu_limits)
        self.blobs = BlobStore(config.azure_storage_account)
        self._cache: collections.OrderedDict[tuple[Any, ...], Any] = collections.OrderedDict()
        self._cache_lock = threading.Lock()
        self._export_lock = threading.Lock()
        last = max(config.months) if config.months else "2024-01"
        self.today = dt.date(int(last[:4]), int(last[5:]), days_in(last))
        self.add_route("POST", r"/(?P<scope>.+)/providers/Microsoft\.CostManagement/query", "azure.query", self.query)
        self.add_route("POST", r"/(?P<tenant>[^/]+)/oauth2/v2\.0/token", "azure.token", self.token)
        self.add_route("GET", r"/(?P<tenant>[^/]+)/v2\.0/\.well-known/openid-configuration", "azure.oidc",
                       lambda r: json_response(auth.openid_configuration(r.base_url, r.match["tenant"])))
        self.add_route("GET", r"/common/discovery/instance", "azure.oidc",
                       lambda r: json_response(auth.instance_discovery(r.base_url, r.arg("authorization_endpoint"))))
        self.add_route("GET", r"/blob/(?P<account>[^/]+)/(?P<container>[^/]+)/?", "azure.blob.list", self._list_blobs)
        self.add_route("GET", r"/blob/(?P<account>[^/]+)/(?P<container>[^/]+)/(?P<name>.+)", "azure.blob.get", self._get_blob)
        self.add_route("GET", r"/_sandbox/quota", None, lambda r: admin_json({**self.quota.summary(), "log": list(self.quota.log)}))
        self.add_route("DELETE", r"/_sandbox/quota", None, lambda r: (self.quota.reset(), admin_json({"ok": True}))[1])

    # ---- data --------------------------------------------------------------------------
    def publish_exports(self) -> None:
        """Export runs for every month and dialect, and lazy goldens of the query data."""
        container = self.workdir / "azure-blobs" / self.config.azure_container
        container.mkdir(parents=True, exist_ok=True)
        self.blobs.mount(self.config.azure_container, container)
        self.export_extras = extra_row.ExportExtras(self.data, container)
        for month in self.config.months:
            self._register(month, 0)

    def _register(self, month: str, version: int) -> None:
        ds = self.data
        self.goldens.put_lazy(PROVIDER, ds.account, month, version, lambda: ds.golden(month, version))
        container = self.blobs.containers[self.config.azure_container]
        with self._export_lock:
            runs = exports.publish_runs(ds, container, self.config.azure_export_dialects, month, version,
                                        self.config.azure_rows_per_part, self.config.azure_storage_account)
        for golden in runs:
            self.goldens.put(golden)
            self.export_extras.add_run(golden.info["manifest"], golden.info["dialect"], month, version)

    def restate(self, body: dict[str, Any]) -> dict[str, Any]:
        month = body.get("month") or body.get("period")
        try:
            version = self.data.restate(month)
        except ValueError as exc:
            raise HandlerError(admin_json({"error": str(exc)}, 400)) from exc
        self._register(month, version)
        golden = self.goldens.find(provider=PROVIDER, period=month, version=version, account=self.data.account)[0].to_json()
        golden["exports"] = [g.to_json() for g in self.goldens.find(period=month, version=version, account=self.data.account)
                             if g.provider.startswith("azure-export:")]
        return golden

    # ---- hooks -------------------------------------------------------------------------
    def identify(self, req: Request) -> str | None:
        if req.endpoint == "azure.token":
            return req.match["tenant"]
        grant, _, _ = self.tokens.check(req.headers.get("Authorization"))
        return grant.tenant if grant else None

    def fault_response(self, req: Request, fault: Fault) -> Response:
        if fault.kind == "429":
            value = retry_after_value(fault.retry_after)
            headers = {h: fault.retry_after if fault.retry_after != "http-date" else "2" for h in RETRY_HEADERS}
            headers["Retry-After"] = value
            return arm_error(429, "429", "Too many requests. Please retry.", headers)
        if fault.kind == "429-bare":
            return arm_error(429, "429", "Too many requests. Please retry.")
        if fault.kind == "503":
            return arm_error(503, "ServiceUnavailable", "The service is unavailable.", {"Retry-After": retry_after_value(fault.retry_after)})
        code = {"500": "InternalServerError", "502": "BadGateway"}[fault.kind]
        return arm_error(int(fault.kind), code, f"Sandbox fault {fault.kind}.")

    def not_found(self, req: Request) -> Response:
        return arm_error(404, "NotFound", f"No route for {req.method} {req.path}; expected a Cost Management query, token or blob URL.")

    # ---- handlers ----------------------------------------------------------------------
    def token(self, req: Request) -> Response:
        status, body = self.tokens.issue(req.match["tenant"], auth.parse_form(req.body))
        return json_response(body, status)

    def _list_blobs(self, req: Request) -> Response:
        return self.blobs.list_blobs(req, req.match["container"])

    def _get_blob(self, req: Request) -> Response:
        container, name, suffix = req.match["container"], req.match["name"], b""
        if req.fault is not None and req.fault.kind == "extra-row" and container == self.config.azure_container:
            manifest = self.export_extras.manifest(name, req.fault)
            if manifest is not None:
                return Response(200, manifest, {"x-ms-blob-type": "BlockBlob"}, content_type="application/json")
            suffix = self.export_extras.part_suffix(name, req.fault)
        return self.blobs.get_blob(req, container, name, suffix)

    def query(self, req: Request) -> Response:
        if not req.arg("api-version"):
            return arm_error(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
        tenant = "anonymous"
        if self.config.azure_require_auth:
            grant, code, message = self.tokens.check(req.headers.get("Authorization"))
            if grant is None:
                return arm_error(401, code, message, {"WWW-Authenticate": f'Bearer authorization_uri="{req.base_url}/{self.config.azure_tenant}", error="invalid_token"'})
            tenant = grant.tenant
        scope = self.data.resolve_scope(req.match["scope"])
        if scope is None:
            return arm_error(404, "NotFound", f"Scope '{req.match['scope']}' was not found; expected providers/Microsoft.Billing/billingAccounts/{self.data.account}, subscriptions/<one of {self.data.subscription_ids()}> or a resource group under them.")
        token_text = req.arg("$skiptoken")
        try:
            body = json.loads(req.body.decode("utf-8-sig")) if req.body.strip() else None
        except ValueError:
            return arm_error(400, "BadRequest", query.DATASET_MISSING)
        offset, top = 0, None
        if token_text:
            try:
                state = json.loads(base64.urlsafe_b64decode(token_text + "=" * (-len(token_text) % 4)))
                offset, top, expected_hash = int(state["o"]), state.get("t"), state["h"]
            except (ValueError, KeyError, TypeError):
                return arm_error(400, "BadRequest", f"Invalid $skiptoken {token_text[:40]!r}; follow nextLink verbatim.")
            if body is None or not isinstance(body, dict) or "dataset" not in body:
                return arm_error(400, "BadRequest", query.DATASET_MISSING)
            if query.body_hash(body) != expected_hash:
                return arm_error(400, "BadRequest", "Invalid query definition: the body differs from the query that produced this $skiptoken; POST the nextLink with the same body.")
        try:
            spec = query.parse_body(body, self.today, self.config.azure_daily_window, scope)
        except query.QueryError as exc:
            return arm_error(exc.status, exc.code, str(exc))
        granted, retry_after, remaining = self.quota.charge(tenant, spec.qpu, req.path)
        if not granted:
            headers = {h: str(retry_after) for h in RETRY_HEADERS}
            headers[f"x-ms-ratelimit-remaining-microsoft.costmanagement-tenant-requests"] = "0"
            return arm_error(429, "429", f"Too many requests. Please retry after {retry_after} seconds.", headers)
        if req.fault is not None and req.fault.kind == "restate":
            months = results.months_in_window(spec, self.data)
            if months:
                self.restate({"month": months[0]})
        result = self._result(spec, scope)
        if req.fault is not None and req.fault.kind == "extra-row":
            result = extra_row.query_result(result, self.data, spec, scope, req.fault)
        size = int(top) if top else int(req.arg("$top") or self.config.azure_page_size)
        size = max(1, min(size, self.config.azure_max_page_size))
        rows = result.rows(offset, size)
        next_link = None
        if req.fault is not None and req.fault.kind == "repeat-token" and token_text:
            next_link = self._next_link(req, token_text)
        elif offset + size < result.total:
            state = {"h": spec.body_hash, "o": offset + size, "t": size}
            next_link = self._next_link(req, base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("="))
        query_id = stable_uuid(self.config.seed, "azq", spec.body_hash, offset)
        payload = {
            "id": f"{req.match['scope']}/providers/Microsoft.CostManagement/Query/{query_id}",
            "name": query_id, "type": "microsoft.costmanagement/Query", "location": None, "sku": None, "eTag": None,
            "properties": {"nextLink": next_link, "columns": spec.columns(), "rows": rows},
        }
        headers = {f"{RL}-qpu-consumed": str(spec.qpu),
                   f"{RL}-qpu-remaining": ";".join(f"PT{k.upper()}={v}" for k, v in remaining.items()),
                   "x-ms-ratelimit-remaining-microsoft.costmanagement-tenant-requests": str(min(remaining.values()))}
        return json_response(payload, 200, headers)

    def _next_link(self, req: Request, token: str) -> str:
        # Azure's nextLink carries a different api-version than the request (billing-formats §3.3)
        return f"{req.base_url}/{req.match['scope']}/providers/Microsoft.CostManagement/Query?api-version=2021-10-01&$skiptoken={quote(token)}"

    def _result(self, spec: query.QuerySpec, scope: Any) -> Any:
        versions = tuple((m, self.data.version(m)) for m in results.months_in_window(spec, self.data))
        key = (scope.path.lower(), spec.body_hash, spec.start, spec.end, versions)
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        result = results.compute(self.data, spec, scope)
        with self._cache_lock:
            self._cache[key] = result
            while len(self._cache) > 32:
                self._cache.popitem(last=False)
        return result
