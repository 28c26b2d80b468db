"""The paginator: explicit state, JSON round-trip, and the loop guard on repeated tokens."""
import json

import pytest

from include.ingest.billing import paging
from include.ingest.billing.paging import Paginator
from include.ingest.errors import PermanentError


def test_pages_until_a_page_without_a_token():
    p = Paginator("chunk 1")
    assert p.token is None and not p.done
    assert p.accept("t1", 10) == 1
    assert p.accept("t2", 10) == 2
    assert p.accept(None, 3) == 3
    assert p.done and p.token is None and (p.pages, p.rows) == (3, 23)


def test_an_empty_string_token_is_the_last_page():
    p = Paginator("chunk")
    p.accept("", 0)
    assert p.done


def test_the_same_token_again_fails_loudly_naming_it():
    p = Paginator("azure:1:2024-01:v chunk 00-01-31")
    p.accept("tok-A", 5)          # page 1 -> next is tok-A
    with pytest.raises(PermanentError) as caught:
        p.accept("tok-A", 5)      # page 2 (fetched with tok-A) says: next is tok-A again
    message = str(caught.value)
    assert "'tok-A'" in message and "page 2" in message and "chunk 00-01-31" in message
    assert (p.pages, p.token) == (1, "tok-A")  # state unchanged: nothing was accepted


def test_a_longer_cycle_is_caught_too():
    p = Paginator("chunk")
    for token in ("a", "b", "c"):
        p.accept(token, 1)
    with pytest.raises(PermanentError, match="'a' again"):
        p.accept("a", 1)


def test_max_pages_is_a_backstop():
    p = Paginator("chunk", max_pages=2)
    p.accept("a", 1)
    p.accept("b", 1)
    with pytest.raises(PermanentError, match="at most 2 pages"):
        p.accept("c", 1)


def test_state_round_trips_and_keeps_guarding():
    p = Paginator("chunk")
    p.accept("a", 2)
    p.context["job_id"] = "job_1"
    p.accept("b", 2)
    resumed = Paginator.from_state("chunk", p.to_state())
    assert (resumed.token, resumed.pages, resumed.rows, resumed.context) == ("b", 2, 4, {"job_id": "job_1"})
    with pytest.raises(PermanentError):
        resumed.accept("a", 1)   # a token used before the resume still counts
    assert Paginator.from_state("chunk", None).pages == 0


def test_no_pages_after_the_last():
    p = Paginator("chunk")
    p.accept(None, 1)
    with pytest.raises(ValueError, match="no more pages"):
        p.accept(None, 1)


def test_the_saved_state_stays_bounded_however_many_pages():
    # the state is saved after every page: a state growing with the page count makes a
    # chunk of n pages write O(n²) bytes (100k pages: ~170 GB of cursor writes)
    p = Paginator("chunk")
    sizes = {}
    for n in range(1, 20_001):
        p.accept(f"token-{n}", 1)
        if n in (1_000, 20_000):
            sizes[n] = len(json.dumps(p.to_state()))
    assert sizes[20_000] <= sizes[1_000] + 16  # a page number's digits, not 19,000 digests
    assert sizes[20_000] < 8_000


def test_a_cycle_longer_than_the_saved_window_is_caught_across_resumes():
    # every page is a new task attempt (a resume from the saved state): only the window and
    # the checkpoint survive, yet a provider cycling through 1,000 tokens is stopped
    cycle = [f"loop-{i}" for i in range(1_000)]
    state, pages = None, 0
    with pytest.raises(PermanentError, match="again \\(it already fetched page"):
        while True:
            p = Paginator.from_state("chunk", json.loads(json.dumps(state)) if state else None)
            p.accept(cycle[pages % len(cycle)], 1)
            state, pages = p.to_state(), p.pages
    assert pages < 3 * len(cycle) + 1_024  # within about twice the cycle, then it fails


def test_a_state_saved_with_every_digest_still_resumes_and_guards():
    old = {"token": "t3", "pages": 3, "rows": 3, "done": False, "context": {},
           "seen": [paging.token_digest(t) for t in ("t1", "t2")]}  # t1 fetched page 2
    p = Paginator.from_state("chunk", old)
    with pytest.raises(PermanentError, match="it already fetched page 2"):
        p.accept("t1", 1)
