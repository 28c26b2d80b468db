-- MARC versions are stored as their UTF-8 ISO 2709 bytes (`marc`), not as JSON: the exact
-- record, and no per-record JSON encoding on the ingest path (it cost more than parsing).
-- BIBFRAME graphs stay in `content` (jsonb). MARC-in-JSON is computed on demand by
-- catalog.marc_json(), e.g. in the view catalog.current_records. A version's match keys
-- are no longer copied into it: rollback recomputes them from the restored version.
ALTER TABLE catalog.record_versions
    ALTER COLUMN content DROP NOT NULL,
    ADD COLUMN marc bytea,
    DROP COLUMN keys,
    ADD CONSTRAINT record_versions_one_form CHECK ((content IS NULL) <> (marc IS NULL));

-- MARC-in-JSON ({"leader", "fields": [{tag: value} | {tag: {ind1, ind2, subfields}}]}) of a
-- UTF-8 ISO 2709 record, as include/ingest/catalog/marc.py decode_record() builds it.
CREATE FUNCTION catalog.marc_json(marc bytea) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    base    integer := convert_from(substring(marc FROM 13 FOR 5), 'SQL_ASCII')::integer;
    fields  jsonb := '[]';
    tag     text;
    len     integer;
    off     integer;
    data    text;
    parts   text[];
    ind     text;
    subs    jsonb;
BEGIN
    FOR i IN 0 .. (base - 25) / 12 - 1 LOOP
        tag := convert_from(substring(marc FROM 25 + 12 * i FOR 3), 'LATIN1');
        len := convert_from(substring(marc FROM 28 + 12 * i FOR 4), 'SQL_ASCII')::integer;
        off := convert_from(substring(marc FROM 32 + 12 * i FOR 5), 'SQL_ASCII')::integer;
        data := convert_from(substring(marc FROM base + off + 1 FOR len - 1), 'UTF8');
        IF tag < '010' AND tag ~ '^[0-9]+$' THEN
            fields := fields || jsonb_build_array(jsonb_build_object(tag, data));
        ELSE
            parts := string_to_array(data, chr(31));
            ind := rpad(coalesce(parts[1], ''), 2);
            SELECT coalesce(jsonb_agg(jsonb_build_object(left(p, 1), substr(p, 2)) ORDER BY n),
                            '[]')
              INTO subs FROM unnest(parts[2:]) WITH ORDINALITY AS u(p, n) WHERE p <> '';
            fields := fields || jsonb_build_array(jsonb_build_object(tag, jsonb_build_object(
                'ind1', substr(ind, 1, 1), 'ind2', substr(ind, 2, 1), 'subfields', subs)));
        END IF;
    END LOOP;
    RETURN jsonb_build_object('leader', convert_from(substring(marc FROM 1 FOR 24), 'LATIN1'),
                              'fields', fields);
END $$;

-- The current version of every record that is not deleted, readable in psql.
CREATE VIEW catalog.current_records AS
SELECT r.record_id, r.kind, r.current_version AS version, v.batch_id, v.written_at,
       coalesce(v.content, catalog.marc_json(v.marc)) AS content, v.marc, v.encoding,
       v.encoding_guessed, v.warnings
FROM catalog.records r
JOIN catalog.record_versions v ON v.record_id = r.record_id AND v.version = r.current_version;
