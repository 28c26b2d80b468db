"""Minimal HTTP server base shared by the provider emulators (standard library only).

A ``SandboxServer`` owns a route table, a request log and a reference to the shared
``FaultPlan``. For every provider request it:

1. reads the whole request body (so keep-alive connections stay in sync even when faulting),
2. matches a route; the route's *endpoint name* (e.g. ``azure.query``) is what fault rules
   and the request log refer to,
3. asks the plan for a fault: status faults (429, 429-bare, 500, 502, 503) answer at once in
   the provider's error format; ``slow`` sleeps first; ``reset`` / ``truncate`` let the
   handler run and then cut the body; page faults are left to the handler (``req.fault``),
4. logs the outcome.

Admin routes under ``/_sandbox/`` never fault and are not logged. HTTP/1.1 with
Content-Length on every response (boto3/requests keep connections alive).
"""
from __future__ import annotations

import json
import re
import socket
import ssl
import struct
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from decimal import Decimal
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs, unquote, urlsplit

from include.sandbox.faults import BODY_FAULTS, STATUS_FAULTS, Fault, FaultPlan
from include.sandbox.golden import GoldenRegistry
from include.sandbox.jsonio import dumps_exact, dumps_strings
from include.sandbox.requestlog import RequestLog


@dataclass
class Request:
    method: str
    path: str  # percent-decoded path
    raw_path: str
    raw_query: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    endpoint: str | None = None
    tenant: str | None = None
    fault: Fault | None = None
    match: re.Match | None = None
    base_url: str = ""

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        """Body parsed as JSON with exact Decimals (raises ValueError when not JSON)."""
        return json.loads(self.body.decode("utf-8-sig"), parse_float=Decimal)


@dataclass
class Response:
    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    length: int | None = None  # required when body is an iterable
    content_type: str | None = "application/json; charset=utf-8"


class HandlerError(Exception):
    """Raise from a handler to answer with a prepared response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """JSON body; Decimals become exact JSON numbers."""
    return Response(status, dumps_exact(obj).encode(), dict(headers or {}))


def admin_json(obj: Any, status: int = 200) -> Response:
    """JSON body for admin endpoints; Decimals become strings."""
    return Response(status, dumps_strings(obj).encode())


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
        handler = type(f"{self.name.title()}Handler", (_Handler,), {"app": self, "scheme": "https" if tls else "http"})
        server = _Listener((self.host, port), handler)
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


class _Listener(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, TimeoutError)):
            return  # clients that hang up (or probes without TLS) are normal here
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    app: SandboxServer
    scheme = "http"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # the request log replaces stderr access logs

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_GET

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        app, started = self.app, time.monotonic()
        seq = app.log.reserve()
        body = self._read_body()
        split = urlsplit(self.path)
        host = self.headers.get("Host") or f"{app._display_host()}:{app.port}"
        req = Request(
            self.command, unquote(split.path), split.path, split.query,
            parse_qs(split.query, keep_blank_values=True), self.headers, body,
            base_url=f"{self.scheme}://{host}",
        )
        route, m, path_known = app.match(self.command, req.path)
        fault = None
        if route is None:
            resp = app.not_found(req) if not path_known else json_response(
                {"error": {"code": "MethodNotAllowed",
                           "message": f"The requested resource does not support http method '{self.command}'."}}, 405)
        else:
            req.match = m
            req.endpoint = route.endpoint(req) if callable(route.endpoint) else route.endpoint
            try:
                if req.endpoint is not None:
                    req.tenant = app.identify(req)
                    fault = req.fault = app.faults.decide(req.endpoint, req.tenant)
                if fault is not None and fault.kind in STATUS_FAULTS:
                    resp = app.fault_response(req, fault)
                else:
                    if fault is not None and fault.kind == "slow":
                        time.sleep(fault.delay)
                    resp = route.handler(req)
            except HandlerError as exc:
                resp = exc.response
            except Exception as exc:  # a sandbox bug must not kill the connection silently
                traceback.print_exc()
                resp = json_response({"error": {"code": 500, "message": f"sandbox error: {exc!r}"}}, 500)
        entry: dict[str, Any] = {
            "seq": seq, "t": time.time(), "method": self.command, "path": req.path, "query": req.raw_query,
            "endpoint": req.endpoint, "status": resp.status, "fault": fault.kind if fault else None,
            "bytes": None, "tenant": req.tenant, "ms": round((time.monotonic() - started) * 1000, 2),
        }
        if route is None or req.endpoint is not None:
            app.log.append(entry)  # before the body goes out: a client that saw the answer sees the entry
        entry["bytes"] = self._send(resp, fault if fault is not None and fault.kind in BODY_FAULTS else None)

    def _send(self, resp: Response, fault: Fault | None) -> int:
        body = resp.body
        if isinstance(body, (bytes, bytearray)):
            chunks: Iterable[bytes] = [bytes(body)]
            length = len(body) if resp.length is None or self.command != "HEAD" else resp.length
        elif resp.length is None:
            data = b"".join(body)
            chunks, length = [data], len(data)
        else:
            chunks, length = body, resp.length
        limit = length
        if fault is not None:
            limit = max(1, int(length * fault.fraction)) if length > 1 else 0
        self.send_response(resp.status)
        headers = dict(resp.headers)
        if resp.content_type and "Content-Type" not in headers:
            headers["Content-Type"] = resp.content_type
        headers["Content-Length"] = str(limit if fault is not None and fault.kind == "truncate" else length)
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command == "HEAD":
            return 0
        sent = 0
        try:
            for chunk in chunks:
                if sent >= limit:
                    break
                piece = chunk[: limit - sent]
                self.wfile.write(piece)
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return sent
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        if fault is not None and fault.kind == "reset":
            self._reset_connection()
        return sent

    def _reset_connection(self) -> None:
        """Abort with a TCP RST so the client sees 'connection reset' mid-body."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
