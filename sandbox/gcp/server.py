"""BigQuery REST emulator for reading a Cloud Billing export table.

Routes (``/bigquery/v2/projects/{project}/...``), endpoint names for faults in brackets:
  POST queries                              jobs.query          [gcp.query]
  GET  queries/{jobId}                      jobs.getQueryResults [gcp.results]
  POST jobs  (configuration.query)          jobs.insert         [gcp.jobs.insert]
  GET  jobs/{jobId}                         jobs.get            [gcp.jobs.get]
  GET  datasets/{d}/tables                  tables.list         [gcp.tables]
  GET  datasets/{d}/tables/{t}              tables.get          [gcp.tables]
  GET  datasets/{d}/tables/{t}/data         tabledata.list      [gcp.tabledata]
Paging: ``maxResults`` (default 1000 here, capped), ``pageToken``, ``startIndex``; the last page
has no pageToken; totalRows is a string. ``formatOptions.useInt64Timestamp=true`` gives
TIMESTAMPs as integer micros. Queries must set ``useLegacySql: false`` (the API default is
legacy SQL). Query shapes: sandbox/gcp/sql.py.

Page faults: ``repeat-token`` answers with the request's own pageToken; ``restate`` appends a
correction batch for the month being read before the page is served (tabledata.list then
shows the new rows on later pages and a larger totalRows; query jobs keep their snapshot);
``incomplete`` makes jobs.query / getQueryResults answer jobComplete=false once.
``extra-row`` (SELECT * jobs, tabledata.list): see extra_row.py.
"""
from __future__ import annotations

import hashlib
from typing import Any

from sandbox.config import SandboxConfig
from sandbox.faults import Fault, FaultPlan
from sandbox.gcp import extra_row, sql
from sandbox.gcp.aggregate import aggregate
from sandbox.gcp.jobs import Job, JobStore, make_token, read_token
from sandbox.gcp.rows import STANDARD_SCHEMA
from sandbox.gcp.table import PROVIDER, GeneratedTable, RowFilter
from sandbox.golden import GoldenRegistry
from sandbox.httpkit import HandlerError, Request, Response, SandboxServer, admin_json, json_response, retry_after_value

P = r"/bigquery/v2/projects/(?P<project>[^/]+)"
_STATUS = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
_REASON = {400: "invalid", 404: "notFound", 429: "rateLimitExceeded", 500: "backendError", 503: "backendError"}


def google_error(status: int, message: str, reason: str | None = None, headers: dict[str, str] | None = None) -> Response:
    body = {"error": {"code": status, "message": message,
                      "errors": [{"message": message, "domain": "global", "reason": reason or _REASON.get(status, "invalid")}],
                      "status": _STATUS.get(status, "UNKNOWN")}}
    return json_response(body, status, headers)


