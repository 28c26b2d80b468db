"""JSON writing where Decimal is an exact JSON *number* (provider wire format) or a string.

``dumps_exact`` writes ``Decimal('19.54536367')`` as the number ``19.54536367`` (never via
float), which is how the sandbox serves money in Azure responses. Clients must parse with
``json.loads(text, parse_float=Decimal)`` to keep it exact. Golden files use strings instead.
"""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

_plain = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def dumps_exact(obj: Any) -> str:
    """Compact JSON; Decimal values become exact numbers (no exponent, no float rounding)."""
    if isinstance(obj, Decimal):
        if not obj.is_finite():
            raise ValueError(f"expected a finite Decimal for JSON, got {obj!r}")
        return format(obj, "f")
    if isinstance(obj, dict):
        return "{" + ",".join(_plain.encode(str(k)) + ":" + dumps_exact(v) for k, v in obj.items()) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(dumps_exact(v) for v in obj) + "]"
    return _plain.encode(obj)


def dumps_strings(obj: Any, indent: int | None = None) -> str:
    """JSON with Decimals as strings (golden files, admin responses)."""
    return json.dumps(obj, indent=indent, default=lambda o: format(o, "f") if isinstance(o, Decimal) else str(o))
