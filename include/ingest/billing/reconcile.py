"""Reconciliation: what a provider declares for a slice against what we hold (docs/architecture.md §4).

Two moments, one table (``billing.reconciliation``, one row per measure per check):

* **publish** (``publish_reconciled``): before a slice version is swapped in, the rows it
  would publish -- quarantined rows are *not* published, so they are not counted -- are
  compared with the totals the plan recorded from the provider (``plan["source"]["declared"]``: Azure
  aggregate query or export ``dataRowCount``, GCP COUNT / SUM(cost) / +SUM(credits)). A
  discrepancy is recorded and the publish refused (``PermanentError``): the data moved
  while we read it, or a part is short -- the next run plans a fresh version.
* **nightly** (``reconcile_published``): every published slice against what the provider
  declares *now* (each provider's ``probe``, include/ingest/billing/providers/) -- and a slice's newest
  delivery that publish refused (still loading, with a publish-time discrepancy, newer than
  the published version): its staged rows against the provider now, so a month stuck on a
  delivery that disagrees with the provider's own totals is named every night, not only in
  the failed DAG run. A discrepancy is recorded and returned; the nightly DAG fails its
  summary task naming each slice and difference.

Measures: ``rows``, ``billed_cost``, ``effective_cost`` (numbers; difference = ours -
theirs), ``version`` (a newer delivery exists) and ``invoice_final`` (AWS: rows still
without InvoiceId -> status ``open``, not a discrepancy), and ``quarantined_cost`` when a
load has quarantined rows: their rows, Σ cost and reasons on a line of their own.

Quarantined money is never reported as ``ok``: a measure whose shortfall is exactly the
quarantined rows is a ``warning`` (the valid rows still publish; nothing is held back), and
so is a quarantine line holding money. A shortfall quarantine does not explain stays a
``discrepancy``.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from decimal import Decimal

import psycopg

from include.ingest.billing.quarantine_totals import QuarantineTotals, quarantine_totals
from include.ingest.errors import PermanentError
from include.ingest.billing.store import load_tables
from include.ingest.persist.db import connect
from include.ingest.billing.store.ledger import SliceVersion

# GCP declares money in integer micros (Google's exact invoice query rounds each row), so
# our exact Decimal sums may differ by up to half a micro per row.
MICRO = Decimal("0.000001")


@dataclass(frozen=True)
class Check:
    slice: str  # provider:account:period
    measure: str
    status: str  # ok | warning | discrepancy | open
    declared_by: str
    detail: str
    declared: Decimal | None = None
    observed: Decimal | None = None

    @property
    def difference(self) -> Decimal | None:
        return None if self.declared is None or self.observed is None else self.observed - self.declared

    def to_json(self) -> dict:
        return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in
                {**asdict(self), "difference": self.difference}.items()}


def _show(value: Decimal) -> str:
    """Plain text without NUMERIC(38,18)'s trailing zeros: 8.400000000000000000 -> 8.4."""
    return format(value.normalize(), "f") if value else "0"


def compare(label: str, measure: str, declared: Decimal, observed: Decimal, declared_by: str,
            tolerance: Decimal = Decimal(0)) -> Check:
    diff = observed - declared
    ok = abs(diff) <= tolerance
    detail = (f"{label} {measure}: provider declares {_show(declared)} ({declared_by}), we have {_show(observed)}"
              + ("" if ok else f"; difference {'+' if diff > 0 else '-'}{_show(abs(diff))}"))
    return Check(label, measure, "ok" if ok else "discrepancy", declared_by, detail, declared, observed)


