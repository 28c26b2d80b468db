"""FOLIO-style ILS emulator: Okapi auth, inventory storage, a per-second threshold.

Every API call needs `X-Okapi-Tenant` (400 without, 401 for another tenant) and a live
access token (401). Then the rate limit (429, Alma envelope), then the route. Writes are
logged per record (`/_sandbox/ils/writes`: which request carried which record, with what
outcome) so tests can prove a record was never sent twice; every accepted change is in
the audit trail (`/_sandbox/ils/audit`) with before/after snapshots. API details:
sandbox/README.md "ILS".
"""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any, Callable

from sandbox.faults import Fault, FaultPlan
from sandbox.golden import GoldenRegistry
from sandbox.httpkit import Request, Response, SandboxServer, admin_json, retry_after_value
from sandbox.ils.auth import TokenIssuer
from sandbox.ils.cql import CqlError, select
from sandbox.ils.limiter import PerSecondThreshold
from sandbox.ils.store import KINDS, InventoryStore, StorageError

PATHS = {"instances": "/instance-storage/instances", "holdings": "/holdings-storage/holdings",
         "items": "/item-storage/items"}
BATCH_PATHS = {"instances": "/instance-storage/batch/synchronous",
               "holdings": "/holdings-storage/batch/synchronous",
               "items": "/item-storage/batch/synchronous"}
COLLECTION_KEY = {"instances": "instances", "holdings": "holdingsRecords", "items": "items"}
ALMA_THRESHOLD = {"errorsExist": True, "errorList": {"error": [{
    "errorCode": "PER_SECOND_THRESHOLD", "errorMessage": "HTTP requests are more than allowed per second",
    "trackingId": "E01-SANDBOX"}]}, "result": None}


def text(status: int, message: str) -> Response:
    return Response(status, message.encode(), content_type="text/plain; charset=utf-8")


