"""S3-compatible endpoint: moto's server on a private port, behind a fault-injecting proxy.

Clients talk to the proxy (``aws_url``, path-style, any access key). The proxy forwards every
request verbatim to moto and streams the answer back, so listing, GET with Range, HEAD and
multipart all behave as moto does. Endpoint names for fault rules: ``aws.list`` (list
objects), ``aws.get``, ``aws.head``, ``aws.put``, ``aws.delete``, ``aws.post``, ``aws.bucket``
(other bucket-level calls), ``aws.list-buckets``.

Page faults: ``repeat-token`` on aws.list returns the request's own ContinuationToken as
NextContinuationToken; ``restate`` on aws.get publishes the next assembly of the key's month
before serving the (still present) old file, so the period manifest changes between two GETs.

moto keeps its state per process, so only one AwsServer may run per process at a time.
"""
from __future__ import annotations

import http.client
import logging
import os
import re
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

from sandbox.aws import cur_layout
from sandbox.aws.publisher import CurPublisher
from sandbox.config import SandboxConfig
from sandbox.faults import Fault, FaultPlan
from sandbox.golden import GoldenRegistry
from sandbox.httpkit import HandlerError, Request, Response, SandboxServer, admin_json, retry_after_value

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection",
              "content-length", "expect"}
_ACTIVE = threading.Lock()
_S3_ERRORS = {
    "403": ("AccessDenied", "Access Denied"),
    "429": ("SlowDown", "Please reduce your request rate."),
    "429-bare": ("SlowDown", "Please reduce your request rate."),
    "500": ("InternalError", "We encountered an internal error. Please try again."),
    "502": ("BadGateway", "The upstream server returned an invalid response."),
    "503": ("SlowDown", "Please reduce your request rate."),
}


def s3_client(endpoint_url: str, **kwargs: Any) -> Any:
    """A boto3 S3 client for the sandbox (dummy credentials, path-style addressing)."""
    return boto3.client(
        "s3", endpoint_url=endpoint_url, region_name="us-east-1", aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox", config=Config(s3={"addressing_style": "path"}, **kwargs),
    )


def classify(req: Request) -> str:
    """Fault/log endpoint name of an S3 request (path-style URLs)."""
    parts = req.path.lstrip("/").split("/", 1)
    if not parts[0]:
        return "aws.list-buckets"
    if parts[0] == "moto-api":
        return "aws.moto-api"
    if len(parts) == 1 or not parts[1]:
        if req.method == "GET" and (set(req.query) <= {"list-type", "prefix", "delimiter", "max-keys",
                                                       "continuation-token", "start-after", "marker",
                                                       "encoding-type", "fetch-owner"}):
            return "aws.list"
        return "aws.bucket"
    return {"GET": "aws.get", "HEAD": "aws.head", "PUT": "aws.put", "DELETE": "aws.delete"}.get(req.method, "aws.post")


