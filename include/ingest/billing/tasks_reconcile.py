"""Task bodies of ``billing_reconcile``: one provider check each, then a summary that flags
every discrepancy by slice and difference (and fails the run, so it is seen) and lists every
warning -- money left in quarantine -- without failing the run."""
from __future__ import annotations

import logging
from datetime import datetime

from include.ingest.billing.runs import previous_period

log = logging.getLogger(__name__)


def recent_periods(logical_date: datetime | None, months: int) -> list[str] | None:
    """The run's month and the ``months - 1`` before it (None = every published period)."""
    if not months or logical_date is None:
        return None
    periods = [f"{logical_date:%Y-%m}"]
    while len(periods) < months:
        periods.append(previous_period(periods[-1]))
    return periods


def reconcile_provider(provider: str, params: dict, logical_date, run_id: str) -> list[dict]:
    """Check every published slice of ``provider`` (of the recent months, or the
    ``periods`` param) with the provider's probe on the connection its param names."""
    from include.ingest.billing import providers, reconcile

    billing_provider = providers.get(provider)
    probe = billing_provider.nightly_probe(params[billing_provider.conn_param])
    periods = params.get("periods") or recent_periods(logical_date, int(params.get("months") or 0))
    return [c.to_json() for c in reconcile.reconcile_published(provider, probe, periods, run_id)]


def summarize(results: dict[str, list[dict] | None]) -> dict:
    """Counts per status and the detail of every warning (quarantined money); raises
    ``PermanentError`` naming every discrepancy (slice, measure, difference) -- all are
    already stored in billing.reconciliation."""
    from include.ingest.errors import PermanentError

    checks = [c for found in results.values() if found for c in found]
    summary = {"checked": len(checks), "providers": {p: None if r is None else len(r) for p, r in results.items()},
               **{s: sum(c["status"] == s for c in checks) for s in ("ok", "open", "warning", "discrepancy")},
               "warnings": [c["detail"] for c in checks if c["status"] == "warning"]}
    for detail in summary["warnings"]:
        log.warning("%s", detail)
    bad = [c for c in checks if c["status"] == "discrepancy"]
    if bad:
        raise PermanentError("expected every checked slice (published, or newest delivery refused at publish) "
                             f"to match its provider, got {len(bad)} "
                             "discrepancies: " + "; ".join(c["detail"] for c in bad)
                             + " (see billing.reconciliation)")
    return summary
