"""A URL param cannot turn a worker against the network (issue 11, item 2): allow-listed
hosts only, no internal addresses unless opted in, redirects re-checked per hop, raw bytes
capped, time bounded. Real HTTP servers on loopback; the opt-in names them explicitly."""
import gzip
import http.server
import threading
import time

import pytest

from include.ingest.catalog.plan import land_source
from include.ingest.safety import InputRefused

BOMB = gzip.compress(b"\0" * (8 << 20))  # 8 MiB of zeros in ~8 KB


class Handler(http.server.BaseHTTPRequestHandler):
    hits: list = []

    def log_message(self, *args):  # keep the test output quiet
        pass

    def redirect(self, location):
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        Handler.hits.append(self.path)
        port = self.server.server_address[1]
        if self.path == "/file.xml":
            body = b"<collection/>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/to-metadata":
            self.redirect("http://169.254.169.254/latest/meta-data/")
        elif self.path == "/to-localhost":
            self.redirect(f"http://localhost:{port}/file.xml")
        elif self.path.startswith("/loop"):
            self.redirect(f"/loop{len(self.path)}")
        elif self.path == "/bomb.mrc":
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(BOMB)))
            self.end_headers()
            self.wfile.write(BOMB)
        elif self.path in ("/forever.mrc", "/trickle.mrc"):
            self.send_response(200)
            self.end_headers()  # no length: the body ends when the server closes
            block, pause = (b"0" * 65536, 0) if self.path == "/forever.mrc" else (b"0", 0.1)
            for _ in range(800):  # "forever" for the code under test, bounded for the machine
                try:
                    self.wfile.write(block)
                except OSError:
                    return
                time.sleep(pause)


@pytest.fixture
def server(tmp_path, monkeypatch):
    monkeypatch.setenv("INGEST_LANDING_URL", (tmp_path / "landing").as_uri())
    for name in ("INGEST_URL_ALLOW", "INGEST_URL_ALLOW_PRIVATE", "INGEST_URL_DEADLINE_S"):
        monkeypatch.delenv(name, raising=False)
    http.server.ThreadingHTTPServer.daemon_threads = True
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    Handler.hits = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def landed(tmp_path) -> list:
    return [p for p in (tmp_path / "landing").rglob("*") if p.is_file()]


def opt_in(monkeypatch, url):
    monkeypatch.setenv("INGEST_URL_ALLOW", url)
    monkeypatch.setenv("INGEST_URL_ALLOW_PRIVATE", "127.0.0.1")


def test_no_url_is_fetched_unless_its_host_is_listed(server, tmp_path):
    with pytest.raises(InputRefused, match="listed in INGEST_URL_ALLOW"):
        land_source(f"{server}/file.xml", "run")
    assert Handler.hits == [] and landed(tmp_path) == []


def test_a_listed_host_resolving_to_loopback_needs_the_explicit_opt_in(server, tmp_path, monkeypatch):
    port = server.rsplit(":", 1)[1]
    monkeypatch.setenv("INGEST_URL_ALLOW", f"http://localhost:{port}")  # listed, not opted in
    with pytest.raises(InputRefused, match=r"localhost to resolve to public addresses only, got "
                                           r"(127\.0\.0\.1|::1) \(loopback\)"):
        land_source(f"http://localhost:{port}/file.xml", "run")
    assert Handler.hits == []  # refused before connecting
    opt_in(monkeypatch, server)
    assert land_source(f"{server}/file.xml", "run").size == len(b"<collection/>")


def test_every_redirect_hop_is_checked(server, tmp_path, monkeypatch):
    port = server.rsplit(":", 1)[1]
    opt_in(monkeypatch, f"{server},http://localhost:{port},http://169.254.169.254")
    with pytest.raises(InputRefused, match=r"169\.254\.169\.254 \(link-local\)"):
        land_source(f"{server}/to-metadata", "run")  # listed, yet an internal address
    with pytest.raises(InputRefused, match=r"localhost to resolve to public addresses only"):
        land_source(f"{server}/to-localhost", "run")  # the hop's host did not opt in
    assert Handler.hits == ["/to-metadata", "/to-localhost"]
    with pytest.raises(InputRefused, match="expected at most 5 redirects"):
        land_source(f"{server}/loop", "run")
    assert len(Handler.hits) == 2 + 6
    assert landed(tmp_path) == []


def test_bytes_are_landed_raw_never_inflated(server, tmp_path, monkeypatch):
    opt_in(monkeypatch, server)
    result = land_source(f"{server}/bomb.mrc", "run")
    assert result.size == len(BOMB) < 20_000  # decoded it would be 8 MiB


def test_a_stream_past_the_size_cap_stops_and_leaves_nothing(server, tmp_path, monkeypatch):
    opt_in(monkeypatch, server)
    monkeypatch.setenv("INGEST_CATALOG_MAX_BYTES", str(1 << 20))
    with pytest.raises(InputRefused, match=r"expected at most 1048576 bytes .* partial file was removed"):
        land_source(f"{server}/forever.mrc", "run")
    assert landed(tmp_path) == []


def test_a_slow_stream_stops_at_the_deadline(server, tmp_path, monkeypatch):
    opt_in(monkeypatch, server)
    monkeypatch.setenv("INGEST_URL_DEADLINE_S", "1")
    started = time.monotonic()
    with pytest.raises(InputRefused, match=r"download within 1 s \(INGEST_URL_DEADLINE_S\)"):
        land_source(f"{server}/trickle.mrc", "run")
    assert time.monotonic() - started < 10 and landed(tmp_path) == []
