"""Overlay decisions per record (pure): match priority, policies, duplicates in a file."""
import pytest

from include.ingest.catalog.keys import RecordKeys
from include.ingest.catalog.overlay import Candidate, Matcher


def keys(ocn=None, isbn=None, control=None, sha="new"):
    return RecordKeys((ocn,) if ocn else (), (isbn,) if isbn else (), control, "fp", sha)


def existing(record_id, sha="old", ocns=(), touched=False, control=None, version=1):
    return Candidate(record_id, sha, frozenset(ocns), touched, control, version)


def test_no_match_creates():
    assert Matcher("replace", {}).decide(0, keys(ocn=1)).status == "created"


def test_ocn_beats_control_beats_isbn():
    candidates = {("ocn", "1"): [existing(10, ocns={"1"})], ("isbn", "978"): [existing(20)],
                  ("control", "c"): [existing(30)]}
    decision = Matcher("replace", candidates).decide(0, keys(ocn=1, isbn="978", control="c"))
    assert (decision.status, decision.record_id, decision.match_on) == ("updated", 10, "ocn")
    decision = Matcher("replace", candidates).decide(0, keys(isbn="978", control="c"))
    assert (decision.record_id, decision.match_on) == (30, "control")
    decision = Matcher("replace", candidates).decide(0, keys(isbn="978"))
    assert (decision.record_id, decision.match_on) == (20, "isbn")


def test_identical_content_is_unchanged_under_every_policy():
    for policy in ("replace", "keep_existing", "create_new"):
        decision = Matcher(policy, {("ocn", "1"): [existing(10, sha="same")]}).decide(
            0, keys(ocn=1, sha="same"))
        assert (decision.status, decision.record_id) == ("unchanged", 10)


@pytest.mark.parametrize("policy, status, record_id", [
    ("replace", "updated", 10), ("keep_existing", "unchanged", 10), ("create_new", "created", None)])
def test_policies_on_a_changed_record(policy, status, record_id):
    decision = Matcher(policy, {("ocn", "1"): [existing(10)]}).decide(0, keys(ocn=1))
    assert (decision.status, decision.record_id) == (status, record_id)


def test_isbn_match_refused_across_different_oclc_numbers():
    candidates = {("isbn", "978"): [existing(20, ocns={"2"})]}
    assert Matcher("replace", candidates).decide(0, keys(ocn=1, isbn="978")).status == "created"
    assert Matcher("replace", candidates).decide(0, keys(isbn="978")).record_id == 20


def test_duplicates_within_the_file():
    matcher = Matcher("replace", {("ocn", "5"): [existing(50)]})
    assert matcher.decide(0, keys(ocn=1)).status == "created"
    dup = matcher.decide(1, keys(ocn=1, sha="other"))
    assert (dup.status, dup.same_as, dup.record_id) == ("duplicate_in_file", 0, None)
    assert matcher.decide(2, keys(ocn=5)).status == "updated"
    # another incoming record reaching the same existing record by another key
    again = Matcher("replace", {("ocn", "5"): [existing(50)], ("isbn", "9"): [existing(50)]})
    assert again.decide(0, keys(ocn=5)).status == "updated"
    second = again.decide(1, keys(isbn="9"))
    assert (second.status, second.record_id, second.same_as) == ("duplicate_in_file", 50, 0)


def test_a_record_written_by_another_batch_of_the_run_is_a_duplicate():
    decision = Matcher("replace", {("ocn", "1"): [existing(10, touched=True)]}).decide(
        0, keys(ocn=1))
    assert decision.status == "duplicate_in_file" and "another batch of this run" in decision.detail


def test_several_matches_choose_the_lowest_id_and_say_so():
    decision = Matcher("replace", {("isbn", "9"): [existing(7), existing(3)]}).decide(
        0, keys(isbn="9"))
    assert decision.record_id == 3 and "2 records match on isbn" in decision.detail


def test_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="expected an overlay policy"):
        Matcher("merge", {})


def test_records_sharing_only_an_isbn_stay_distinct_when_their_001s_differ():
    """Seven records of one file, 001s 1..7 under 003 amdb, one ISBN: seven records."""
    matcher = Matcher("replace", {})
    decisions = [matcher.decide(n, keys(isbn="978", control=f"amdb/{n}")) for n in range(7)]
    assert [d.status for d in decisions] == ["created"] * 7
    assert "control numbers differ (amdb/1 vs amdb/0)" in decisions[1].detail
    # the same 001 again is a duplicate of its own record, not of the first one
    again = matcher.decide(7, keys(isbn="978", control="amdb/3"))
    assert (again.status, again.same_as, again.match_on) == ("duplicate_in_file", 3, "control")


def test_an_isbn_match_in_the_catalog_is_refused_when_001s_of_one_scope_differ():
    candidates = {("isbn", "978"): [existing(20, control="amdb/1")]}
    refused = Matcher("replace", candidates).decide(0, keys(isbn="978", control="amdb/2"))
    assert (refused.status, refused.record_id) == ("created", None)
    assert "record 20 shares isbn 978 but control numbers differ" in refused.detail
    # another organisation's 001 says nothing about ours: the ISBN still matches
    other_scope = Matcher("replace", candidates).decide(0, keys(isbn="978", control="DLC/9"))
    assert (other_scope.status, other_scope.record_id) == ("updated", 20)


def test_a_record_already_matched_in_this_file_keeps_that_records_identity():
    candidates = {("isbn", "978"): [existing(20)]}
    matcher = Matcher("replace", candidates)
    assert matcher.decide(0, keys(isbn="978", control="amdb/1")).status == "updated"
    second = matcher.decide(1, keys(isbn="978", control="amdb/2"))
    assert second.status == "created" and "record #0 of this file matched it" in second.detail


def test_a_duplicate_keeps_its_bytes_unless_identical_to_the_version_it_points_at():
    matcher = Matcher("replace", {})
    matcher.decide(0, keys(ocn=1, sha="a"))
    same = matcher.decide(1, keys(ocn=1, sha="a"))
    differs = matcher.decide(2, keys(ocn=1, sha="b"))
    assert (same.status, same.same_as, same.keep_bytes) == ("duplicate_in_file", 0, False)
    assert (differs.status, differs.same_as, differs.keep_bytes) == ("duplicate_in_file", 0, True)


def test_keep_existing_points_at_the_kept_version_and_keeps_the_incoming_bytes():
    candidates = {("ocn", "1"): [existing(10, version=4)]}
    kept = Matcher("keep_existing", candidates).decide(0, keys(ocn=1))
    assert (kept.status, kept.record_id, kept.version, kept.keep_bytes) == (
        "unchanged", 10, 4, True)
    identical = Matcher("keep_existing", {("ocn", "1"): [existing(10, sha="s", version=4)]})
    same = identical.decide(0, keys(ocn=1, sha="s"))
    assert (same.status, same.version, same.keep_bytes) == ("unchanged", 4, False)
