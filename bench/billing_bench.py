"""Billing benchmark (issue 4): the in-task pipeline (read + normalize + COPY + publish) on a
generated CUR csv.gz, next to, in the same run, (a) the seed-style baseline (pydantic per
row + executemany INSERT) and (b) raw PostgreSQL COPY of the final normalized file; and the
task's peak RSS at two sizes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pyarrow.parquet as pq
from airflow.sdk import ObjectStoragePath

from bench import billing_baseline
from bench.cur_file import distinct_lines, write_cur
from bench.servers import bench_database
from devstack.state import ROOT
from include.ingest import memory
from include.ingest.billing.store import load_tables
from include.ingest.billing.store.columns import SQL_COLUMNS
from include.ingest.billing.store.decimal_narrowing import narrow_batch

WORKDIR = ROOT / ".local" / "bench"


def task_run(path: Path, rows: int, env: dict) -> dict:
    result = subprocess.run([sys.executable, "-m", "bench.billing_task", str(path), "--rows",
                             str(rows)], env=env, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"billing_task failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def plain_table(conn: psycopg.Connection, name: str) -> None:
    """A plain table shaped and indexed like a published billing.line_items partition, the
    target of the baseline and of the raw COPY (`x_load_seq` defaults to 0)."""
    conn.execute(f"CREATE TABLE {name} (LIKE billing.line_items INCLUDING DEFAULTS)")
    conn.execute(f"ALTER TABLE {name} ALTER COLUMN x_load_seq SET DEFAULT 0")
    conn.execute(f"CREATE UNIQUE INDEX ON {name} (x_idempotency_key)")
    conn.execute(f"CREATE INDEX ON {name} (x_provider, x_billing_account, x_billing_period)")
    conn.execute(f"CREATE INDEX ON {name} (charge_period_start)")
    conn.commit()


def raw_copy(url: str, normalized: str) -> dict:
    """COPY the normalized rows (encoded to PostgreSQL's binary COPY format first, untimed:
    the fastest raw COPY there is) into a table indexed like a published partition: the
    floor any loader of these rows into an indexed table pays."""
    blocks = []
    with ObjectStoragePath(normalized).open("rb") as raw:
        # pgpq takes decimal128: the generated CUR's money fits decimal128(38, 18) exactly
        batches = [narrow_batch(b) for b in pq.ParquetFile(raw).iter_batches(batch_size=50_000)]
        encoder = load_tables.encoder(batches[0].schema)
        blocks.append(encoder.write_header())
        blocks += [encoder.write_batch(b) for b in batches]
        blocks.append(encoder.finish())
    with psycopg.connect(url) as conn:
        plain_table(conn, "bench_copy")
        started = time.perf_counter()
        with conn.cursor().copy(f"COPY bench_copy ({', '.join(SQL_COLUMNS)}) FROM STDIN "
                                "WITH (FORMAT binary)") as copy:
            for block in blocks:
                copy.write(block)
        conn.commit()
        seconds = time.perf_counter() - started
        rows = conn.execute("SELECT count(*) FROM bench_copy").fetchone()[0]
    return {"rows": rows, "seconds": seconds}


def run(rows: int = 1_000_000, big_rows: int = 5_000_000) -> dict:
    WORKDIR.mkdir(parents=True, exist_ok=True)
    print(f"billing: generating CUR files ({rows:,} and {big_rows:,} rows) …", flush=True)
    lines = distinct_lines()
    small = write_cur(WORKDIR / f"cur-{rows}.csv.gz", rows, lines)
    big = write_cur(WORKDIR / f"cur-{big_rows}.csv.gz", big_rows, lines)
    with bench_database() as url:
        # the task runs with the stack workers' Arrow pool (devstack/env.py, ingest/memory.py)
        env = {**os.environ, "INGEST_DB_URL": url, "PYTHONPATH": str(ROOT),
               "ARROW_DEFAULT_MEMORY_POOL": os.environ.get("ARROW_DEFAULT_MEMORY_POOL",
                                                      memory.EXPECTED),
               "INGEST_LANDING_URL": (WORKDIR / "landing").as_uri()}
        # the raw COPY reads the landing zone in this process; restored below, or the next
        # benchmark would find INGEST_DB_URL pointing at this run's stopped server
        saved = {k: os.environ.get(k) for k in ("INGEST_DB_URL", "INGEST_LANDING_URL")}
        os.environ.update({k: env[k] for k in saved})
        try:
            results = _measure(small, big, rows, big_rows, url, env)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    return _figures(*results)


def _measure(small: Path, big: Path, rows: int, big_rows: int, url: str, env: dict) -> tuple:
    """(pipeline at `rows`, raw COPY, baseline, pipeline at `big_rows`), one after another."""
    print("billing: in-task pipeline …", flush=True)
    pipeline = task_run(small, rows, env)
    print("billing: raw COPY of the normalized file …", flush=True)
    copy = raw_copy(url, pipeline["normalized"])
    print(f"billing: baseline on the same {rows:,} rows …", flush=True)
    baseline = billing_baseline.run(small, url, rows, plain_table)
    print(f"billing: pipeline at {big_rows:,} rows (memory) …", flush=True)
    big_run = task_run(big, big_rows, env)
    return pipeline, copy, baseline, big_run


def _figures(pipeline: dict, copy: dict, baseline: dict, big_run: dict) -> dict:
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
        # peak RSS reached by the end of each phase (sampled), to see which phase grows
        "billing_peak_rss_mib_by_phase": {
            label: {phase: round(r[f"rss_after_{phase}_mib"], 1) for phase in ("normalize", "persist")}
            for label, r in (("1m", pipeline), ("5m", big_run))},
    }
