"""Which URLs a param may fetch, and fetching one without being turned against the network.

Policy (settings, set by operators):

* `INGEST_URL_ALLOW` — comma-separated `scheme://host[:port]` entries (`*.example.org`
  matches subdomains; no port = the scheme's default). Empty by default: no URL is fetched
  until an operator lists its host.
* `INGEST_URL_ALLOW_PRIVATE` — comma-separated hosts (also listed above) that may resolve to
  loopback / private / link-local addresses: an explicit opt-in for one's own servers (the
  tests' local HTTP servers). Every other host must resolve only to public addresses.
* `INGEST_URL_DEADLINE_S` — the whole download's time limit (default 1800 s).

The address check runs where the socket is opened (each connection resolves, vets every
address, then connects to a vetted one), so neither a redirect nor DNS that changes its
answer between a check and the connect reaches an internal address. Redirects are followed
here, at most MAX_REDIRECTS, each hop's URL checked against the allow-list again. Bytes
are read raw (`decode_content=False`): a small gzip body never inflates on the way in.
"""
from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urljoin, urlparse

from include.ingest.http.redact import redact_url
from include.ingest.safety import InputRefused, setting, setting_list

URL_ALLOW, URL_ALLOW_PRIVATE, URL_DEADLINE = ("INGEST_URL_ALLOW", "INGEST_URL_ALLOW_PRIVATE",
                                              "INGEST_URL_DEADLINE_S")
MAX_REDIRECTS = 5
CONNECT_TIMEOUT_S, READ_TIMEOUT_S = 10, 60  # per connect / per socket read
DEFAULT_DEADLINE_S = 1800
_PORTS = {"http": 80, "https": 443}


def _non_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why `ip` is not a public unicast address, or None if it is."""
    ip = getattr(ip, "ipv4_mapped", None) or ip  # ::ffff:127.0.0.1 is 127.0.0.1
    for flag in ("loopback", "link_local", "multicast", "unspecified", "private", "reserved"):
        if getattr(ip, f"is_{flag}"):
            return flag.replace("_", "-")
    return None if ip.is_global else "not globally routable"


@dataclass(frozen=True)
class UrlPolicy:
    allowed: tuple[tuple[str, str, int], ...]  # (scheme, host or *.domain, port)
    private_hosts: frozenset[str] = frozenset()
    deadline_s: float = DEFAULT_DEADLINE_S

    @classmethod
    def from_settings(cls) -> "UrlPolicy":
        allowed = []
        for entry in setting_list(URL_ALLOW):
            parsed = urlparse(entry)
            if parsed.scheme not in _PORTS or not parsed.hostname:
                raise InputRefused(f"expected {URL_ALLOW} entries like https://host[:port], got "
                                   f"{entry!r}; fix the setting")
            allowed.append((parsed.scheme, parsed.hostname, parsed.port or _PORTS[parsed.scheme]))
        deadline = setting(URL_DEADLINE)
        return cls(tuple(allowed), frozenset(h.lower() for h in setting_list(URL_ALLOW_PRIVATE)),
                   float(deadline) if deadline else DEFAULT_DEADLINE_S)

    def check_url(self, url: str) -> None:
        """Raise `InputRefused` unless `url`'s scheme, host and port are allow-listed."""
        parsed = urlparse(url)
        if parsed.scheme not in _PORTS or not parsed.hostname:
            raise InputRefused(f"expected an http(s) URL with a host, got {redact_url(url)!r}")
        if parsed.username or parsed.password:
            raise InputRefused(f"expected a URL without credentials, got one with a user part for "
                               f"host {parsed.hostname}; put credentials in a connection")
        host, port = parsed.hostname.lower(), parsed.port or _PORTS[parsed.scheme]
        for scheme, pattern, allowed_port in self.allowed:
            if (scheme, allowed_port) == (parsed.scheme, port) and (
                    host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:]))):
                return
        raise InputRefused(f"expected a URL whose scheme://host:port is listed in {URL_ALLOW} "
                           f"({', '.join(f'{s}://{h}:{p}' for s, h, p in self.allowed) or 'empty'}),"
                           f" got {redact_url(url)!r}; ask an operator to list the host")

    def vetted_addresses(self, host: str, port: int) -> list[tuple]:
        """`getaddrinfo` results for `host`; raises `InputRefused` if any address is not
        public, unless `host` opted in via INGEST_URL_ALLOW_PRIVATE."""
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        if host.lower().strip("[]") in self.private_hosts:
            return infos
        for *_, sockaddr in infos:
            why = _non_public(ipaddress.ip_address(sockaddr[0].split("%")[0]))
            if why:
                raise InputRefused(f"expected {host} to resolve to public addresses only, got "
                                   f"{sockaddr[0]} ({why}); internal addresses are refused — an "
                                   f"operator may list one's own host in {URL_ALLOW_PRIVATE}")
        return infos


def _follow(session, url: str, policy: UrlPolicy):
    """The first non-redirect response for `url`, every hop checked; raises otherwise."""
    from include.ingest.errors import TransientError

    for _ in range(MAX_REDIRECTS + 1):
        policy.check_url(url)
        response = session.get(url, stream=True, allow_redirects=False,
                               timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S),
                               headers={"Accept-Encoding": "identity"})
        if response.is_redirect:
            response.close()
            url = urljoin(url, response.headers["location"])
            continue
        if 200 <= response.status_code < 300:
            return response
        response.close()
        message = f"expected HTTP 2xx from {redact_url(url)}, got {response.status_code}"
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientError(f"{message}; Airflow retries the task", status=response.status_code)
        raise InputRefused(f"{message}; check the URL")
    raise InputRefused(f"expected at most {MAX_REDIRECTS} redirects, got more (last hop "
                       f"{redact_url(url)!r}); give the file's final URL")


def fetch_blocks(url: str, policy: UrlPolicy | None = None,
                 block_size: int = 1 << 20) -> Iterator[bytes]:
    """The raw bytes (no content decoding) of `url` in blocks, within the policy and its
    deadline. Proxies and .netrc from the environment are ignored (a proxy would be
    connected to instead of the vetted address)."""
    import requests

    from include.ingest.safety.vetted_http import VettedAdapter

    policy = policy or UrlPolicy.from_settings()
    deadline = time.monotonic() + policy.deadline_s
    with requests.Session() as session:
        session.trust_env = False
        session.mount("http://", VettedAdapter(policy))
        session.mount("https://", VettedAdapter(policy))
        with _follow(session, url, policy) as response:
            while block := response.raw.read1(block_size, decode_content=False):
                if time.monotonic() > deadline:
                    raise InputRefused(f"expected {redact_url(url)} to download within "
                                       f"{policy.deadline_s:g} s ({URL_DEADLINE}), got a slower "
                                       f"stream; the partial file was removed")
                yield block
