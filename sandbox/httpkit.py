"""Minimal HTTP server base shared by the provider emulators (standard library only).

A ``SandboxServer`` owns a route table, a request log and a reference to the shared
``FaultPlan``. Each route has an *endpoint name* (e.g. ``azure.query``) that fault rules and
the request log refer to. Faults: status faults (429, 429-bare, 500, 502, 503) answer at
once in the provider's error format (``fault_response`` hook); ``slow`` sleeps first;
``reset`` / ``truncate`` let the handler run and then cut the body; page faults
(repeat-token, restate, incomplete) are left to the handler via ``req.fault``. The request
flow itself lives in handler.py, requests and responses in messages.py.

Admin routes under ``/_sandbox/`` never fault and are not logged. HTTP/1.1 with
Content-Length on every response (boto3/requests keep connections alive).
"""
from __future__ import annotations

import re
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from typing import Any, Callable

from sandbox.faults import Fault, FaultPlan
from sandbox.golden import GoldenRegistry
from sandbox.handler import Listener, RequestHandler
# what route handlers receive and return, re-exported: the emulators import them from here
from sandbox.messages import HandlerError, Request, Response, admin_json, json_response
from sandbox.requestlog import RequestLog

__all__ = ["HandlerError", "Request", "Response", "Route", "SandboxServer", "admin_json",
           "json_response", "retry_after_value"]


@dataclass
class Route:
    method: str
    pattern: re.Pattern
    endpoint: str | Callable[[Request], str] | None  # None: admin route (no faults, not logged)
    handler: Callable[[Request], Response]


class SandboxServer:
    """Base class; providers add routes and override the hooks below."""

    name = "sandbox"

    def __init__(
        self,
        host: str,
        port: int,
        faults: FaultPlan,
        goldens: GoldenRegistry,
        tls_port: int | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.tls_port, self.tls_context = tls_port, tls_context
        self.faults, self.goldens = faults, goldens
        self.log = RequestLog()
        self.routes: list[Route] = []
        self.endpoints_info: dict[str, Any] = {}
        self._listeners: list[ThreadingHTTPServer] = []
        self._threads: list[threading.Thread] = []
        self._add_admin_routes()

    # ---- hooks -------------------------------------------------------------------------
    def identify(self, req: Request) -> str | None:
        """Tenant of the request, used by tenant-scoped fault rules (default: none)."""
        return None

    def fault_response(self, req: Request, fault: Fault) -> Response:
        """The provider-format error answer for a status fault."""
        headers = {"Retry-After": retry_after_value(fault.retry_after)} if fault.kind in ("429", "503") else {}
        status = 429 if fault.kind.startswith("429") else int(fault.kind)
        return json_response({"error": {"code": status, "message": f"sandbox fault {fault.kind}"}}, status, headers)

    def not_found(self, req: Request) -> Response:
        return json_response({"error": {"code": 404, "message": f"no route for {req.method} {req.path}"}}, 404)

    def restate(self, body: dict[str, Any]) -> dict[str, Any]:
        raise HandlerError(admin_json({"error": f"{self.name} has no restatement"}, 400))

    # ---- routing -----------------------------------------------------------------------
    def add_route(self, method: str, pattern: str, endpoint: str | Callable[[Request], str] | None, handler: Callable[[Request], Response]) -> None:
        self.routes.append(Route(method, re.compile(pattern + r"\Z", re.IGNORECASE), endpoint, handler))

    def match(self, method: str, path: str) -> tuple[Route | None, re.Match | None, bool]:
        """(route, match, path_known): path_known tells 405 from 404."""
        path_known = False
        for route in self.routes:
            m = route.pattern.match(path)
            if m:
                path_known = True
                if route.method == method or (route.method == "GET" and method == "HEAD"):
                    return route, m, True
        return None, None, path_known

    def _add_admin_routes(self) -> None:
        self.add_route("GET", "/_sandbox/health", None, lambda r: admin_json({"ok": True, "server": self.name}))
        self.add_route("GET", "/_sandbox/requests", None, self._admin_requests)
        self.add_route("DELETE", "/_sandbox/requests", None, lambda r: (self.log.clear(), admin_json({"ok": True}))[1])
        self.add_route("GET", "/_sandbox/faults", None, lambda r: admin_json(self.faults.to_json()))
        self.add_route("POST", "/_sandbox/faults", None, self._admin_set_faults)
        self.add_route("DELETE", "/_sandbox/faults", None, lambda r: (self.faults.clear(), admin_json({"ok": True}))[1])
        self.add_route("GET", "/_sandbox/golden", None, self._admin_golden)
        self.add_route("POST", "/_sandbox/restate", None, lambda r: admin_json(self.restate(r.json() if r.body else {})))
        self.add_route("GET", "/_sandbox/endpoints", None, lambda r: admin_json(self.endpoints_info))

    def _admin_requests(self, req: Request) -> Response:
        entries = self.log.entries(req.arg("endpoint"), int(req.arg("since", "0") or 0))
        return admin_json({"server": self.name, "count": len(entries), "requests": entries})

    def _admin_set_faults(self, req: Request) -> Response:
        body = req.json() if req.body else {}
        mode = body.pop("mode", "replace") if isinstance(body, dict) else "replace"
        try:
            self.faults.set(body, mode=mode)
        except (ValueError, TypeError) as exc:
            return admin_json({"error": str(exc)}, 400)
        return admin_json(self.faults.to_json())

    def _admin_golden(self, req: Request) -> Response:
        version = req.arg("version")
        found = self.goldens.find(
            provider=req.arg("provider"),
            period=req.arg("period"),
            account=req.arg("account"),
            version=int(version) if version else None,
            latest=req.arg("latest") in ("1", "true"),
        )
        return admin_json({"goldens": [g.to_json() for g in found]})

    # ---- lifecycle ---------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self._display_host()}:{self.port}"

    @property
    def tls_url(self) -> str | None:
        return None if self.tls_port is None else f"https://{self._display_host()}:{self.tls_port}"

    def _display_host(self) -> str:
        return "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host

    def start(self) -> None:
        self._listeners.append(self._listen(self.port, None))
        self.port = self._listeners[0].server_address[1]
        if self.tls_context is not None:
            self._listeners.append(self._listen(self.tls_port or 0, self.tls_context))
            self.tls_port = self._listeners[1].server_address[1]

    def _listen(self, port: int, tls: ssl.SSLContext | None) -> ThreadingHTTPServer:
        handler = type(f"{self.name.title()}Handler", (RequestHandler,), {"app": self, "scheme": "https" if tls else "http"})
        server = Listener((self.host, port), handler)
        if tls is not None:
            server.socket = tls.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        thread = threading.Thread(target=server.serve_forever, args=(0.1,), name=f"sandbox-{self.name}-{port}", daemon=True)
        thread.start()
        self._threads.append(thread)
        return server

    def stop(self) -> None:
        for server in self._listeners:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._listeners, self._threads = [], []


def retry_after_value(spec: str) -> str:
    """'2' -> '2'; 'http-date' -> an HTTP-date ~1 s ahead (RFC 9110 allows both forms)."""
    if spec == "http-date":
        from email.utils import formatdate

        return formatdate(time.time() + 2, usegmt=True)
    return spec
