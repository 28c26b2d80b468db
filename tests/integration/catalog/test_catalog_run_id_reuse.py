"""A run id reused for another file must not make that file's batches read as committed
(a batch id is derived from run id + batch number): it fails loudly instead."""
import uuid

import pytest

from include.ingest.catalog import batches
from include.ingest.catalog.pipeline import ingest_batch
from include.ingest.catalog.plan import plan_batches
from include.ingest.catalog.store import StoreError
from tests.integration.catalog.ingest import FIXTURES, ingest, marc_contents, retitle, write_marc

FIRST = FIXTURES / "folio-data-import" / "100.mrc"


def _other_file(tmp_path):
    """Another vendor file: the same records with new titles (so it has other contents)."""
    return write_marc(tmp_path / "other.mrc", [retitle(c, f"Other title {n}")
                                               for n, c in enumerate(marc_contents(FIRST))])


def test_a_reused_run_id_for_another_file_fails_at_plan(catalog, bloom, tmp_path):
    run_id = f"run-{uuid.uuid4().hex[:8]}"
    assert ingest(catalog, bloom, FIRST, run_id=run_id)["created"] == 100
    other = plan_batches(str(_other_file(tmp_path)), run_id)
    with pytest.raises(StoreError, match=r"expected the file it was registered from, sha256 "
                                         r"\w{64} .* got sha256 \w{64} .*trigger a new run"):
        batches.register(catalog, other)


def test_a_batch_of_another_file_under_a_reused_id_is_not_read_as_committed(catalog, bloom,
                                                                             tmp_path):
    run_id = f"run-{uuid.uuid4().hex[:8]}"
    ingest(catalog, bloom, FIRST, run_id=run_id)
    (descriptor,) = plan_batches(str(_other_file(tmp_path)), run_id)  # e.g. from an old XCom
    with pytest.raises(StoreError, match="expected the file it was registered from"):
        ingest_batch(catalog, descriptor, bloom)
    titles = catalog.execute("SELECT count(*) FROM catalog.record_versions").fetchone()[0]
    assert titles == 100  # nothing of the other file was written, nothing said "already"


def test_the_same_file_under_the_same_run_id_is_still_idempotent(catalog, bloom):
    run_id = f"run-{uuid.uuid4().hex[:8]}"
    ingest(catalog, bloom, FIRST, run_id=run_id)
    again = ingest(catalog, bloom, FIRST, run_id=run_id)  # a cleared plan task, re-run
    assert again["created"] == 100 and again["not_committed"] == []
