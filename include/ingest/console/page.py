"""The console page, rendered on the server: plain HTML tables (every value escaped),
pagination links per table, and a little JavaScript for the action buttons (JSON POSTs
to `actions/<dag_id>`, a confirmation dialog before anything destructive)."""
from __future__ import annotations

from decimal import Decimal
from html import escape
from urllib.parse import urlencode

from include.ingest.console.db import Page
from include.ingest.console.page_parts import SCRIPT, STYLE


def money(value) -> str:
    """Exact decimal text, without trailing zeros or an exponent ('' for NULL)."""
    if value is None:
        return ""
    text = format(Decimal(value).normalize(), "f")
    return "0" if text in ("-0", "0") else text


def cell(value) -> str:
    if isinstance(value, Decimal):
        return escape(money(value))
    return "" if value is None else escape(str(value))


def _table(columns: list[tuple[str, str]], rows: list[dict], extra=None, row_attrs=None) -> str:
    head = "".join(f"<th>{escape(title)}</th>" for _, title in columns)
    body = []
    for row in rows:
        attrs = row_attrs(row) if row_attrs else ""
        cells = "".join(f'<td class="{key}">{cell(row.get(key))}</td>' for key, _ in columns)
        body.append(f"<tr{attrs}>{cells}{extra(row) if extra else ''}</tr>")
    extra_head = "<th></th>" if extra else ""
    return (f"<table><thead><tr>{head}{extra_head}</tr></thead>"
            f"<tbody>{''.join(body) or '<tr><td>none</td></tr>'}</tbody></table>")


def _pager(name: str, page: Page, query: dict) -> str:
    if page.total <= page.limit:
        return f'<p class="pager">{page.total} in all</p>'
    links = []
    for label, offset in (("« previous", page.offset - page.limit), ("next »", page.offset + page.limit)):
        if 0 <= offset < page.total:
            links.append(f'<a href="?{escape(urlencode({**query, name: offset}))}">{label}</a>')
    last = min(page.offset + page.limit, page.total)
    return f'<p class="pager">{page.offset + 1}–{last} of {page.total} {" ".join(links)}</p>'


def _button(label: str, dag_id: str, body: dict, question: str = "") -> str:
    import json
    return (f'<button class="action" data-dag="{escape(dag_id)}" '
            f'data-body="{escape(json.dumps(body))}" data-confirm="{escape(question)}">'
            f'{escape(label)}</button>')


def _slices(page: Page, query: dict) -> str:
    out = []
    for s in page.rows:
        key = f"{s['provider']}|{s['billing_account']}|{s['billing_period']}"
        status = s["reconciliation"] or "not checked"
        warning = (f'<p class="warn">⚠ {cell(s["warning"])} (Σ quarantined BilledCost '
                   f'{money(s["quarantined_billed_cost"])})</p>') if s.get("warning") else ""
        diffs = "".join(f"<li>{cell(d['measure'])}: {cell(d['status'])} — declared "
                        f"{cell(d['declared'])}, observed {cell(d['observed'])}, difference "
                        f"{cell(d['difference'])} ({cell(d['detail'])})</li>" for d in s["differences"])
        versions = _table(
            [("version", "version"), ("state", "state"), ("rows_in", "rows in"),
             ("rows_published", "rows"), ("rows_quarantined", "quarantined"),
             ("billed_cost", "Σ BilledCost"), ("published_at", "published"), ("dag_run_id", "run")],
            s["versions"], extra=lambda v: "<td>" + (_button(
                "Re-run slice", _dag_of(v["provider"]), {"dag_run_id": v["dag_run_id"]})
                if v.get("dag_run_id") else "") + "</td>")
        out.append(
            f'<div class="slice" data-slice="{escape(key)}"><h3>{cell(s["provider"])} · '
            f'{cell(s["billing_account"])} · {cell(s["billing_period"])}</h3>'
            f'<p>published version <b class="published-version">{cell(s["published_version"]) or "none"}'
            f'</b>: <b class="rows-published">{cell(s["rows_published"])}</b> rows, '
            f'<b class="rows-quarantined">{cell(s["rows_quarantined"])}</b> quarantined, '
            f'Σ BilledCost <b class="billed-cost">{money(s["billed_cost"])}</b>; reconciliation '
            f'<span class="recon recon-{escape(status.replace(" ", "-"))}">{escape(status)}</span></p>'
            f'{warning}{f"<ul class=diffs>{diffs}</ul>" if diffs else ""}{versions}</div>')
    return "".join(out) + _pager("slices", page, query)


