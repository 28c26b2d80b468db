"""Match keys: OCLC numbers, ISBN-13, control numbers, fingerprints (pure functions)."""
import hashlib

import pytest

from include.ingest.catalog.keys import (bibframe_keys, fingerprint, marc_keys, normalize_isbn,
                                         normalize_oclc)


@pytest.mark.parametrize("value, expected", [
    ("(OCoLC)ocm00012345", 12345),
    ("(OCoLC)ocn123456789", 123456789),
    ("(OCoLC)on1234567890", 1234567890),
    ("(OCoLC)12345", 12345),
    ("(OCoLC) 0012345", 12345),
    ("(ocolc)ocm00012345", 12345),
    ("(OCoLC)775658364", 775658364),
    ("(OCoLC)00000000", None),  # zero is no number
    ("(DLC)   91758335", None),  # another system's number
    ("ocm00012345", None),  # 035 $a without the (OCoLC) prefix is not an OCLC number
    ("", None),
    (None, None),
])
def test_oclc_numbers_from_035a(value, expected):
    assert normalize_oclc(value) == expected


def test_oclc_without_prefix_where_the_source_is_known():
    assert normalize_oclc("ocm00012345", require_prefix=False) == 12345
    assert normalize_oclc("12345", require_prefix=False) == 12345
    assert normalize_oclc("12345 extra", require_prefix=False) is None


@pytest.mark.parametrize("value, expected", [
    ("0306406152", "9780306406157"),
    ("0-306-40615-2 (pbk.)", "9780306406157"),
    ("9780306406157", "9780306406157"),
    ("978-0-306-40615-7 :", "9780306406157"),
    ("ISBN 0 306 40615 2", "9780306406157"),
    ("080442957x", "9780804429573"),  # lower-case check digit X
    ("750774115X", "9787507741155"),  # from FOLIO's UChicago sample
    ("9787507741155", "9787507741155"),
    ("0306406153", None),  # wrong ISBN-10 check digit
    ("9780306406158", None),  # wrong ISBN-13 check digit
    ("9770306406155", None),  # 977 is not an ISBN prefix (ISSN-13)
    ("0306406152 9780306406157", "9780306406157"),  # two in one $a: the first counts
    # 13 digits first (the common form, read without the regular expressions)
    ("9780306406157 (pbk.)", "9780306406157"),
    ("9780306406158 (pbk.)", None),
    ("9780306406157(pbk.)", "9780306406157"),
    ("9780306406157 ; 0306406152", "9780306406157"),
    ("9780306406157 0306406152", "9780306406157"),
    ("9770306406155 :", None),
    ("97803064061571", None),  # 14 digits: no ISBN
    ("9780306406157-", "9780306406157"),  # hyphen after it: the general path
    ("(pbk.)", None),
    ("", None),
])
def test_isbn_normalized_to_isbn13(value, expected):
    assert normalize_isbn(value) == expected


def test_fingerprint_is_sha256_of_001_and_005_else_content():
    assert fingerprint("ocm123", "20240101120000.0", "c") == hashlib.sha256(
        b"ocm12320240101120000.0").hexdigest()
    assert fingerprint("ocm123", None, "content-sha") == "content-sha"
    assert fingerprint(None, "20240101120000.0", "content-sha") == "content-sha"


def _marc(*fields):
    return {"leader": "00000nam a2200000 a 4500", "fields": list(fields)}


def _df(tag, *subfields):
    return {tag: {"ind1": " ", "ind2": " ", "subfields": [{c: v} for c, v in subfields]}}


def test_marc_keys_priority_and_what_is_ignored():
    record = _marc({"001": "in00012"}, {"003": "FOLIO"}, {"005": "20240101120000.0"},
                   _df("020", ("a", "0-306-40615-2 (pbk.)"), ("z", "9780000000002")),
                   _df("020", ("z", "0306406152")),
                   _df("035", ("a", "(OCoLC)ocm00012345"), ("z", "(OCoLC)99999")),
                   _df("035", ("a", "(DLC)12345")))
    keys = marc_keys(record, "sha")
    assert keys.ocns == (12345,)  # $z (cancelled) and other systems' numbers ignored
    assert keys.isbns == ("9780306406157",)
    assert keys.control == "FOLIO/in00012"
    assert keys.fingerprint == fingerprint("in00012", "20240101120000.0", "sha")
    assert keys.match_keys() == (("ocn", "12345"), ("control", "FOLIO/in00012"),
                                 ("isbn", "9780306406157"))


def test_oclc_records_carry_their_number_in_001():
    keys = marc_keys(_marc({"001": "ocm00054321"}, {"003": "OCoLC"},
                           _df("035", ("a", "(OCoLC)54321"))), "sha")
    assert keys.ocns == (54321,)
    assert keys.control == "OCoLC/ocm00054321"


def test_a_record_without_any_identifier_is_matched_by_content_only():
    keys = marc_keys(_marc(_df("245", ("a", "Untitled"))), "the-sha")
    assert keys.match_keys() == (("content", "the-sha"),)
    assert keys.fingerprint == "the-sha"


BF = "http://id.loc.gov/ontologies/bibframe/"


def test_bibframe_keys_from_instance_identifiers():
    graph = [
        {"@id": "http://x/i1", "@type": [BF + "Instance"],
         BF + "identifiedBy": [{"@id": "http://x/isbn"}, {"@id": "http://x/bad"},
                               {"@id": "_:oclc"}]},
        {"@id": "http://x/isbn", "@type": [BF + "Isbn"],
         "http://www.w3.org/1999/02/22-rdf-syntax-ns#value": [{"@value": "0306406152"}]},
        {"@id": "http://x/bad", "@type": [BF + "Isbn"],
         "http://www.w3.org/1999/02/22-rdf-syntax-ns#value": [{"@value": "0850598370"}],
         BF + "status": [{"@id": "http://id.loc.gov/vocabulary/mstatus/cancinv"}]},
        {"@id": "_:oclc", "@type": [BF + "Local"],
         "http://www.w3.org/1999/02/22-rdf-syntax-ns#value": [{"@value": "ocm00012345"}],
         BF + "assigner": [{"@id": "http://id.loc.gov/vocabulary/organizations/ocolc"}]},
    ]
    keys = bibframe_keys(graph, "sha")
    assert keys.isbns == ("9780306406157",)  # the cancelled/invalid one is skipped
    assert keys.ocns == (12345,)
    assert keys.control == "http://x/i1"
    assert keys.fingerprint == "sha"
