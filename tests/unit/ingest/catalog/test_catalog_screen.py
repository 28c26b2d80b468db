"""When the Bloom filter's misses can be believed at commit time (pure)."""
from include.ingest.catalog.screen import Screen


def test_misses_are_trusted_only_when_no_batch_committed_in_between():
    screened = Screen(seq_before=41, complete_through=41, maybe=[False, True])
    assert screened.trusted(42, records=2)  # our commit took the very next number
    assert not screened.trusted(43, records=2)  # someone committed after our filter call


def test_an_unready_filter_or_other_records_are_never_trusted():
    assert not Screen(0, complete_through=None, maybe=[False]).trusted(1, records=1)
    assert not Screen(0, complete_through=0, maybe=[False]).trusted(1, records=2)


def test_a_filter_behind_or_ahead_of_postgresql_is_never_trusted():
    # it lost the writes of commit 41 (restore, failover, AOF everysec), or it holds a
    # catalog PostgreSQL no longer has (the warehouse restored from a backup)
    assert not Screen(41, complete_through=40, maybe=[False]).trusted(42, records=1)
    assert not Screen(41, complete_through=45, maybe=[False]).trusted(42, records=1)
