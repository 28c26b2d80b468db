"""How long a throttling response asks us to wait.

Sources of a wait, all optional (billing-formats.md §3.5):

* ``Retry-After``: delta-seconds (``"120"``) or an HTTP-date (``"Wed, 21 Oct 2015 07:28:00 GMT"``).
* Every Azure ``x-ms-ratelimit-...-retry-after`` header, e.g.
  ``x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after`` and the ``-entity-``,
  ``-tenant-``, ``-clienttype-``, ``-client-`` variants, or
  ``x-ms-ratelimit-microsoft.consumption-retry-after``. Their values are seconds.

The rule is "wait for the longest one": each header is a separate quota, and calling
again before the slowest one has recovered just earns another 429.

An HTTP-date is measured against the response's own ``Date`` header when it has one: both
come from the provider's clock, so their difference is the wait it means, whatever our
clock's skew (a worker 5 minutes behind would otherwise wait 5 minutes too long, one ahead
would call again at once and earn another 429). Only without a readable ``Date`` is the
local clock the reference.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

Headers = Mapping[str, str] | Iterable[tuple[str, str]]

_AZURE_PREFIX = "x-ms-ratelimit-"
_SUFFIX = "retry-after"


def _parse_http_date(text: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is not None and when.tzinfo is None:  # RFC 9110 dates are GMT; naive means "-0000"
        when = when.replace(tzinfo=timezone.utc)
    return when


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait for one header value; ``None`` when the value is absent or unreadable.

    Accepts delta-seconds (integer or decimal; Azure sometimes sends ``"1.5"``) and
    HTTP-dates. A date in the past, or a negative number, means "no wait" (0.0).
    ``now`` (timezone-aware) makes HTTP-date handling deterministic; it defaults to the
    current UTC time.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = None
    if seconds is not None:
        if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN / inf
            return None
        return max(0.0, seconds)
    when = _parse_http_date(text)
    if when is None:
        return None
    reference = now if now is not None else datetime.now(timezone.utc)
    return max(0.0, (when - reference).total_seconds())


def is_retry_after_header(name: str) -> bool:
    """True for ``Retry-After`` and for every ``x-ms-ratelimit-*retry-after`` header."""
    lowered = name.strip().lower()
    return lowered == _SUFFIX or (lowered.startswith(_AZURE_PREFIX) and lowered.endswith(_SUFFIX))


def response_date(headers: Headers | None) -> datetime | None:
    """The response's ``Date`` header as an aware datetime, or ``None`` when absent/unreadable."""
    if not headers:
        return None
    items = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in items:
        if name.strip().lower() == "date" and value:
            return _parse_http_date(value.strip())
    return None


def requested_waits(headers: Headers | None, *, now: datetime | None = None) -> dict[str, float]:
    """Every readable wait in ``headers``, keyed by lower-cased header name.

    HTTP-dates are measured from the response's ``Date`` header; ``now`` (default: the
    local UTC clock) is the reference only when the response carries no readable ``Date``.
    """
    if not headers:
        return {}
    items = list(headers.items() if isinstance(headers, Mapping) else headers)
    sent_at = response_date(items)
    waits: dict[str, float] = {}
    for name, value in items:
        if not is_retry_after_header(name):
            continue
        seconds = parse_retry_after(value, now=sent_at or now)
        if seconds is not None:
            key = name.strip().lower()
            waits[key] = max(seconds, waits.get(key, 0.0))
    return waits


def requested_wait(headers: Headers | None, *, now: datetime | None = None) -> float | None:
    """The longest wait any header asks for, or ``None`` when no header gives one."""
    waits = requested_waits(headers, now=now)
    return max(waits.values()) if waits else None