class AwsServer(SandboxServer):
    name = "aws"

    def __init__(self, config: SandboxConfig, faults: FaultPlan, goldens: GoldenRegistry, workdir: Path) -> None:
        super().__init__(config.host, config.aws_port, faults, goldens)
        self.config, self.workdir = config, workdir
        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.moto_port = 0
        self.publisher: CurPublisher | None = None
        self._owns_moto = False
        for method in ("GET", "PUT", "POST", "DELETE", "HEAD"):
            self.add_route(method, r"/(?!_sandbox/).*", classify, self.forward)

    @property
    def moto_url(self) -> str:
        return f"http://127.0.0.1:{self.moto_port}"

    def direct_client(self) -> Any:
        """Client that bypasses the proxy (publishing must never hit injected faults)."""
        return s3_client(self.moto_url)

    def start(self) -> None:
        if not _ACTIVE.acquire(blocking=False):
            raise RuntimeError(
                "expected no other AWS sandbox in this process (moto state is per process), got one running; "
                "stop it first or run the sandbox in a subprocess"
            )
        self._owns_moto = True
        # moto's werkzeug handler logs every request to stderr; the proxy keeps its own log
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        # moto keeps each object in memory up to this size (default 16 MB); spill big CUR files to disk
        os.environ.setdefault("MOTO_S3_DEFAULT_KEY_BUFFER_SIZE", str(1 << 20))
        try:
            self.moto.start()
            self.moto_port = self.moto.get_host_and_port()[1]
            self.direct_client().create_bucket(Bucket=self.config.aws_bucket)
            self.publisher = CurPublisher(self.direct_client(), self.config, self.goldens, self.workdir)
            super().start()
        except BaseException:
            self._release()
            raise

    def stop(self) -> None:
        super().stop()
        self._release()

    def _release(self) -> None:
        if not self._owns_moto:
            return
        try:
            if self.moto_port:
                conn = http.client.HTTPConnection("127.0.0.1", self.moto_port, timeout=10)
                conn.request("POST", "/moto-api/reset")  # clear moto's process-wide state
                conn.getresponse().read()
                self.moto.stop()
        finally:
            self.moto_port = 0
            self._owns_moto = False
            _ACTIVE.release()

    # ---- restatement -------------------------------------------------------------------
    def restate(self, body: dict[str, Any]) -> dict[str, Any]:
        layout, month = body.get("layout", "cur1"), body.get("month") or body.get("period")
        if self.publisher is None or layout not in ("cur1", "cur2") or not month:
            raise HandlerError(admin_json({"error": f"expected {{'layout': 'cur1'|'cur2', 'month': 'YYYY-MM'}}, got {body}"}, 400))
        return self.publisher.restate(layout, month).to_json()

    # ---- proxy -------------------------------------------------------------------------
    def fault_response(self, req: Request, fault: Fault) -> Response:
        code, message = _S3_ERRORS[fault.kind]
        status = 429 if fault.kind.startswith("429") else int(fault.kind)
        headers = {"Retry-After": retry_after_value(fault.retry_after)} if fault.kind in ("429", "503") else {}
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
                f"<RequestId>sandbox-{int(time.time() * 1000)}</RequestId></Error>").encode()
        return Response(status, b"" if req.method == "HEAD" else body, headers, content_type="application/xml")

    def forward(self, req: Request) -> Response:
        if req.fault is not None and req.fault.kind == "restate" and req.endpoint == "aws.get" and self.publisher:
            parsed = cur_layout.parse_key(req.path)
            if parsed is not None and parsed.month in self.config.months:
                self.publisher.restate(parsed.layout, parsed.month)
        conn = http.client.HTTPConnection("127.0.0.1", self.moto_port, timeout=120)
        headers = {k: v for k, v in req.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["Content-Length"] = str(len(req.body))
        target = req.raw_path + (f"?{req.raw_query}" if req.raw_query else "")
        conn.request(req.method, target, body=req.body, headers=headers)
        upstream = conn.getresponse()
        out_headers = {k: v for k, v in upstream.getheaders() if k.lower() not in HOP_BY_HOP}
        if req.fault is not None and req.fault.kind == "truncate":
            # a cut body with intact checksums would only ever surface as a checksum error;
            # dropping them lets clients meet the truncated gzip itself
            out_headers = {k: v for k, v in out_headers.items() if not k.lower().startswith("x-amz-checksum")}
        length_text = upstream.getheader("Content-Length")
        if req.method == "HEAD":
            upstream.read()
            conn.close()
            return Response(upstream.status, b"", out_headers, length=int(length_text or 0), content_type=None)
        if length_text is None or (req.fault is not None and req.fault.kind == "repeat-token"):
            data = upstream.read()
            conn.close()
            if req.fault is not None and req.fault.kind == "repeat-token":
                data = _repeat_continuation(data, req.arg("continuation-token"))
            return Response(upstream.status, data, out_headers, content_type=None)
        return Response(upstream.status, _stream(upstream, conn), out_headers, length=int(length_text), content_type=None)


def _stream(upstream: http.client.HTTPResponse, conn: http.client.HTTPConnection) -> Iterator[bytes]:
    try:
        while chunk := upstream.read(65536):
            yield chunk
    finally:
        conn.close()


def _repeat_continuation(xml: bytes, token: str | None) -> bytes:
    """Make NextContinuationToken point at the page just served (a repeated page token)."""
    if not token:
        return xml
    if b"<NextContinuationToken>" not in xml:
        return xml.replace(b"<IsTruncated>false</IsTruncated>",
                           b"<IsTruncated>true</IsTruncated><NextContinuationToken>" + token.encode() + b"</NextContinuationToken>")
    return re.sub(rb"<NextContinuationToken>.*?</NextContinuationToken>",
                  b"<NextContinuationToken>" + token.encode() + b"</NextContinuationToken>", xml)
