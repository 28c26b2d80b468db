"""The benchmark runs end to end on the real servers (tiny sizes; figures are not checked)."""
from bench.catalog_bench import run


def test_bench_reports_its_figures(postgres_admin_url, redis_url):
    figures = run(300, postgres_admin_url, redis_url, rss_sizes=(100, 300))
    assert figures["catalog_created"] == 300
    for key in ("catalog_records_per_s", "catalog_vs_pymarc", "catalog_rss_ratio_1m_100k",
                "catalog_pymarc_records_per_s", "catalog_records_per_s_2_workers"):
        assert figures[key] > 0, key
    assert figures["catalog_rss_sizes"] == [100, 300]
    assert all(key.startswith("catalog_") for key in figures)  # merged with other benches
