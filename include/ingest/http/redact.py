"""Make URLs safe to print in logs and error messages.

Billing URLs carry secrets in the query string (Azure SAS ``sig=``, S3 presigned
``X-Amz-Signature``, ``access_token``, ``key``) and sometimes in the userinfo part.
We keep the parameter *names* (useful when debugging) but only keep the *values* of a
short allowlist of parameters known to be harmless; everything else becomes ``***``.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Values that help debugging and never hold a credential.
SAFE_QUERY_PARAMS = frozenset(
    {
        "api-version",
        "$top",
        "maxresults",
        "startindex",
        "timeoutms",
        "location",
        "prettyprint",
        "alt",
        "list-type",
        "max-keys",
        "prefix",
        "delimiter",
    }
)
REDACTED = "***"


def redact_url(url: str | None) -> str:
    """``url`` without userinfo and with every non-allowlisted query value replaced.

    Never raises: an unparseable URL is returned as ``"<unparseable URL>"`` rather than
    risking that a secret reaches a log.
    """
    if not url:
        return "<no URL>"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
        query = [
            (name, value if name.lower() in SAFE_QUERY_PARAMS else REDACTED)
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
        ]
        return urlunsplit((parts.scheme, host, parts.path, urlencode(query, safe="$*"), ""))
    except ValueError:
        return "<unparseable URL>"
