"""A FOLIO (Okapi) client: login with expiry, token refresh, the shared rate limit, and
the one error table for everything else.

* Every call takes a token from the shared Redis limiter first (`ratelimit.py`), so all
  workers together stay under the ILS's per-second threshold; the window is widened by
  `window_margin_s` because the limiter counts when a call leaves and the ILS when it
  arrives.
* The access token is refreshed 60 s before it expires (as FolioClient does) and, on a
  401, once per call by refresh (else a new login) before the call is replayed.
* 409 / 413 / 422 are answers the sync acts on (optimistic locking, batch too large, a
  refused record): a caller lists them in `accept` and gets the response back.
* Everything else goes through `http.errors.classify`: 429 / 503 wait (Retry-After, else
  backoff), 5xx / resets retry with jitter, other 4xx fail with a message.
The password is sent only in the login body; it is never logged or put in a URL.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests

from include.ingest.http.errors import Action, Outcome, RetrySettings, classify, is_short_wait
from include.ingest.http.ratelimit import SharedRateLimiter

REFRESH_AHEAD_S = 60.0


@dataclass(frozen=True)
class IlsSettings:
    url: str
    tenant: str
    username: str
    password: str = field(repr=False)
    rate_limit_per_s: int = 25
    window_margin_s: float = 0.02
    batch_size: int = 500
    max_attempts: int = 8
    timeout_s: float = 120.0

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"expected the ILS URL as http(s)://host:port, got {self.url!r}; "
                             f"set the host of the Airflow connection ils_folio")
        if not (1 <= self.batch_size <= 10_000):
            raise ValueError(f"expected batch_size between 1 and 10000, got {self.batch_size}")


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


class FolioClient:
    def __init__(self, settings: IlsSettings, limiter: SharedRateLimiter | None,
                 retry: RetrySettings | None = None, sleep=time.sleep, rng: random.Random | None = None):
        self.s, self.limiter = settings, limiter
        self.retry = retry or RetrySettings()
        self.sleep, self.rng = sleep, rng
        self.session = requests.Session()
        self.token: str | None = None
        self.refresh_token: str | None = None
        self.expires_at = 0.0
        self.calls = 0
        self.reauths = 0

    @classmethod
    def shared_limiter(cls, redis_client, settings: IlsSettings) -> SharedRateLimiter:
        return SharedRateLimiter(redis_client, f"ils:{settings.url}:{settings.tenant}",
                                 settings.rate_limit_per_s, 1.0 + settings.window_margin_s)

    # ---- auth --------------------------------------------------------------------------
    def _take_tokens(self, resp: requests.Response) -> None:
        self.token = resp.cookies.get("folioAccessToken")
        self.refresh_token = resp.cookies.get("folioRefreshToken") or self.refresh_token
        if not self.token:
            raise RuntimeError("expected a folioAccessToken cookie from the ILS login, got none; "
                               "check that the URL is FOLIO's Okapi/gateway")
        self.expires_at = _epoch(resp.json()["accessTokenExpiration"])

    def login(self) -> None:
        resp = self.call("POST", "/authn/login-with-expiry", authenticated=False,
                         json={"username": self.s.username, "password": self.s.password}, accept=(422,))
        if resp.status_code == 422:
            raise PermissionError(f"ILS login as {self.s.username!r} at {self.s.url}: expected 201, "
                                  f"got 422 (credentials refused); check login/password of ils_folio")
        self._take_tokens(resp)

    def _reauthenticate(self) -> None:
        """Refresh the token pair; log in again when the refresh token is refused."""
        self.reauths += 1
        if self.refresh_token:
            resp = self.call("POST", "/authn/refresh", authenticated=False, accept=(401, 422),
                             headers={"Cookie": f"folioRefreshToken={self.refresh_token}"})
            if resp.status_code == 201:
                self._take_tokens(resp)
                return
        self.refresh_token = None
        self.login()

    # ---- calls -------------------------------------------------------------------------
    def call(self, method: str, path: str, *, params: dict | None = None, json: Any = None,
             accept: tuple[int, ...] = (), authenticated: bool = True,
             headers: dict | None = None) -> requests.Response:
        """One API call, retried per the error table; returns a 2xx or an `accept`ed
        response, else raises the table's exception (Throttled / Transient / Permanent)."""
        url = self.s.url.rstrip("/") + path
        reauthed = False
        for attempt in range(1, self.s.max_attempts + 1):
            sent = {"X-Okapi-Tenant": self.s.tenant, **(headers or {})}
            if authenticated:
                if self.token is None or time.time() > self.expires_at - REFRESH_AHEAD_S:
                    self._reauthenticate() if self.token else self.login()
                sent["X-Okapi-Token"] = self.token
            if self.limiter is not None:
                self.limiter.acquire()
            response = None
            try:
                self.calls += 1
                response = self.session.request(method, url, params=params, json=json,
                                                headers=sent, timeout=self.s.timeout_s)
                if 200 <= response.status_code < 300 or response.status_code in accept:
                    return response
                if response.status_code == 401 and authenticated and not reauthed \
                        and attempt < self.s.max_attempts:
                    reauthed = True  # an expired/revoked token: once per call, then the table
                    self._reauthenticate()
                    continue
                outcome = Outcome(status=response.status_code, headers=response.headers, url=url, method=method)
            except Exception as exc:  # noqa: BLE001 - every exception goes through the table
                outcome = Outcome(status=getattr(response, "status_code", None), exception=exc,
                                  url=url, method=method)
            decision = classify(outcome, attempt=attempt, settings=self.retry, rng=self.rng)
            if decision.action is Action.FAIL:
                raise decision.to_exception() from outcome.exception
            if not is_short_wait(decision.delay_s, self.retry.short_wait_threshold_s) \
                    or attempt == self.s.max_attempts:
                raise decision.to_exception(f"{decision.reason}; giving up this attempt after "
                                            f"{attempt} call(s), the task retry resumes") from outcome.exception
            self.sleep(decision.delay_s)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def close(self) -> None:
        self.session.close()