def declared_checks(label: str, declared: dict, observed: dict, declared_by: str, provider: str,
                    quarantined: QuarantineTotals | None = None) -> list[Check]:
    """Published (``observed``) against declared per measure; a discrepancy that the
    quarantined rows account for exactly becomes a ``warning`` naming them."""
    quarantined = quarantined or QuarantineTotals()
    held = {"rows": Decimal(quarantined.rows), "billed_cost": quarantined.billed_cost,
            "effective_cost": quarantined.effective_cost}
    rows = Decimal(observed.get("rows") or 0) + held["rows"]
    checks = []
    for measure in ("rows", "billed_cost", "effective_cost"):
        if declared.get(measure) is None or measure not in observed:
            continue
        tolerance = rows * MICRO / 2 if provider == "gcp" and measure != "rows" else Decimal(0)
        check = compare(label, measure, Decimal(str(declared[measure])), Decimal(str(observed[measure])),
                        declared_by, tolerance)
        if check.status == "discrepancy" and quarantined.rows and abs(check.difference + held[measure]) <= tolerance:
            check = Check(label, measure, "warning", declared_by,
                          f"{check.detail}, all of it in the {quarantined.rows} quarantined rows "
                          f"({_show(held[measure])})", check.declared, check.observed)
        checks.append(check)
    if quarantined.rows:
        checks.append(quarantine_check(label, quarantined))
    return checks


def quarantine_check(label: str, quarantined: QuarantineTotals) -> Check:
    """The quarantine's own line: ``warning`` when it holds money (or unreadable costs)."""
    warning = quarantined.warning
    detail = (f"{label} quarantine: {warning}" if warning else
              f"{label} quarantine: {quarantined.rows} rows, no money (BilledCost 0)")
    return Check(label, "quarantined_cost", "warning" if warning else "ok", "billing.quarantine", detail,
                 None, quarantined.billed_cost)


def observed_totals(conn: psycopg.Connection, sv: SliceVersion, published: bool) -> dict:
    """Rows and money a load publishes: its staged rows (before publish) or the slice's
    published rows. Quarantined rows are not in either (see ``quarantine_totals``)."""
    if published:
        rows, billed, effective = conn.execute(
            "SELECT count(*), coalesce(sum(billed_cost), 0), coalesce(sum(effective_cost), 0) "
            "FROM billing.line_items WHERE x_provider = %s AND x_billing_account = %s AND "
            "x_billing_period = %s", sv.slice_key).fetchone()
    else:
        seq = conn.execute("SELECT load_seq FROM billing.ledger WHERE load_id = %s",
                           (sv.load_id,)).fetchone()
        rows, billed, effective = (load_tables.count_and_totals(conn, seq[0]) if seq
                                   else (0, Decimal(0), Decimal(0)))
    conn.commit()
    return {"rows": rows, "billed_cost": billed, "effective_cost": effective}


def record(conn: psycopg.Connection, context: str, sv: SliceVersion, checks: list[Check],
           dag_run_id: str | None) -> None:
    with conn.transaction():
        for c in checks:
            conn.execute(
                "INSERT INTO billing.reconciliation (context, provider, billing_account, billing_period, version, "
                " load_id, measure, declared, observed, difference, status, declared_by, detail, dag_run_id) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (context, sv.provider, sv.billing_account, sv.billing_period, sv.version, sv.load_id, c.measure,
                 c.declared, c.observed, c.difference, c.status, c.declared_by, c.detail, dag_run_id))


def _label(sv: SliceVersion) -> str:
    return f"{sv.provider}:{sv.billing_account}:{sv.billing_period}"


def label_of(row: dict) -> str:
    """How checks name the slice of a ledger row: provider:account:period."""
    return f"{row['provider']}:{row['billing_account']}:{row['billing_period']}"


def source_of(row: dict) -> dict:
    """A ledger row's `source` (what plan recorded about the delivery), as a dict."""
    source = row.get("source") or {}
    return json.loads(source) if isinstance(source, str) else source


def check_before_publish(plan_: dict, dag_run_id: str | None = None) -> list[Check]:
    """Compare the loaded slice version with the totals the provider declared at plan time,
    as the ledger recorded them (`ledger.source`: a DLQ replay's plan has only the slice);
    record the result. Nothing to check once the version left 'loading' (already published,
    or stale), nor while a planned chunk is not loaded (publish refuses it anyway)."""
    sv = SliceVersion.from_json(plan_["slice"])
    with connect() as conn:
        row = conn.execute(
            "SELECT state, source, chunks_expected, (SELECT count(*) FROM billing.chunk_loads c "
            " WHERE c.load_id = l.load_id) FROM billing.ledger l WHERE load_id = %s",
            (sv.load_id,)).fetchone()
        conn.commit()
        if row is None or row[0] != "loading" or (row[2] is not None and row[3] != row[2]):
            return []
        source = row[1] or plan_.get("source") or {}
        if not source.get("declared"):
            return []
        observed = observed_totals(conn, sv, published=False)
        checks = declared_checks(_label(sv), source["declared"], observed, source.get("declared_by", "plan"),
                                 sv.provider, quarantine_totals(conn, sv.load_id, sv.provider))
        record(conn, "publish", sv, checks, dag_run_id)
    return checks


