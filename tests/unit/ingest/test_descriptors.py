"""The shared contract check: a bad descriptor fails where a task receives it, as a
PermanentError naming the task, the model (and where it is defined) and the field."""
import pytest

from include.ingest.errors import PermanentError


def test_a_catalog_batch_is_checked_where_it_is_received():
    from include.ingest.catalog.tasks import run_batch
    with pytest.raises(PermanentError, match=r"^ingest_batch: expected a CatalogBatch descriptor .* batch_id: Field required"):
        run_batch({"batch": "r-0000", "run_id": "r"})
