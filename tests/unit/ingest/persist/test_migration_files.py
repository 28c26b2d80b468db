"""Migration files apply in name order; two files with one number would make that order
depend on the rest of the name, so numbers are unique."""
from collections import Counter

from include.ingest.persist.migrate import migration_files


def test_migration_numbers_are_unique_and_files_are_found():
    numbers = Counter(path.name[:4] for path in migration_files())
    assert numbers, "expected migrations in include/ingest/persist/migrations/"
    assert [n for n, count in numbers.items() if count > 1] == []
