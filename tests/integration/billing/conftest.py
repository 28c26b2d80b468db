"""A sandbox S3 with CUR deliveries, a fresh warehouse and landing zone per test."""
import pytest

from sandbox import Sandbox
from sandbox.aws.server import s3_client

@pytest.fixture(scope="module")
def sandbox():
    sb = Sandbox(seed=11, scale=900, months=("2024-01",), providers=("aws",),
                 aws_rows_per_file=300).start()
    yield sb
    sb.stop()


@pytest.fixture
def s3(sandbox):
    sandbox.clear_faults()
    return s3_client(sandbox.aws_url, retries={"total_max_attempts": 1})


@pytest.fixture
def billing_env(warehouse, warehouse_url, tmp_path, monkeypatch):
    """INGEST_DB_URL / INGEST_LANDING_URL for the pipeline, tables emptied."""
    monkeypatch.setenv("INGEST_DB_URL", warehouse_url)
    monkeypatch.setenv("INGEST_LANDING_URL", (tmp_path / "landing").as_uri())
    return warehouse
