import pytest

from include.ingest.selfcheck import plan_chunks, summarize


def test_plan_makes_one_descriptor_per_chunk():
    assert plan_chunks(3) == [{"chunk_id": 0, "of": 3}, {"chunk_id": 1, "of": 3},
                              {"chunk_id": 2, "of": 3}]


@pytest.mark.parametrize("bad", [0, 257])
def test_plan_rejects_out_of_range_fan_out(bad):
    with pytest.raises(ValueError, match="expected 1 ≤ chunks ≤ 256"):
        plan_chunks(bad)


def _result(queue, chunk_id=None, pid=1):
    return {"queue": queue, "chunk_id": chunk_id, "host": "h", "pid": pid}


def test_summary_counts_chunks_and_queues():
    summary = summarize([_result("q1", 0, 1), _result("q1", 1, 2)], [_result("q2", pid=3)],
                        ("q1", "q2"), 2)
    assert summary == {"chunks": 2, "queues": ["q1", "q2"], "chunk_queue": ["q1"],
                       "worker_pids": 3}


def test_summary_names_missing_chunk_and_queue():
    with pytest.raises(RuntimeError, match=r"got chunks \[0\] and queues \['q1'\]"):
        summarize([_result("q1", 0)], [], ("q1", "q2"), 2)


def test_summary_rejects_a_duplicated_chunk():
    with pytest.raises(RuntimeError):
        summarize([_result("q1", 0), _result("q1", 1), _result("q1", 1)], [_result("q2")],
                  ("q1", "q2"), 2)
