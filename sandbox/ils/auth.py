"""mod-login / mod-authtoken, emulated: expiring access tokens and refresh tokens.

`POST /authn/login-with-expiry` answers 201 with cookies `folioAccessToken` (lifetime
`access_ttl_s`, FOLIO's default 10 min) and `folioRefreshToken` (1 week) and the JSON
`{"accessTokenExpiration", "refreshTokenExpiration"}`. `POST /authn/refresh` takes the
refresh token cookie and issues a new pair (the old refresh token is spent). A request
carries the access token as `X-Okapi-Token` or the cookie; an unknown or expired one is
401. `expire_all` is the `expire-token` fault: every live access token expires now.
"""
from __future__ import annotations

import secrets
import threading
import time
from datetime import datetime, timezone
from http.cookies import SimpleCookie

REFRESH_TTL_S = 7 * 24 * 3600


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class TokenIssuer:
    def __init__(self, access_ttl_s: float, clock=time.time) -> None:
        self.access_ttl_s, self.clock = access_ttl_s, clock
        self._lock = threading.Lock()
        self._access: dict[str, float] = {}
        self._refresh: dict[str, float] = {}
        self.issued = 0

    def issue(self) -> tuple[dict[str, str], dict]:
        """(headers with the two Set-Cookie lines, JSON body) of a fresh token pair."""
        now = self.clock()
        access, refresh = "at-" + secrets.token_hex(16), "rt-" + secrets.token_hex(16)
        with self._lock:
            self._access[access] = now + self.access_ttl_s
            self._refresh[refresh] = now + REFRESH_TTL_S
            self.issued += 1
        # Two Set-Cookie headers: the response header map is a dict, so the second one is
        # spelled in lower case (HTTP header names are case-insensitive; clients see both).
        headers = {
            "Set-Cookie": f"folioAccessToken={access}; Max-Age={int(self.access_ttl_s)}; "
                          f"Path=/; HttpOnly; SameSite=Strict",
            "set-cookie": f"folioRefreshToken={refresh}; Max-Age={REFRESH_TTL_S}; "
                          f"Path=/authn; HttpOnly; SameSite=Strict",
        }
        body = {"accessTokenExpiration": _iso(now + self.access_ttl_s),
                "refreshTokenExpiration": _iso(now + REFRESH_TTL_S)}
        return headers, body

    def refresh(self, cookie_header: str | None) -> tuple[dict[str, str], dict] | None:
        """A new pair for a live refresh token (spent by this call), else None."""
        cookie = SimpleCookie()
        cookie.load(cookie_header or "")
        token = cookie["folioRefreshToken"].value if "folioRefreshToken" in cookie else None
        with self._lock:
            expires = self._refresh.pop(token, None) if token else None
        if expires is None or expires < self.clock():
            return None
        return self.issue()

    def valid(self, token_header: str | None, cookie_header: str | None) -> bool:
        token = token_header
        if not token and cookie_header:
            cookie = SimpleCookie()
            cookie.load(cookie_header)
            token = cookie["folioAccessToken"].value if "folioAccessToken" in cookie else None
        with self._lock:
            expires = self._access.get(token or "")
        return expires is not None and expires > self.clock()

    def expire_all(self) -> None:
        with self._lock:
            self._access = {t: 0.0 for t in self._access}