def _dag_of(provider: str) -> str:
    return {"aws": "billing_aws_cur", "azure": "billing_azure_cost", "gcp": "billing_gcp_export"}.get(
        provider, "")


def render(data: dict, query: dict, base: str = "") -> str:
    """The whole page from the sections' data (see console/app.py `console_page`)."""
    dlq, batches = data["dlq"], data["batches"]
    sections = [
        ("slices", "Billing slices", _slices(data["slices"], query)),
        ("dlq", "Billing DLQ (open)", _table(
            [("id", "id"), ("provider", "provider"), ("billing_account", "account"),
             ("billing_period", "period"), ("chunk_key", "chunk"), ("attempts", "attempts"),
             ("error", "error"), ("first_failed_at", "first failed"), ("state", "state")],
            dlq.rows, extra=lambda e: "<td>" + _button(
                "Replay", "billing_dlq_replay", {"entry_ids": [e["id"]]},
                f"Replay DLQ entry {e['id']} ({e['chunk_key']})?") + "</td>",
            row_attrs=lambda e: f' data-dlq-id="{e["id"]}"') + (_button(
                "Replay all shown", "billing_dlq_replay", {"entry_ids": [e["id"] for e in dlq.rows]},
                f"Replay {len(dlq.rows)} DLQ entries?") if dlq.rows else "") + _pager("dlq", dlq, query)),
        ("quarantine", "Quarantine samples", _table(
            [("provider", "provider"), ("billing_period", "period"), ("version", "version"),
             ("source_file", "file"), ("source_line", "line"), ("reason", "reason"), ("raw", "raw row")],
            data["quarantine"].rows) + _pager("quarantine", data["quarantine"], query)),
        ("throttling", "Provider throttling (last hour)", _table(
            [("provider", "provider"), ("throttled_responses", "429/503 answers"),
             ("provider_wait_s", "wait asked (s)"), ("limiter_waits", "limiter waits"),
             ("limiter_wait_s", "limiter wait (s)"), ("last_event", "last event")], data["throttling"])),
        ("queues", "Queues", data.get("queues_error") and f'<p class="warn">{escape(data["queues_error"])}</p>'
         or _table([("queue", "queue"), ("depth", "depth"), ("workers_text", "workers (active tasks)")],
                   [{**q, "workers_text": ", ".join(f"{w['worker']} ({w['active']})" for w in q["workers"])
                     or "NO WORKER"} for q in data.get("queues", [])])),
        ("batches", "Catalog batches", _table(
            [("batch_id", "batch"), ("source", "source"), ("state", "state"), ("records_in", "in"),
             ("created", "created"), ("updated", "updated"), ("unchanged", "unchanged"),
             ("errors", "errors"), ("rollback_conflicts", "rollback conflicts"), ("last_error", "last error")],
            batches.rows, extra=lambda b: "<td>" + (_button(
                "Roll back", "catalog_rollback", {"batch_id": b["batch_id"]},
                f"Roll back catalog batch {b['batch_id']}? Every record it changed returns to its "
                f"previous version.") if b["state"] in ("committed", "synced") else "") + "</td>")
         + _pager("batches", batches, query)),
        ("catalog_dlq", "Catalog DLQ", _table(
            [("batch_id", "batch"), ("source", "source"), ("source_ordinal", "record #"),
             ("byte_offset", "byte offset"), ("format", "format"), ("reason", "reason"),
             ("raw_bytes", "bytes")], data["catalog_dlq"].rows)
         + _pager("catalog_dlq", data["catalog_dlq"], query)),
    ]
    if data.get("ils"):
        sections.append(("ils", "ILS", _table([("table", "table"), ("rows", "rows")], data["ils"])))
    nav = " · ".join(f'<a href="#{key}">{escape(title)}</a>' for key, title, _ in sections)
    body = "".join(f'<section id="{key}"><h2>{escape(title)}</h2>{html}</section>'
                   for key, title, html in sections)
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>Ingestion</title>'
            f'<style>{STYLE}</style></head><body data-base="{escape(base)}"><h1>Ingestion</h1>'
            f'<nav>{nav} · <a href="{escape(base)}metrics">metrics</a></nav>'
            f'<div id="result" role="status"></div>{body}<script>{SCRIPT}</script></body></html>')
