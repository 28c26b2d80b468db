"""When the Bloom filter's misses can be believed at commit time (pure)."""
from include.ingest.catalog.screen import Screen


def test_misses_are_trusted_only_when_no_batch_committed_in_between():
    screened = Screen(seq_before=41, ready=True, maybe=[False, True])
    assert screened.trusted(42, records=2)  # our commit took the very next number
    assert not screened.trusted(43, records=2)  # someone committed after our filter call


def test_an_unready_filter_or_other_records_are_never_trusted():
    assert not Screen(0, ready=False, maybe=[False]).trusted(1, records=1)
    assert not Screen(0, ready=True, maybe=[False]).trusted(1, records=2)
