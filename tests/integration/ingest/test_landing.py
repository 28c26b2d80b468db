"""The landing zone on the local filesystem (file://), as the local stack uses it."""
import pytest

from include.ingest import landing


@pytest.fixture(autouse=True)
def landing_url(tmp_path, monkeypatch):
    monkeypatch.setenv("INGEST_LANDING_URL", (tmp_path / "landing").as_uri())


def test_land_streams_bytes_unchanged_with_checksum():
    target = landing.slice_dir("raw", "aws", "1234", "2023-11", "2023-12-03T04:02:11Z") / "f.csv.gz"
    blocks = [b"a" * 1000, b"b" * 10, b""]
    landed = landing.land(iter(blocks), target, "s3://bucket/key")
    assert landed.size == 1010 and "2023-12-03T04_02_11Z" in landed.path
    assert target.read_bytes() == b"a" * 1000 + b"b" * 10
    assert landing.already_landed(target) == landed
    landing.verify(landed)


def test_half_written_or_altered_file_is_not_trusted():
    target = landing.slice_dir("raw", "aws", "1", "2023-11", "v") / "f"
    assert landing.already_landed(target) is None
    landed = landing.land([b"12345"], target, "src")
    target.write_bytes(b"1234")  # a killed writer / a tampered file
    assert landing.already_landed(target) is None
    with pytest.raises(ValueError, match="expected sha256 .* size 5, got .* size 4"):
        landing.verify(landed)


def test_a_source_past_the_size_cap_stops_and_leaves_no_partial_file(monkeypatch):
    """`/dev/zero` as a source: without a cap it fills the disk, then retries do it again."""
    target = landing.slice_dir("raw", "aws", "1", "2023-11", "v") / "zero"
    with open("/dev/zero", "rb") as zero:
        with pytest.raises(landing.LandingTooLarge, match=r"expected at most 3145728 bytes from "
                                                          r"/dev/zero, got more; the partial file"):
            landing.land(iter(lambda: zero.read(1 << 20), b""), target, "/dev/zero", max_bytes=3 << 20)
    assert not target.exists() and landing.already_landed(target) is None
    monkeypatch.setenv("INGEST_LANDING_MAX_BYTES", "4")  # the configured default cap
    with pytest.raises(landing.LandingTooLarge, match="expected at most 4 bytes"):
        landing.land([b"123", b"45"], target, "src")
    assert not target.exists()
    assert landing.land([b"1234"], target, "src").size == 4  # at the cap is fine


def test_missing_configuration_says_what_to_set(monkeypatch):
    monkeypatch.delenv("INGEST_LANDING_URL")
    with pytest.raises(Exception, match="INGEST_LANDING_URL is not set"):
        landing.landing_root()


def test_a_download_that_fails_its_check_leaves_nothing_a_retry_could_reuse():
    target = landing.slice_dir("raw", "aws", "1", "2023-11", "v") / "part-1.csv.gz"

    def cut_short(written, size):
        assert written.read_bytes() == b"12"  # the check sees the bytes before anyone else
        raise ConnectionError(f"expected 5 bytes, got {size}")

    with pytest.raises(ConnectionError, match="expected 5 bytes, got 2"):
        landing.land([b"12"], target, "src", check=cut_short)
    assert not target.exists() and landing.already_landed(target) is None
    assert sorted(p.name for p in target.parent.iterdir()) == []  # no .partial, no meta
    landed = landing.land([b"12345"], target, "src", check=lambda written, size: None)
    assert landing.already_landed(target) == landed and target.read_bytes() == b"12345"


def test_a_file_landed_without_its_check_is_fetched_again(tmp_path):
    import json
    target = landing.slice_dir("raw", "aws", "1", "2023-11", "v") / "f"
    landed = landing.land([b"123"], target, "src")
    meta = target.parent / "f.meta.json"
    legacy = json.loads(meta.read_text())
    legacy.pop("verified")  # what landing wrote before checks ran ahead of the meta file
    meta.write_text(json.dumps(legacy))
    assert landing.already_landed(target) is None
    assert landing.land([b"123"], target, "src") == landing.already_landed(target)
    assert landed.sha256 == landing.already_landed(target).sha256
