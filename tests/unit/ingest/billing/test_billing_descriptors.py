"""XCom descriptors as contracts: what a task receives is checked at the boundary, and a
renamed field fails there naming the task, the descriptor and the field."""
import pytest

from include.ingest.billing import descriptors
from include.ingest.billing.descriptors import Chunk, Fetched, Normalized, Plan, received
from include.ingest.errors import PermanentError

SLICE = {"provider": "aws", "billing_account": "111122223333", "billing_period": "2024-01",
         "version": "a1", "version_at": "2024-02-01T00:00:00+00:00"}
CHUNK = {"chunk_id": "00000", "slice": SLICE, "format": "csv.gz", "bucket": "b", "key": "k",
         "conn_id": "aws_billing"}
LANDED = {"path": "file:///l/x", "sha256": "0" * 64, "size": 1, "source": "s3://b/k",
          "landed_at": "2024-02-01T00:00:00+00:00"}


def test_a_valid_descriptor_passes_unchanged_provider_fields_and_all():
    assert received(Chunk, CHUNK, "fetch") is CHUNK
    fetched = {"chunk": CHUNK, "landed": LANDED}
    assert received(Fetched, fetched, "normalize") is fetched
    plan = {"slice": SLICE, "state": "loading", "source": {}, "chunks": [CHUNK], "previous_period": "2023-12"}
    assert received(Plan, plan, "publish") is plan


def test_a_renamed_field_fails_at_the_boundary_naming_it():
    renamed = {**{k: v for k, v in CHUNK.items() if k != "chunk_id"}, "chunk": "00000"}
    with pytest.raises(PermanentError, match=r"^fetch: expected a Chunk descriptor .* chunk_id: Field required"):
        received(Chunk, renamed, "fetch")


def test_a_nested_field_is_named_by_its_path():
    fetched = {"chunk": CHUNK, "landed": {**LANDED, "sha256": None}}
    with pytest.raises(PermanentError, match=r"landed\.sha256: Input should be a valid string"):
        received(Fetched, fetched, "normalize")


def test_what_normalize_returns_is_what_persist_expects():
    # pipeline.normalize's return value, field for field
    normalized = {"chunk_id": "00000", "slice": SLICE, "rows_in": 3, "rows_good": 2,
                  "rows_quarantined": 1, "normalized": "file:///n.parquet",
                  "quarantine": "file:///n.jsonl", "source_file": "s3://b/k"}
    assert received(Normalized, normalized, "persist") is normalized
    assert set(Normalized.model_fields) == set(normalized)
    assert descriptors.Persisted.model_fields["rows_staged"].annotation is int

