"""The console's FastAPI app, mounted by the `ingestion` plugin under `URL_PREFIX`.

Every route is behind Airflow's own authentication: the app-wide dependency
`requires_authenticated()` accepts the UI's `_token` cookie and a Bearer token alike, and
answers 401 without either. Actions additionally need edit rights on the DAG they trigger
(`requires_access_dag("PUT")`, 403 otherwise), accept JSON only (a cross-site form cannot
post JSON without a CORS preflight, which this app never grants) and are forwarded to
Airflow's REST API as the caller (console/actions.py).
"""
from __future__ import annotations

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.concurrency import run_in_threadpool

from airflow.api_fastapi.core_api.security import requires_access_dag, requires_authenticated
from include.ingest.console import actions, billing_views, catalog_views, metrics, page
from include.ingest.console.db import metadata_url, read_only, warehouse_url
from include.ingest.console.queues_view import queues_overview

URL_PREFIX = "/ingestion"
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"

app = FastAPI(title="Ingestion console", dependencies=[Depends(requires_authenticated())],
              docs_url=None, redoc_url=None, openapi_url=None)


def _warehouse(fn, *args, **kwargs):
    with read_only(warehouse_url()) as conn:
        return fn(conn, *args, **kwargs)


@app.get("/", response_class=HTMLResponse)
def console_page(request: Request, slices: int = 0, quarantine: int = 0, dlq: int = 0,
                 batches: int = 0, catalog_dlq: int = 0, limit: int = 25) -> HTMLResponse:
    """The page: every section server-rendered, each table paginated by its own offset."""
    with read_only(warehouse_url()) as conn:
        data = {"slices": billing_views.slices(conn, limit, slices),
                "quarantine": billing_views.quarantine(conn, limit, quarantine),
                "dlq": billing_views.dlq(conn, limit, dlq),
                "throttling": billing_views.throttling(conn),
                "batches": catalog_views.batches(conn, limit, batches),
                "catalog_dlq": catalog_views.dlq(conn, limit, catalog_dlq),
                "ils": catalog_views.ils_tables(conn)}
    try:
        data["queues"] = queues_overview()
    except Exception as exc:  # noqa: BLE001 - the broker down must not hide the warehouse
        data["queues_error"] = f"{type(exc).__name__}: broker or workers did not answer"
    return HTMLResponse(page.render(data, dict(request.query_params),
                                    request.scope.get("root_path", "") + "/"))


@app.get("/api/slices")
def api_slices(limit: int = 25, offset: int = 0, provider: str | None = None) -> dict:
    return _warehouse(billing_views.slices, limit, offset, provider).to_json()


@app.get("/api/quarantine")
def api_quarantine(limit: int = 25, offset: int = 0, load_id: str | None = None) -> dict:
    return _warehouse(billing_views.quarantine, limit, offset, load_id).to_json()


@app.get("/api/billing-dlq")
def api_billing_dlq(limit: int = 25, offset: int = 0, state: str | None = "open") -> dict:
    return _warehouse(billing_views.dlq, limit, offset, None if state == "all" else state).to_json()


@app.get("/api/throttling")
def api_throttling() -> list[dict]:
    return _warehouse(billing_views.throttling)


@app.get("/api/catalog-batches")
def api_catalog_batches(limit: int = 25, offset: int = 0, state: str | None = None) -> dict:
    return _warehouse(catalog_views.batches, limit, offset, state).to_json()


@app.get("/api/catalog-dlq")
def api_catalog_dlq(limit: int = 25, offset: int = 0) -> dict:
    return _warehouse(catalog_views.dlq, limit, offset).to_json()


@app.get("/api/ils")
def api_ils() -> list[dict]:
    return _warehouse(catalog_views.ils_tables)


@app.get("/api/queues")
def api_queues() -> list[dict]:
    return queues_overview()


@app.get("/metrics")
def prometheus_metrics() -> Response:
    return Response(metrics.render(), media_type=PROMETHEUS_TEXT)


def _caller_token(request: Request) -> str:
    """The token the caller authenticated with (Bearer first, as Airflow's get_user does)."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials:
        return credentials
    return request.cookies.get("_token", "")


@app.post("/actions/{dag_id}", dependencies=[Depends(requires_access_dag("PUT"))])
async def trigger_action(dag_id: str, request: Request) -> JSONResponse:
    """Trigger `dag_id` for an action; the body is JSON (see console/actions.py)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise HTTPException(415, "expected a JSON body (Content-Type: application/json)")
    body = await request.json()
    if not isinstance(body, dict):
        raise HTTPException(400, "expected a JSON object")
    try:
        conf = None
        if dag_id in actions.PROVIDER_DAGS and isinstance(body.get("dag_run_id"), str):
            conf = await run_in_threadpool(_rerun_conf, dag_id, body["dag_run_id"])
        plan = actions.plan_trigger(dag_id, body, conf)
        from airflow.configuration import conf as airflow_conf
        run = await actions.trigger(airflow_conf.get("api", "base_url"), _caller_token(request), plan)
    except actions.ActionError as exc:
        raise HTTPException(exc.status, str(exc)) from exc
    return JSONResponse(run, status_code=201)


def _rerun_conf(dag_id: str, dag_run_id: str) -> dict | None:
    with read_only(metadata_url()) as conn:
        return actions.rerun_conf(conn, dag_id, dag_run_id)
