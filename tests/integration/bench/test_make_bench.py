"""`python -m bench` end to end at tiny sizes, both benchmarks in one process as `make bench`
runs them (figures are not judged here; that they exist and are positive is)."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
KEYS = ("billing_rows_per_s", "billing_vs_baseline", "billing_vs_copy", "billing_rss_ratio_5m_1m",
        "catalog_records_per_s", "catalog_vs_pymarc", "catalog_rss_ratio_1m_100k")


def test_make_bench_runs_both_benchmarks_and_writes_every_figure(postgres_admin_url, redis_url,
                                                                  tmp_path):
    out = tmp_path / "latest.json"
    env = {**os.environ, "INGEST_DB_URL": postgres_admin_url, "INGEST_REDIS_URL": redis_url}
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--rows", "3000", "--big-rows", "6000",
         "--catalog-records", "300", "--catalog-rss-sizes", "100,300", "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(out.read_text())
    for key in KEYS:
        assert figures[key] > 0, key
    assert "billing:" in result.stdout and "catalog:" in result.stdout
