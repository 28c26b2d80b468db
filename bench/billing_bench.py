"""Billing benchmark (issue 4): the in-task pipeline (read + normalize + COPY + publish) on a
generated CUR csv.gz, next to, in the same run, (a) the seed-style baseline (pydantic per
row + executemany INSERT) and (b) raw PostgreSQL COPY of the final normalized file; and the
task's peak RSS at two sizes."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from airflow.sdk import ObjectStoragePath

from bench import billing_baseline
from bench.cur_file import distinct_lines, write_cur
from bench.servers import bench_database
from devstack.state import ROOT
from include.ingest.persist.columns import SQL_COLUMNS

WORKDIR = ROOT / ".local" / "bench"


def task_run(path: Path, rows: int, env: dict) -> dict:
    result = subprocess.run([sys.executable, "-m", "bench.billing_task", str(path), "--rows",
                             str(rows)], env=env, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"billing_task failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def raw_copy(url: str, normalized: str) -> dict:
    """COPY the normalized rows (exported to CSV first, untimed) into a table shaped and
    indexed like staging: the floor any loader of these rows pays."""
    csv_path = WORKDIR / "normalized.csv"
    with ObjectStoragePath(normalized).open("rb") as raw, csv_path.open("wb") as out:
        for batch in pq.ParquetFile(raw).iter_batches(batch_size=50_000):
            buffer = io.BytesIO()
            pacsv.write_csv(batch, buffer, pacsv.WriteOptions(include_header=False))
            out.write(buffer.getvalue())
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE bench_copy (LIKE billing.line_items INCLUDING ALL)")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor().copy(f"COPY bench_copy ({', '.join(SQL_COLUMNS)}) FROM STDIN "
                                "WITH (FORMAT csv)") as copy, csv_path.open("rb") as data:
            while block := data.read(1 << 20):
                copy.write(block)
        conn.commit()
        seconds = time.perf_counter() - started
        rows = conn.execute("SELECT count(*) FROM bench_copy").fetchone()[0]
    csv_path.unlink()
    return {"rows": rows, "seconds": seconds}


def run(rows: int = 1_000_000, big_rows: int = 5_000_000, baseline_rows: int = 50_000) -> dict:
    WORKDIR.mkdir(parents=True, exist_ok=True)
    print(f"billing: generating CUR files ({rows:,} and {big_rows:,} rows) …", flush=True)
    lines = distinct_lines()
    small = write_cur(WORKDIR / f"cur-{rows}.csv.gz", rows, lines)
    big = write_cur(WORKDIR / f"cur-{big_rows}.csv.gz", big_rows, lines)
    with bench_database() as url:
        env = {**os.environ, "INGEST_DB_URL": url, "PYTHONPATH": str(ROOT),
               "INGEST_LANDING_URL": (WORKDIR / "landing").as_uri()}
        os.environ.update({k: env[k] for k in ("INGEST_DB_URL", "INGEST_LANDING_URL")})
        print("billing: in-task pipeline …", flush=True)
        pipeline = task_run(small, rows, env)
        print("billing: raw COPY of the normalized file …", flush=True)
        copy = raw_copy(url, pipeline["normalized"])
        print(f"billing: baseline on {baseline_rows:,} rows …", flush=True)
        baseline = billing_baseline.run(small, url, baseline_rows)
        print(f"billing: pipeline at {big_rows:,} rows (memory) …", flush=True)
        big_run = task_run(big, big_rows, env)
    rate = pipeline["rows"] / pipeline["seconds"]
    baseline_rate = baseline["rows"] / baseline["seconds"]
    copy_rate = copy["rows"] / copy["seconds"]
    return {
        "billing_rows_per_s": round(rate),
        "billing_phases_s": {k: round(pipeline[k], 2) for k in ("normalize_s", "persist_s", "publish_s")},
        "billing_baseline_rows_per_s": round(baseline_rate),
        "billing_vs_baseline": round(rate / baseline_rate, 2),
        "billing_copy_rows_per_s": round(copy_rate),
        "billing_vs_copy": round(rate / copy_rate, 3),
        "billing_rows_per_s_5m": round(big_run["rows"] / big_run["seconds"]),
        "billing_rss_mib_1m": round(pipeline["max_rss_mib"], 1),
        "billing_rss_mib_5m": round(big_run["max_rss_mib"], 1),
        "billing_rss_ratio_5m_1m": round(big_run["max_rss_mib"] / pipeline["max_rss_mib"], 3),
    }
