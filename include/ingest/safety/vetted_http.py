"""A requests adapter whose sockets go only to addresses the URL policy vetted.

urllib3 opens every connection in `HTTPConnection._new_conn`; overriding it to resolve,
vet and connect to the vetted IP literal closes the gap between checking a name and
connecting to it (DNS rebinding). TLS still verifies the certificate against the host
name: only the socket's address changes.
"""
from __future__ import annotations

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError
from urllib3.util.connection import create_connection


class _VettedConnection:
    policy = None  # a UrlPolicy, set on the per-adapter subclasses

    def _new_conn(self):
        last_error = None
        for *_, sockaddr in self.policy.vetted_addresses(self._dns_host, self.port):
            try:
                return create_connection(sockaddr[:2], self.timeout, source_address=self.source_address,
                                         socket_options=self.socket_options)
            except OSError as exc:
                last_error = exc
        raise NewConnectionError(self, f"Failed to establish a new connection: {last_error}")


class VettedAdapter(HTTPAdapter):
    """HTTPAdapter without retries whose pools connect only through `policy`."""

    def __init__(self, policy):
        self._policy = policy
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        pools = {}
        for scheme, pool, connection in (("http", HTTPConnectionPool, HTTPConnection),
                                         ("https", HTTPSConnectionPool, HTTPSConnection)):
            vetted = type(f"Vetted{connection.__name__}", (_VettedConnection, connection),
                          {"policy": self._policy})
            pools[scheme] = type(f"Vetted{pool.__name__}", (pool,), {"ConnectionCls": vetted})
        self.poolmanager.pool_classes_by_scheme = pools