class GcpServer(SandboxServer):
    name = "gcp"

    def __init__(self, config: SandboxConfig, faults: FaultPlan, goldens: GoldenRegistry) -> None:
        super().__init__(config.host, config.gcp_port, faults, goldens)
        self.config = config
        self.jobs = JobStore()
        self.tables: dict[tuple[str, str], Any] = {}
        if config.months:
            table = GeneratedTable(config.seed, config.gcp_billing_account, config.months, config.scale)
            self.add_table(config.gcp_dataset, config.gcp_table, table)
        self.add_route("POST", P + r"/queries", "gcp.query", self.jobs_query)
        self.add_route("GET", P + r"/queries/(?P<job>[^/]+)", "gcp.results", self.get_query_results)
        self.add_route("POST", P + r"/jobs", "gcp.jobs.insert", self.jobs_insert)
        self.add_route("GET", P + r"/jobs/(?P<job>[^/]+)", "gcp.jobs.get", self.jobs_get)
        self.add_route("GET", P + r"/datasets/(?P<dataset>[^/]+)/tables", "gcp.tables", self.tables_list)
        self.add_route("GET", P + r"/datasets/(?P<dataset>[^/]+)/tables/(?P<table>[^/]+)", "gcp.tables", self.tables_get)
        self.add_route("GET", P + r"/datasets/(?P<dataset>[^/]+)/tables/(?P<table>[^/]+)/data", "gcp.tabledata", self.tabledata_list)

    def add_table(self, dataset: str, name: str, table: Any) -> None:
        self.tables[(dataset, name)] = table
        for month, version in getattr(table, "versions", {}).items():
            self._register_golden(table, month, version)

    def _register_golden(self, table: Any, month: str, version: int) -> None:
        self.goldens.put_lazy(PROVIDER, table.account, month, version, lambda: table.golden(month, version))

    # ---- hooks -------------------------------------------------------------------------
    def fault_response(self, req: Request, fault: Fault) -> Response:
        if fault.kind == "502":
            return Response(502, b"<html><title>Error 502 (Server Error)!!1</title></html>", content_type="text/html")
        status = 429 if fault.kind.startswith("429") else int(fault.kind)
        headers = {"Retry-After": retry_after_value(fault.retry_after)} if fault.kind in ("429", "503") else {}
        return google_error(status, f"Sandbox fault {fault.kind}: please retry", headers=headers)

    def not_found(self, req: Request) -> Response:
        return google_error(404, f"Not found: URL {req.path}")

    def restate(self, body: dict[str, Any]) -> dict[str, Any]:
        month = body.get("month") or body.get("period")
        table = self.tables.get((body.get("dataset", self.config.gcp_dataset), body.get("table", self.config.gcp_table)))
        if table is None or not month:
            raise HandlerError(admin_json({"error": f"expected {{'month': 'YYYY-MM'}} for a generated table, got {body}"}, 400))
        return self._restate(table, month).to_json()

    def _restate(self, table: Any, month: str) -> Any:
        version = table.append_correction(month)
        self._register_golden(table, month, version)
        return table.golden(month, version)

    # ---- helpers -----------------------------------------------------------------------
    def _table(self, project: str | None, dataset: str, name: str) -> Any:
        table = self.tables.get((dataset, name))
        if table is None or (project is not None and project != self.config.gcp_project):
            raise HandlerError(google_error(404, f"Not found: Table {project or self.config.gcp_project}:{dataset}.{name} was not found in location US"))
        return table

    def _page_size(self, value: Any) -> int:
        size = int(value) if value not in (None, "") else self.config.gcp_page_size
        return max(0, min(size, self.config.gcp_max_page_size))

    # ---- jobs --------------------------------------------------------------------------
    def _create_job(self, project: str, statement: str, use_legacy: Any, location: str | None,
                    fault: Fault | None = None) -> Job:
        if use_legacy is not False and str(use_legacy).lower() != "false":
            raise HandlerError(google_error(400, "expected useLegacySql=false: the sandbox speaks GoogleSQL only (the API defaults to legacy SQL)", "invalidQuery"))
        try:
            parsed = sql.parse(statement)
        except sql.QueryError as exc:
            raise HandlerError(google_error(400, str(exc), "invalidQuery")) from exc
        table = self._table(parsed.table[0], parsed.table[1], parsed.table[2])
        job = Job(self.jobs.new_id(self.config.seed), project, location or "US", table, {}, statement=statement)
        if parsed.star:
            runs = table.runs(parsed.filter)
            extra = extra_row.extra_cores(table, parsed.filter, fault)
            if parsed.limit is not None:
                runs = _limit_runs(runs, parsed.limit)
                extra = extra[:max(0, parsed.limit - sum(hi - lo for lo, hi in runs))]
            job = Job(job.job_id, project, job.location, table, getattr(table, "schema", STANDARD_SCHEMA), runs=runs,
                      statement=statement, extra=extra)
        else:
            rows = aggregate(parsed, table.cores(table.runs(parsed.filter)))
            schema = {"fields": [{"name": i.name, "type": i.type, "mode": "NULLABLE"} for i in parsed.items]}
            job = Job(job.job_id, project, job.location, table, schema, rows=[[{"v": v} for v in r] for r in rows], statement=statement)
        self.jobs.put(job)
        return job

    def _results_body(self, req: Request, job: Job, kind: str, offset: int, size: int) -> dict[str, Any]:
        ref = {"projectId": job.project, "jobId": job.job_id, "location": job.location}
        fault = req.fault.kind if req.fault else None
        if fault == "incomplete":  # the job "still runs": no schema, rows or totalRows yet
            return {"kind": kind, "jobReference": ref, "jobComplete": False}
        if fault == "restate" and hasattr(job.table, "segments"):
            self._restate(job.table, _month_at(job.table, job, offset))
        int64 = req.arg("formatOptions.useInt64Timestamp") == "true"
        body: dict[str, Any] = {
            "kind": kind, "etag": _etag(job.job_id, offset), "schema": job.schema, "jobReference": ref,
            "totalRows": str(job.total_rows), "rows": job.page(offset, size, int64),
            "totalBytesProcessed": "0", "jobComplete": True, "cacheHit": False,
        }
        next_offset = offset + size
        token = req.arg("pageToken")
        if fault == "repeat-token" and token:
            body["pageToken"] = token
        elif next_offset < job.total_rows and size > 0:
            body["pageToken"] = make_token("job", job.job_id, next_offset)
        return body

    def jobs_query(self, req: Request) -> Response:
        body = _json_body(req)
        job = self._create_job(req.match["project"], body.get("query", ""), body.get("useLegacySql", True), body.get("location"),
                               req.fault)
        size = self._page_size(body.get("maxResults"))
        return json_response(self._results_body(req, job, "bigquery#queryResponse", 0, size))

    def get_query_results(self, req: Request) -> Response:
        job = self.jobs.get(req.match["job"])
        if job is None:
            return google_error(404, f"Not found: Job {req.match['project']}:US.{req.match['job']}")
        token = req.arg("pageToken")
        try:
            offset = read_token(token, "job", job.job_id) if token else int(req.arg("startIndex", "0") or 0)
        except ValueError as exc:
            return google_error(400, str(exc))
        return json_response(self._results_body(req, job, "bigquery#getQueryResultsResponse", offset, self._page_size(req.arg("maxResults"))))

    def jobs_insert(self, req: Request) -> Response:
        body = _json_body(req)
        query = body.get("configuration", {}).get("query", {})
        job = self._create_job(req.match["project"], query.get("query", ""), query.get("useLegacySql", True),
                               body.get("jobReference", {}).get("location"), req.fault)
        return json_response(_job_resource(job, body.get("configuration", {})))

    def jobs_get(self, req: Request) -> Response:
        job = self.jobs.get(req.match["job"])
        if job is None:
            return google_error(404, f"Not found: Job {req.match['project']}:US.{req.match['job']}")
        return json_response(_job_resource(job, {"query": {"query": job.statement, "useLegacySql": False}}))

    # ---- tables ------------------------------------------------------------------------
    def tables_list(self, req: Request) -> Response:
        project, dataset = req.match["project"], req.match["dataset"]
        names = sorted(n for d, n in self.tables if d == dataset and project == self.config.gcp_project)
        return json_response({"kind": "bigquery#tableList", "totalItems": len(names), "tables": [
            {"kind": "bigquery#table", "id": f"{project}:{dataset}.{n}", "type": "TABLE",
             "tableReference": {"projectId": project, "datasetId": dataset, "tableId": n},
             "timePartitioning": {"type": "DAY"}} for n in names]})

    def tables_get(self, req: Request) -> Response:
        project, dataset, name = req.match["project"], req.match["dataset"], req.match["table"]
        table = self._table(project, dataset, name)
        return json_response({"kind": "bigquery#table", "id": f"{project}:{dataset}.{name}", "type": "TABLE",
                              "tableReference": {"projectId": project, "datasetId": dataset, "tableId": name},
                              "schema": getattr(table, "schema", STANDARD_SCHEMA), "numRows": str(table.total_rows),
                              "timePartitioning": {"type": "DAY"}, "location": "US"})

    def tabledata_list(self, req: Request) -> Response:
        project, dataset, name = req.match["project"], req.match["dataset"], req.match["table"]
        table = self._table(project, dataset, name)
        ident = f"{dataset}.{name}"
        token = req.arg("pageToken")
        try:
            offset = read_token(token, "table", ident) if token else int(req.arg("startIndex", "0") or 0)
        except ValueError as exc:
            return google_error(400, str(exc))
        fault = req.fault.kind if req.fault else None
        if fault == "restate" and hasattr(table, "segments") and table.total_rows:
            month = table.segments[-1].month if offset >= table.total_rows else _segment_month(table, offset)
            self._restate(table, month)
        size = self._page_size(req.arg("maxResults"))
        extra = extra_row.extra_cores(table, RowFilter(), req.fault)
        total = table.total_rows + len(extra)
        end = min(offset + size, total)
        int64 = req.arg("formatOptions.useInt64Timestamp") == "true"
        rows = [{"f": extra_row.listed_row(table, extra, i, int64)} for i in range(offset, end)]
        rows = _select_fields(rows, req.arg("selectedFields"), getattr(table, "schema", STANDARD_SCHEMA))
        body: dict[str, Any] = {"kind": "bigquery#tableDataList", "etag": _etag(ident, offset), "totalRows": str(total), "rows": rows}
        if fault == "repeat-token" and token:
            body["pageToken"] = token
        elif end < total and size > 0:
            body["pageToken"] = make_token("table", ident, end)
        return json_response(body)