def jsonr(obj: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(status, json.dumps(obj).encode(), dict(headers or {}))


class IlsServer(SandboxServer):
    name = "ils"

    def __init__(self, config, faults: FaultPlan, goldens: GoldenRegistry, state_dir: Path | None) -> None:
        super().__init__(config.host, config.ils_port, faults, goldens)
        self.config = config
        self.store = InventoryStore()
        self.tokens = TokenIssuer(config.ils_token_ttl_s)
        self.limiter = PerSecondThreshold(config.ils_rate_limit or None, 1.0, config.ils_retry_after)
        self.writes: list[dict] = []
        self._writes_lock = threading.Lock()
        self.state_file = Path(state_dir) / "ils-state.json" if state_dir else None
        if self.state_file and self.state_file.exists():
            self.store.restore(json.loads(self.state_file.read_text()))
        self.add_route("POST", "/authn/login-with-expiry", "ils.login", self._login)
        self.add_route("POST", "/authn/refresh", "ils.refresh", self._refresh)
        for kind in KINDS:
            base = PATHS[kind]
            self.add_route("GET", base, f"ils.{kind}.get", self._api(self._list, kind))
            self.add_route("POST", base, f"ils.{kind}.post", self._api(self._post, kind))
            self.add_route("GET", base + r"/(?P<id>[^/]+)", f"ils.{kind}.get", self._api(self._get, kind))
            self.add_route("PUT", base + r"/(?P<id>[^/]+)", f"ils.{kind}.put", self._api(self._put, kind))
            self.add_route("POST", BATCH_PATHS[kind], f"ils.{kind}.batch", self._api(self._batch, kind))
        self.add_route("GET", "/_sandbox/ils/state", None, self._admin_state)
        self.add_route("GET", "/_sandbox/ils/audit", None, self._admin_audit)
        self.add_route("GET", "/_sandbox/ils/writes", None, self._admin_writes)
        self.add_route("GET", "/_sandbox/ils/limiter", None, lambda r: admin_json(self.limiter.summary()))
        self.add_route("DELETE", "/_sandbox/ils/limiter", None, lambda r: (self.limiter.clear(), admin_json({"ok": True}))[1])
        self.add_route("POST", "/_sandbox/ils/edit", None, self._admin_edit)

    # ---- hooks -------------------------------------------------------------------------
    def identify(self, req: Request) -> str | None:
        # every API arrival counts against the threshold, faulted or not (it reached us)
        req.throttled = not self.limiter.admit()  # type: ignore[attr-defined]
        return req.headers.get("X-Okapi-Tenant")

    def fault_response(self, req: Request, fault: Fault) -> Response:
        if fault.kind.startswith("429"):
            headers = {} if fault.kind == "429-bare" else {"Retry-After": retry_after_value(fault.retry_after)}
            return jsonr(ALMA_THRESHOLD, 429, headers)
        return text(int(fault.kind), f"sandbox fault {fault.kind}")

    def stop(self) -> None:
        super().stop()
        if self.state_file is not None:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            self.state_file.write_text(json.dumps(self.store.snapshot()))

    # ---- auth --------------------------------------------------------------------------
    def _tenant_error(self, req: Request) -> Response | None:
        tenant = req.headers.get("X-Okapi-Tenant")
        if not tenant:
            return text(400, "Missing Tenant")
        if tenant != self.config.ils_tenant:
            return text(401, f"No such tenant {tenant}")
        return None

    def _login(self, req: Request) -> Response:
        refused = self._tenant_error(req)
        if refused:
            return refused
        try:
            creds = req.json()
        except ValueError:
            return text(400, "Json content error")
        if (creds.get("username"), creds.get("password")) != (self.config.ils_username, self.config.ils_password):
            return jsonr({"errors": [{"message": "Password does not match", "code": "password.incorrect"}]}, 422)
        headers, body = self.tokens.issue()
        return jsonr(body, 201, headers)

    def _refresh(self, req: Request) -> Response:
        refused = self._tenant_error(req)
        if refused:
            return refused
        issued = self.tokens.refresh(req.headers.get("Cookie"))
        if issued is None:
            return jsonr({"errors": [{"message": "Invalid or expired refresh token"}]}, 422)
        headers, body = issued
        return jsonr(body, 201, headers)

    def _api(self, handler: Callable[[Request, str], Response], kind: str) -> Callable[[Request], Response]:
        def guarded(req: Request) -> Response:
            if getattr(req, "throttled", False):
                headers = {"Retry-After": self.limiter.retry_after} if self.limiter.retry_after else {}
                return jsonr(ALMA_THRESHOLD, 429, headers)
            refused = self._tenant_error(req)
            if refused:
                return refused
            if req.fault is not None and req.fault.kind == "expire-token":
                self.tokens.expire_all()
            if not self.tokens.valid(req.headers.get("X-Okapi-Token"), req.headers.get("Cookie")):
                return text(401, "Invalid token: expired or unknown; log in again or refresh")
            try:
                return handler(req, kind)
            except StorageError as exc:
                return jsonr(exc.errors_body(), 422) if exc.status == 422 else text(exc.status, exc.message)
        return guarded

    # ---- inventory ---------------------------------------------------------------------
    def _list(self, req: Request, kind: str) -> Response:
        try:
            offset, limit = int(req.arg("offset", "0")), int(req.arg("limit", "10"))
            page, total = select(self.store.all(kind), req.arg("query"), offset, limit)
        except (CqlError, ValueError) as exc:
            return text(400, f"unable to list {COLLECTION_KEY[kind]} -- {exc}")
        return jsonr({COLLECTION_KEY[kind]: page, "totalRecords": total})

    def _get(self, req: Request, kind: str) -> Response:
        found = self.store.get(kind, req.match["id"])
        return jsonr(found) if found else text(404, f"{kind[:-1]} not found")

    def _body(self, req: Request) -> Any:
        try:
            return req.json()
        except ValueError as exc:
            raise StorageError(400, f"Json content error: {exc}") from exc

    def _log_writes(self, req: Request, kind: str, bodies: list[dict], status: int) -> None:
        with self._writes_lock:
            for body in bodies:
                self.writes.append({"seq": req.seq, "kind": kind, "id": body.get("id"),
                                    "version": body.get("_version"), "status": status,
                                    "endpoint": req.endpoint})

    def _edited_meanwhile(self, req: Request, kind: str, bodies: list[dict]) -> None:
        if req.fault is not None and req.fault.kind == "edit-conflict" and bodies:
            self.store.librarian_edit(kind, bodies[0])

    def _write(self, req: Request, kind: str, bodies: list[dict], apply: Callable[[], Response]) -> Response:
        self._edited_meanwhile(req, kind, bodies)
        try:
            resp = apply()
        except StorageError as exc:
            self._log_writes(req, kind, bodies, exc.status)
            raise
        self._log_writes(req, kind, bodies, resp.status)
        if req.fault is not None and req.fault.kind == "stall-after-write":
            time.sleep(req.fault.delay)  # applied and logged; the answer comes late
        return resp

    def _post(self, req: Request, kind: str) -> Response:
        body = self._body(req)

        def apply() -> Response:
            stored = self.store.create(kind, body, req.seq)
            return jsonr(stored, 201, {"Location": f"{PATHS[kind]}/{stored['id']}"})
        return self._write(req, kind, [body], apply)

    def _put(self, req: Request, kind: str) -> Response:
        body = self._body(req)
        if body.get("id", req.match["id"]) != req.match["id"]:
            return text(400, f"expected the body's id to be {req.match['id']}, got {body.get('id')}")
        body["id"] = req.match["id"]

        def apply() -> Response:
            self.store.update(kind, body, req.seq)
            return Response(204, b"", content_type=None)
        return self._write(req, kind, [body], apply)

    def _batch(self, req: Request, kind: str) -> Response:
        payload = self._body(req)
        bodies = payload.get(COLLECTION_KEY[kind]) if isinstance(payload, dict) else None
        if not isinstance(bodies, list):
            return jsonr({"errors": [{"message": "must not be null", "parameters": [
                {"key": COLLECTION_KEY[kind], "value": "null"}]}]}, 422)
        if len(bodies) > self.config.ils_batch_max:
            return text(413, f"Expected a maximum of {self.config.ils_batch_max} records to "
                             f"prevent out of memory but got {len(bodies)}")
        upsert = (req.arg("upsert", "false") or "").lower() == "true"

        def apply() -> Response:
            self.store.batch(kind, bodies, upsert, req.seq)
            return Response(201, b"", content_type=None)
        return self._write(req, kind, bodies, apply)

    # ---- admin -------------------------------------------------------------------------
    def _admin_state(self, req: Request) -> Response:
        return jsonr({kind: self.store.all(kind) for kind in KINDS})

    def _admin_audit(self, req: Request) -> Response:
        since = int(req.arg("since", "0") or 0)
        kind, rid = req.arg("kind"), req.arg("id")
        with self.store.lock:
            entries = [a.to_json() for a in self.store.audit[since:]
                       if (kind is None or a.kind == kind) and (rid is None or a.id == rid)]
        return jsonr({"count": len(entries), "audit": entries})

    def _admin_writes(self, req: Request) -> Response:
        since = int(req.arg("since", "0") or 0)
        with self._writes_lock:
            entries = [w for w in self.writes if w["seq"] > since]
        return jsonr({"count": len(entries), "writes": entries})

    def _admin_edit(self, req: Request) -> Response:
        body = req.json()
        found = self.store.get(body["kind"], body["id"])
        if found is None:
            return admin_json({"error": f"no {body['kind']} {body['id']}"}, 404)
        return admin_json({"edited": self.store.librarian_edit(body["kind"], found)})
