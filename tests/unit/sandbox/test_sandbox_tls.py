"""The sandbox's self-signed TLS key is private to its owner (issue 11 item 8)."""
import os
import stat

from sandbox.tls import server_context, write_self_signed


def test_the_private_key_is_0600_and_the_pair_loads(tmp_path):
    old_umask = os.umask(0)
    try:
        cert, key = write_self_signed(tmp_path / "tls")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(cert).st_mode) & 0o044  # the certificate is public
    server_context(cert, key)  # raises if the pair does not match
