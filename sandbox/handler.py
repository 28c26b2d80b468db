"""Per-request flow of every sandbox server (standard library ``http.server``).

For each request: read the whole body (keep-alive stays in sync even when faulting), match a
route, ask the fault plan, answer (status faults short-circuit, ``slow`` sleeps, ``reset`` /
``truncate`` cut the body), and log the outcome *before* the body is written so a client
that has seen the answer also sees its log entry.
"""
from __future__ import annotations

import socket
import ssl
import struct
import sys
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Iterable
from urllib.parse import parse_qs, unquote, urlsplit

from sandbox.faults import BODY_FAULTS, STATUS_FAULTS, Fault
from sandbox.messages import HandlerError, Request, Response, json_response

if TYPE_CHECKING:
    from sandbox.httpkit import SandboxServer


class Listener(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, TimeoutError)):
            return  # clients that hang up (or probes without TLS) are normal here
        super().handle_error(request, client_address)


class RequestHandler(BaseHTTPRequestHandler):
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
            base_url=f"{self.scheme}://{host}", seq=seq,
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
