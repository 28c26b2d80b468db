"""The DAG tasks' code end to end, as Airflow runs it: environment-configured connections,
the landing zone, JSON in and out (the DAG files themselves are covered by tests/dags)."""
import json
import shutil
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest

from include.ingest.catalog import bloom, tasks
from tests.integration.catalog.ingest import FIXTURES

PARAMS = {"format": "auto", "batch_size": 500, "overlay_policy": "replace"}


@pytest.fixture
def env(catalog, warehouse_url, redis_url, tmp_path, monkeypatch):
    monkeypatch.setenv("INGEST_DB_URL", warehouse_url)
    monkeypatch.setenv("INGEST_REDIS_URL", redis_url)
    monkeypatch.setenv("INGEST_LANDING_URL", (tmp_path / "landing").as_uri())
    (tmp_path / "landing" / "inbox").mkdir(parents=True)
    (tmp_path / "vendor-inbox").mkdir()
    monkeypatch.setenv("INGEST_INBOX_ROOTS", str(tmp_path / "vendor-inbox"))
    yield tmp_path
    bloom.from_env().drop()  # the warehouse's filter: this session's database goes away


def run_dag(source: str, **params) -> tuple[list[dict], list[dict], dict]:
    run_id = f"manual__{uuid.uuid4().hex[:8]}"
    descriptors = tasks.plan_run({**PARAMS, **params, "source": source}, run_id)
    descriptors = json.loads(json.dumps(descriptors))  # what XCom carries
    results = [tasks.run_batch(d) for d in descriptors]
    return descriptors, results, tasks.summarize_run(run_id)


def test_ingest_then_rollback_through_the_task_functions(env, catalog):
    big = env / "vendor-inbox" / "61PRINT.mrc"
    shutil.copy(FIXTURES / "folio-data-import" / "61PRINT160129.mrc", big)
    descriptors, results, summary = run_dag(str(big))  # in an inbox root: landed first
    assert "/landing/raw/catalog/" in descriptors[0]["source"]
    assert [d["records"] for d in descriptors] == [246]
    assert summary["created"] == 246 and summary["not_committed"] == []
    assert tasks.run_batch(descriptors[0])["already"]  # a retried mapped task
    report = tasks.rollback(descriptors[0]["batch_id"])
    assert len(report["deleted"]) == 246 and report["conflicts"] == []


def test_a_file_in_the_landing_zone_is_used_in_place(env, catalog):
    shutil.copy(FIXTURES / "pymarc" / "bad_records.mrc", env / "landing" / "inbox" / "v.mrc")
    descriptors, _, summary = run_dag("inbox/v.mrc")
    assert descriptors[0]["source"].endswith("/landing/inbox/v.mrc")
    assert (summary["created"], summary["duplicate_in_file"], summary["dlq"]) == (1, 1, 6)


def test_the_encoding_param_reaches_every_batch(env, catalog):
    """MARC-8 records under leader/09 = a: repaired by auto (flagged guessed), read as told by
    encoding marc-8 (not guessed) — the same stored records either way."""
    source = str(env / "vendor-inbox" / "marc8_under_utf8_leader.mrc")  # where sources may be
    shutil.copy(FIXTURES / "defects" / "marc8_under_utf8_leader.mrc", source)
    stored = []
    for encoding in ("auto", "marc-8"):
        descriptors, _, summary = run_dag(source, encoding=encoding)
        assert {d["encoding"] for d in descriptors} == {encoding}
        assert (summary["created"] + summary["unchanged"], summary["dlq"]) == (40, 0)
        stored.append(catalog.execute(
            "SELECT encoding, encoding_guessed, count(*) FROM catalog.record_versions "
            "GROUP BY 1, 2 ORDER BY 1, 2").fetchall())
    assert stored[0] == [("marc-8", True, 8), ("utf-8", False, 32)]  # ASCII under leader a


def test_bad_params_fail_fast(env, catalog):
    from airflow.sdk.exceptions import AirflowFailException
    with pytest.raises(AirflowFailException, match="expected the source param"):
        tasks.plan_run({**PARAMS, "source": " "}, "r")
    with pytest.raises(AirflowFailException, match="not found"):
        tasks.plan_run({**PARAMS, "source": "inbox/missing.mrc"}, "r")
    shutil.copy(FIXTURES / "pymarc" / "marc8.dat", env / "landing" / "inbox" / "m.mrc")
    with pytest.raises(AirflowFailException, match="expected an encoding in"):
        tasks.plan_run({**PARAMS, "source": "inbox/m.mrc", "encoding": "latin-1"}, "r")
    with pytest.raises(AirflowFailException, match="no batch nope"):
        tasks.rollback("nope")


@pytest.fixture
def http_fixtures():
    """A real HTTP server on a free port serving tests/fixtures/library/."""
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(FIXTURES))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_url_is_landed_once_per_run_then_ingested(env, catalog, http_fixtures, monkeypatch):
    monkeypatch.setenv("INGEST_URL_ALLOW", http_fixtures)  # the test server, by explicit opt-in
    monkeypatch.setenv("INGEST_URL_ALLOW_PRIVATE", "127.0.0.1")
    url = f"{http_fixtures}/marc2bibframe2/collection.xml"
    descriptors, _, summary = run_dag(url)
    landed = descriptors[0]["source"]
    assert "/landing/raw/catalog/" in landed and landed.endswith("/collection.xml")
    assert Path(urlparse(landed).path).read_bytes() == (
        FIXTURES / "marc2bibframe2" / "collection.xml").read_bytes()  # raw first, unchanged
    assert summary["created"] == 3 and descriptors[0]["format"] == "marcxml"
