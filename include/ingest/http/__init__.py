"""Resilient HTTP: one error table (errors.py), Retry-After parsing, backoff with full
jitter, the Airflow RetryPolicy for long waits, and a small retry loop (client.py)."""
