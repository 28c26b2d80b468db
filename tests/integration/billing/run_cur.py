"""Run the AWS CUR pipeline steps in-process, in DAG order (the DAG test runs them on
Celery; here each step is called as its task would call it)."""
from include.ingest.billing import pipeline
from include.ingest.billing.normalize.aws_cur import normalize_batch
from include.ingest.billing.sources import aws_cur

PAYER = "111122223333"


def report(sandbox, layout="cur1"):
    c = sandbox.config
    if layout == "cur1":
        return aws_cur.CurReport(c.aws_bucket, c.cur_prefix, c.cur_report, "cur1")
    return aws_cur.CurReport(c.aws_bucket, c.cur2_prefix, c.cur2_export, "cur2")


def run_slice(s3, rep, period, run_id="test-run"):
    sv, chunks, source = aws_cur.find_delivery(s3, rep, period, PAYER)
    planned = pipeline.plan(sv, chunks, source, run_id)
    results = []
    for chunk in planned["chunks"]:
        landed = aws_cur.fetch(s3, chunk, sv)
        normalized = pipeline.normalize(chunk, landed.to_json(), normalize_batch,
                                        aws_cur.read_batches)
        results.append(pipeline.persist(normalized))
    return planned, results, pipeline.publish_slice(planned)