def publish_reconciled(plan_: dict, dag_run_id: str | None = None) -> dict:
    """Reconcile, then publish (``pipeline.publish_slice``) only when nothing disagrees."""
    from include.ingest.billing import pipeline

    checks = check_before_publish(plan_, dag_run_id)
    bad = [c for c in checks if c.status == "discrepancy"]
    if bad:
        raise PermanentError("expected the loaded slice to match what the provider declared, got: "
                             + "; ".join(c.detail for c in bad) + "; not publishing (recorded in "
                             "billing.reconciliation) -- re-run the DAG to load a fresh version")
    return {**pipeline.publish_slice(plan_), "reconciliation": [c.to_json() for c in checks]}


Probe = Callable[[dict], tuple[dict, str, list[Check]]]  # ledger row -> (declared, declared_by, extra checks)


# Published slice versions, and per slice the newest load that publish refused (a recorded
# publish-time discrepancy) when it is newer than the published version, if any.
_TO_CHECK = """
SELECT l.*, l.state = 'published' AS published FROM billing.ledger l
WHERE l.provider = %(p)s AND (%(periods)s::text[] IS NULL OR l.billing_period = ANY(%(periods)s))
  AND (l.state = 'published' OR (l.state = 'loading'
    AND EXISTS (SELECT 1 FROM billing.reconciliation r WHERE r.load_id = l.load_id
                AND r.context = 'publish' AND r.status = 'discrepancy')
    AND NOT EXISTS (SELECT 1 FROM billing.ledger n WHERE (n.provider, n.billing_account, n.billing_period)
                    = (l.provider, l.billing_account, l.billing_period) AND n.load_id <> l.load_id
                    AND n.version_at >= l.version_at AND n.state IN ('published', 'loading'))))
ORDER BY l.billing_period, l.billing_account, published DESC"""


def reconcile_published(provider: str, probe: Probe, periods: list[str] | None = None,
                        dag_run_id: str | None = None) -> list[Check]:
    """Check every published slice of ``provider`` (optionally only ``periods``), and each
    slice's newest delivery refused at publish, against what ``probe`` says the provider
    declares now; record and return every check."""
    out: list[Check] = []
    with connect() as conn:
        cur = conn.execute(_TO_CHECK, {"p": provider, "periods": periods})
        ledger = [dict(zip([c.name for c in cur.description], row)) for row in cur.fetchall()]
        conn.commit()
        for row in ledger:
            sv = SliceVersion(provider, row["billing_account"], row["billing_period"], row["version"],
                              row["version_at"])
            label = (_label(sv) if row["published"]
                     else f"{_label(sv)} (newest delivery {sv.version}, refused at publish)")
            declared, declared_by, extra = probe(row)
            observed = observed_totals(conn, sv, published=row["published"])
            quarantined = quarantine_totals(conn, sv.load_id, provider)
            conn.commit()
            checks = declared_checks(label, declared, observed, declared_by, provider, quarantined) + extra
            record(conn, "nightly", sv, checks, dag_run_id)
            out += checks
    return out


def version_check(label: str, provider_version: str | None, ours: str, declared_by: str) -> Check:
    if provider_version in (None, ours):
        return Check(label, "version", "ok", declared_by, f"{label} version: provider's current delivery is "
                                                          f"the one published ({ours})")
    return Check(label, "version", "discrepancy", declared_by,
                 f"{label} version: provider now delivers {provider_version} ({declared_by}), we published "
                 f"{ours}; the next run of the provider's DAG loads it")
