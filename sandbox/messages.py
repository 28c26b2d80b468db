"""Requests and responses of the sandbox's emulators (standard library only): what a route
handler receives and returns. Kept apart from ``httpkit`` (routes, faults, listeners) so the
request loop in ``handler`` can use them without importing the server that starts it."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from email.message import Message
from typing import Any, Iterable

from sandbox.faults import Fault
from sandbox.jsonio import dumps_exact, dumps_strings


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
    seq: int = 0  # the request log's sequence number of this request

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
