"""`make bench`: run the benchmarks, print each figure with its same-run baseline, and write
every figure to bench/results/latest.json."""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--only", choices=["billing", "catalog", "ils"],
                        help="run one part; the other figures already in --out are kept")
    parser.add_argument("--rows", type=int, default=1_000_000, help="billing rows (main run)")
    parser.add_argument("--big-rows", type=int, default=5_000_000, help="billing rows (memory)")
    parser.add_argument("--decimal-rows", type=int, default=200_000,
                        help="rows of the wide-decimal cost figure (billing)")
    parser.add_argument("--catalog-records", type=int, default=200_000)
    parser.add_argument("--catalog-rss-sizes", default="100000,1000000",
                        help="two record counts for the catalog's peak-RSS runs")
    parser.add_argument("--ils-bibs", type=int, default=1000,
                        help="bibliographic records of the ILS sync figure (5 items each)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the figures go")
    args = parser.parse_args()
    figures: dict = {"machine": f"{platform.node()} {platform.machine()} "
                                f"python {platform.python_version()}",
                     "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if args.only in (None, "billing"):
        from bench import billing_bench
        figures.update(billing_bench.run(args.rows, args.big_rows))
        print(f"billing: {figures['billing_rows_per_s']:,} rows/s in-task pipeline | baseline "
              f"{figures['billing_baseline_rows_per_s']:,} rows/s → ×{figures['billing_vs_baseline']}"
              f" | raw COPY {figures['billing_copy_rows_per_s']:,} rows/s → ×{figures['billing_vs_copy']}"
              f" | peak RSS {figures['billing_rss_mib_1m']} MiB at {args.rows:,}, "
              f"{figures['billing_rss_mib_5m']} MiB at {args.big_rows:,} → ×{figures['billing_rss_ratio_5m_1m']}",
              flush=True)
        from bench import decimal_cost
        figures.update(decimal_cost.run(args.decimal_rows))
        cost = figures["billing_decimal_cost"]
        print(f"billing decimals: decimal256 ×{cost['wide_vs_old_rows_per_s']} rows/s and "
              f"×{cost['wide_vs_old_parquet_bytes']} Parquet bytes vs decimal128(38,18); long-decimal "
              f"month {cost['decimal256_long_decimal_month']}", flush=True)
    if args.only in (None, "catalog"):
        from bench import catalog_bench
        small, large = (int(n) for n in args.catalog_rss_sizes.split(","))
        figures.update(catalog_bench.run(args.catalog_records, rss_sizes=(small, large)))
        print("catalog: " + ", ".join(f"{k}={v}" for k, v in figures.items()
                                      if k.startswith("catalog_")))
    if args.only in (None, "ils"):
        from bench import ils_bench
        figures.update(ils_bench.run(args.ils_bibs))
        print(f"ils: sync used {figures['ils_sync_share_of_limit']:.0%} of the ILS's "
              f"{figures['ils_sync_threshold_per_s']} calls/s ({figures['ils_sync_records_per_s']:,} "
              f"records/s, {figures['ils_sync_throttled_by_ils']} throttled)", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.only and args.out.exists():  # one part re-run: every other figure stays
        figures = {**json.loads(args.out.read_text()), **figures}
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"figures written to {args.out}")


if __name__ == "__main__":
    main()
