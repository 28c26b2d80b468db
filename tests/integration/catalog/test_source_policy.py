"""The catalog `source` param can name only files inside the landing zone or an inbox root:
real files, symlinks and a FIFO on the local file system (issue 11, item 1)."""
import os
import threading
from pathlib import Path

import pytest

from include.ingest.catalog.model import CatalogInputError
from include.ingest.catalog.plan import detect_format, land_source
from include.ingest.safety import InputRefused

SECRET = b"AIRFLOW__CORE__FERNET_KEY=not-for-your-eyes\n"


@pytest.fixture
def zone(tmp_path, monkeypatch):
    (tmp_path / "landing" / "inbox").mkdir(parents=True)
    (tmp_path / "inbox").mkdir()
    (tmp_path / "landing-x").mkdir()  # shares the landing zone's string prefix
    (tmp_path / "landing-x" / "f.mrc").write_bytes(SECRET)
    (tmp_path / "state.json").write_bytes(SECRET)
    monkeypatch.setenv("INGEST_LANDING_URL", (tmp_path / "landing").as_uri())
    monkeypatch.setenv("INGEST_INBOX_ROOTS", str(tmp_path / "inbox"))
    return tmp_path


def landed_files(zone: Path) -> list[Path]:
    return [p for p in (zone / "landing").rglob("*") if p.is_file()]


@pytest.mark.parametrize("source", [
    "../state.json", "inbox/../../state.json", "../../../../../../etc/passwd", "/etc/passwd",
    "/proc/self/environ", "file:///etc/passwd", "{zone}/state.json", "file://{zone}/state.json",
    "../landing-x/f.mrc", "{zone}/landing-x/f.mrc", "/dev/zero", "ftp://example.org/f.mrc"])
def test_paths_outside_the_roots_are_refused_without_reading_them(zone, source):
    source = source.format(zone=zone)
    with pytest.raises(InputRefused, match="expected a") as refused:
        land_source(source, "run")
    assert "not-for-your-eyes" not in str(refused.value)
    assert landed_files(zone) == []


def test_a_symlink_out_of_a_root_is_refused(zone):
    (zone / "inbox" / "vendor.mrc").symlink_to(zone / "state.json")
    (zone / "landing" / "inbox" / "zero.mrc").symlink_to("/dev/zero")
    for source in (str(zone / "inbox" / "vendor.mrc"), "inbox/zero.mrc"):
        with pytest.raises(InputRefused, match="expected a file inside the landing zone"):
            land_source(source, "run")
    assert landed_files(zone) == []


def test_fifos_and_directories_are_refused_at_once(zone):
    os.mkfifo(zone / "inbox" / "pipe.mrc")  # opening it for reading would block forever
    (zone / "inbox" / "folder.mrc").mkdir()
    outcome = {}

    def attempt(source):
        try:
            land_source(source, "run")
        except InputRefused as exc:
            outcome[source] = str(exc)

    for source in (str(zone / "inbox" / "pipe.mrc"), str(zone / "inbox" / "folder.mrc")):
        worker = threading.Thread(target=attempt, args=(source,), daemon=True)
        worker.start()
        worker.join(10)
        assert not worker.is_alive(), f"{source}: expected a refusal, got a blocked open"
    assert "got a FIFO" in outcome[str(zone / "inbox" / "pipe.mrc")]
    assert "got a directory" in outcome[str(zone / "inbox" / "folder.mrc")]


def test_files_in_the_roots_are_accepted(zone):
    (zone / "inbox" / "vendor.mrc").write_bytes(b"records")
    (zone / "inbox" / "latest.mrc").symlink_to(zone / "inbox" / "vendor.mrc")  # stays inside
    (zone / "landing" / "inbox" / "v.mrc").write_bytes(b"in place")
    copied = land_source(str(zone / "inbox" / "latest.mrc"), "run")
    assert Path(copied.path.removeprefix("file://")).read_bytes() == b"records"
    assert "/landing/raw/catalog/" in copied.path
    in_place = land_source("inbox/v.mrc", "run")
    assert in_place.path.endswith("/landing/inbox/v.mrc") and in_place.size == 8
    by_url = land_source((zone / "inbox" / "vendor.mrc").as_uri(), "run2")
    assert by_url.sha256 == copied.sha256


def test_an_unknown_format_error_does_not_quote_the_file(zone):
    path = zone / "inbox" / "notes.txt"
    path.write_bytes(SECRET)
    with open(path, "rb") as stream, pytest.raises(CatalogInputError) as refused:
        detect_format(stream, str(path))
    assert "not-for-your-eyes" not in str(refused.value) and "FERNET" not in str(refused.value)
