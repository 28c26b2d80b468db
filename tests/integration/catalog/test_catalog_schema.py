"""The catalog tables carry the indexes some query uses, and no other (each one costs every
batch's COPY)."""


def _indexes(conn, table: str) -> set[str]:
    return {r[0] for r in conn.execute(
        "SELECT indexname FROM pg_indexes WHERE schemaname = 'catalog' AND tablename = %s",
        (table,))}


def test_record_versions_has_no_fingerprint_index(catalog):
    # rollback reads versions by batch_id, everything else by (record_id, version)
    assert _indexes(catalog, "record_versions") == {"record_versions_pkey",
                                                    "record_versions_batch"}
