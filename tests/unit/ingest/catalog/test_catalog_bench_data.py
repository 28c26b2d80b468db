"""The benchmark's generated file is real MARC the pipeline reads without a bad record."""
import io

from bench.catalog_bench import generate_file, synthetic_record
from include.ingest.catalog.keys import marc_keys_from
from include.ingest.catalog.marc import iter_marc
from include.ingest.catalog.model import ParsedRecord


def test_generated_records_are_valid_and_keyed(tmp_path):
    path = tmp_path / "bench.mrc"
    size = generate_file(path, 200)
    items = list(iter_marc(io.BytesIO(path.read_bytes())))
    assert len(items) == 200 and all(isinstance(i, ParsedRecord) for i in items)
    assert 400 < size / 200 < 700  # ≈ the per-record size of the library-formats figures
    keys = [marc_keys_from(i.key_fields, "sha") for i in items]
    assert all(len(k.ocns) == 1 and len(k.isbns) == 1 for k in keys)
    assert len({k.ocns[0] for k in keys}) == 200
    assert items[7].content == {**synthetic_record(7), "leader": items[7].content["leader"]}