def _json_body(req: Request) -> dict[str, Any]:
    try:
        body = req.json() if req.body else {}
    except ValueError as exc:
        raise HandlerError(google_error(400, f"expected a JSON request body, got invalid JSON: {exc}", "parseError")) from exc
    if not isinstance(body, dict):
        raise HandlerError(google_error(400, f"expected a JSON object body, got {type(body).__name__}"))
    return body


def _job_resource(job: Job, configuration: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "bigquery#job", "id": f"{job.project}:{job.location}.{job.job_id}",
            "jobReference": {"projectId": job.project, "jobId": job.job_id, "location": job.location},
            "configuration": configuration, "status": {"state": "DONE"},
            "statistics": {"query": {"totalBytesProcessed": "0", "cacheHit": False}}}


def _limit_runs(runs: list[tuple[int, int]], limit: int) -> list[tuple[int, int]]:
    out, left = [], limit
    for lo, hi in runs:
        if left <= 0:
            break
        out.append((lo, min(hi, lo + left)))
        left -= out[-1][1] - lo
    return out


def _segment_month(table: Any, index: int) -> str:
    for seg in table.segments:
        if seg.start <= index < seg.start + seg.count:
            return seg.month
    return table.segments[-1].month


def _month_at(table: Any, job: Job, offset: int) -> str:
    if job.runs:
        return _segment_month(table, job.runs[0][0])
    return table.segments[0].month


def _etag(ident: str, offset: int) -> str:
    return hashlib.md5(f"{ident}:{offset}".encode()).hexdigest()[:22]


def _select_fields(rows: list[dict[str, Any]], selected: str | None, schema: dict[str, Any]) -> list[dict[str, Any]]:
    if not selected:
        return rows
    names = [f["name"] for f in schema["fields"]]
    wanted = [names.index(n.strip()) for n in selected.split(",") if n.strip() in names]
    return [{"f": [r["f"][k] for k in wanted]} for r in rows]
