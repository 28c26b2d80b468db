"""Catalog ingest throughput next to pymarc's raw parse rate, and memory at two sizes.

`run(records)` generates a UTF-8 MARC21 file of `records` synthetic bibliographic records
(≈470 bytes each: 001/003/005/008, a valid ISBN, an OCLC number, author, title with
diacritics, imprint, extent, two subjects) — streamed to disk, never held in memory — then
in the same run measures:

* `catalog_pymarc_records_per_s`: `pymarc.MARCReader` iterating the file (its own raw parse;
  the mean of a run before and one after the pipeline);
* `catalog_records_per_s`: the whole pipeline in one process — plan by byte offsets,
  then per batch of 1000: parse, keys, Bloom check, match, persist (COPY) and the result
  log in one transaction — against a scratch database created on the given PostgreSQL
  server (dropped afterwards) and a Bloom filter of its own in the given Redis;
* `catalog_vs_pymarc`: the ratio of the two, one process each (target ≥ 0.7);
* `catalog_records_per_s_2_workers`: the same load, emptied catalog, with two worker
  processes sharing the batches as two mapped task instances do;
* `catalog_rss_ratio_1m_100k`: peak RSS of a subprocess running the same pipeline on
  `rss_sizes[1]` records divided by its peak on `rss_sizes[0]` (flat memory → ≈ 1.0);
  the sizes default to 100k and 1M, as the key says, and are reported with the figures.

Servers: the URLs passed in, else `INGEST_DB_URL` / `INGEST_REDIS_URL`, else local servers
started by bench/servers.py.
CLI: `python -m bench.catalog_bench --records 20000 [--rss-sizes 10000,100000]`.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

from bench.peak_rss import PeakRss

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SURNAMES = ("Müller", "Gébler", "Øster", "Núñez", "Smith", "Łukasiewicz", "Dvořák", "Brontë")
SUBJECTS = ("Library science", "Cataloging", "Bibliographic data", "Metadata", "Archives")


def _isbn13(n: int) -> str:
    body = f"978{n % 10**9:09d}"
    check = (10 - sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body)) % 10) % 10
    return f"{body}{check}"


def synthetic_record(n: int) -> dict:
    """One realistic MARC-in-JSON bibliographic record, deterministic in `n`."""
    name = SURNAMES[n % len(SURNAMES)]

    def df(tag, ind, *subs):
        return {tag: {"ind1": ind[0], "ind2": ind[1], "subfields": [{c: v} for c, v in subs]}}
    return {"leader": "00000cam a2200000 i 4500", "fields": [
        {"001": f"bench{n:09d}"}, {"003": "BENCH"}, {"005": "20240101120000.0"},
        {"008": "240101s2024    gw a     b    001 0 ger d"},
        df("020", "  ", ("a", f"{_isbn13(n)} (pbk.)")),
        df("035", "  ", ("a", f"(OCoLC)ocm{n + 1:08d}")),
        df("100", "1 ", ("a", f"{name}, Anna,"), ("d", "1950-")),
        df("245", "10", ("a", f"Über Kataloge und Daten, Band {n} :"),
           ("b", "eine Einführung /"), ("c", f"Anna {name}.")),
        df("264", " 1", ("a", "Berlin :"), ("b", "Verlag für Bibliotheken,"), ("c", "2024.")),
        df("300", "  ", ("a", "xii, 345 Seiten ;"), ("c", "24 cm")),
        df("650", " 0", ("a", SUBJECTS[n % 5]), ("x", "Data processing.")),
        df("650", " 0", ("a", SUBJECTS[(n + 2) % 5]), ("x", "Automation.")),
    ]}


def generate_file(path: Path, records: int) -> int:
    """Write `records` ISO 2709 records one at a time; return the file size."""
    from include.ingest.catalog.iso2709 import to_iso2709
    with path.open("wb", buffering=1 << 20) as out:
        for n in range(records):
            out.write(to_iso2709(synthetic_record(n)))
    return path.stat().st_size


def pymarc_rate(path: Path) -> float:
    import pymarc
    started, count = time.perf_counter(), 0
    with warnings.catch_warnings(), path.open("rb") as stream:
        warnings.simplefilter("ignore")
        for record in pymarc.MARCReader(stream):
            count += record is not None
    return count / (time.perf_counter() - started)


_worker: dict = {}


def _worker_init(db_url: str, redis_url: str, bloom_name: str) -> None:
    import psycopg
    import redis

    from include.ingest.catalog.bloom import BloomFilter
    _worker["conn"] = psycopg.connect(db_url)
    _worker["bloom"] = BloomFilter(redis.Redis.from_url(redis_url), name=bloom_name)


def _worker_batch(descriptor: dict) -> int:
    from include.ingest.catalog.pipeline import ingest_batch
    return ingest_batch(_worker["conn"], descriptor, _worker["bloom"])["created"]


def run_pipeline(path: Path, db_url: str, redis_url: str, workers: int = 1) -> dict:
    """Plan + every batch, as catalog_ingest does; `workers` processes share the batches
    like the mapped task instances on the marc21.parse queue. Counts and seconds."""
    import multiprocessing

    import psycopg
    import redis

    from include.ingest.catalog import batches
    from include.ingest.catalog.bloom import BloomFilter
    from include.ingest.catalog.plan import plan_batches

    name = f"bench:{uuid.uuid4().hex}"
    bloom = BloomFilter(redis.Redis.from_url(redis_url), name=name)
    started = time.perf_counter()
    try:
        with psycopg.connect(db_url) as conn:
            batches.ensure_bloom_ready(conn, bloom)
            run_id = f"bench-{uuid.uuid4().hex[:8]}"
            descriptors = plan_batches(str(path), run_id, "marc21", 1000, "replace")
            batches.register(conn, descriptors)
        with multiprocessing.get_context("fork").Pool(
                workers, _worker_init, (db_url, redis_url, name)) as pool:
            created = sum(pool.imap_unordered(_worker_batch, descriptors))
        return {"created": created, "seconds": time.perf_counter() - started}
    finally:
        bloom.drop()


class ScratchDatabase:
    """A migrated database of its own on the server of `url`, dropped on exit."""

    def __init__(self, url: str):
        self.admin_url, self.name = url, f"catalog_bench_{uuid.uuid4().hex[:8]}"
        self.url = url.rsplit("/", 1)[0] + "/" + self.name

    def __enter__(self) -> str:
        import psycopg

        from include.ingest.persist.migrate import migrate
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        migrate(self.url)
        return self.url

    def __exit__(self, *exc) -> None:
        import psycopg
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def _empty_catalog(db_url: str) -> None:
    import psycopg
    with psycopg.connect(db_url) as conn:
        conn.execute("TRUNCATE catalog.records, catalog.record_versions, catalog.record_keys, "
                     "catalog.record_results, catalog.dlq, catalog.batches")


def child_peak_rss(path: Path, db_url: str, redis_url: str) -> dict:
    """Peak RSS (MiB) of a fresh process running the pipeline over `path`."""
    _empty_catalog(db_url)
    out = subprocess.run([sys.executable, "-m", "bench.catalog_bench", "--child", str(path),
                          "--db-url", db_url, "--redis-url", redis_url],
                         cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(records: int, db_url: str | None = None, redis_url: str | None = None,
        rss_sizes: tuple[int, int] = (100_000, 1_000_000)) -> dict:
    """The figures (see the module doc). Servers: the URLs given (a scratch database is
    created on `db_url`'s server), else bench/servers.py's (INGEST_DB_URL / INGEST_REDIS_URL
    or local servers in .local/bench-servers)."""
    from bench.servers import bench_database, bench_redis
    with contextlib.ExitStack() as stack:
        scratch = stack.enter_context(ScratchDatabase(db_url) if db_url else bench_database())
        redis_url = redis_url or stack.enter_context(bench_redis())
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="catalog-bench-"))
        path = Path(tmp) / "bench.mrc"
        size = generate_file(path, records)
        # pymarc before and after: the machine's speed drifts, the ratio should not
        pymarc_before = pymarc_rate(path)
        result = run_pipeline(path, scratch, redis_url)
        pymarc_rps = (pymarc_before + pymarc_rate(path)) / 2
        catalog_rps = result["created"] / result["seconds"]
        _empty_catalog(scratch)
        parallel = run_pipeline(path, scratch, redis_url, workers=2)
        parallel_rps = parallel["created"] / parallel["seconds"]
        path.unlink()
        peaks = []
        for n in rss_sizes:
            rss_path = Path(tmp) / f"rss-{n}.mrc"
            generate_file(rss_path, n)
            peaks.append(child_peak_rss(rss_path, scratch, redis_url))
            rss_path.unlink()
    # every key starts with catalog_: `make bench` merges all benchmarks' figures
    return {
        "catalog_records": records, "catalog_bytes_per_record": round(size / records, 1),
        "catalog_pymarc_records_per_s": round(pymarc_rps, 1),
        "catalog_records_per_s": round(catalog_rps, 1),
        "catalog_vs_pymarc": round(catalog_rps / pymarc_rps, 3),
        "catalog_created": result["created"],
        "catalog_records_per_s_2_workers": round(parallel_rps, 1),
        "catalog_2_workers_vs_pymarc": round(parallel_rps / pymarc_rps, 3),
        "catalog_rss_sizes": list(rss_sizes),
        "catalog_rss_peak_mib": [p["peak_rss_mib"] for p in peaks],
        "catalog_rss_records_per_s": [round(p["records_per_s"], 1) for p in peaks],
        "catalog_rss_ratio_1m_100k": round(peaks[1]["peak_rss_mib"] / peaks[0]["peak_rss_mib"], 3),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--rss-sizes", default="100000,1000000",
                        help="two record counts for the peak-RSS subprocesses")
    parser.add_argument("--db-url")
    parser.add_argument("--redis-url")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # the RSS subprocess: one file
    args = parser.parse_args(argv)
    if args.child:
        rss = PeakRss()  # sampled: ru_maxrss would carry the bench parent's high-water mark
        result = run_pipeline(Path(args.child), args.db_url, args.redis_url)
        print(json.dumps({"peak_rss_mib": round(rss.read(), 1),
                          "records_per_s": result["created"] / result["seconds"]}))
        return
    small, large = (int(x) for x in args.rss_sizes.split(","))
    print(json.dumps(run(args.records, args.db_url, args.redis_url, (small, large)), indent=2))


if __name__ == "__main__":
    main()
