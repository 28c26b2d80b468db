"""A download cut short is never reused: the task's retry fetches the object again, and
nobody has to delete landing files by hand (issue 12 #3)."""
import pytest
from airflow.sdk import ObjectStoragePath

from include.ingest.billing.sources import aws_cur
from include.ingest.errors import TransientError
from tests.integration.billing.run_cur import PAYER, report

IN_TASK_ATTEMPTS = 4  # aws_cur._s3_call: every one of them is cut short, so the task fails


def test_truncated_gzip_is_not_trusted_by_the_tasks_retry(sandbox, s3, billing_env):
    sv, chunks, _ = aws_cur.find_delivery(s3, report(sandbox), "2024-01", PAYER)
    chunk = chunks[0]
    whole = s3.get_object(Bucket=chunk["bucket"], Key=chunk["key"])["Body"].read()
    sandbox.set_faults(f"aws.get:truncate:first={IN_TASK_ATTEMPTS}")
    with pytest.raises(TransientError, match="expected .* bytes|expected a complete csv.gz"):
        aws_cur.fetch(s3, chunk, sv)
    landed = aws_cur.fetch(s3, chunk, sv)  # Airflow's retry of the task: the fault is spent
    assert landed.size == len(whole)
    assert ObjectStoragePath(landed.path).read_bytes() == whole
