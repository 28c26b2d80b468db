"""BigQuery REST access for the Cloud Billing export: settings, token, calls, row decoding.

``GcpSettings.from_connection`` reads the Airflow connection ``gcp_billing``: host = API
root (``https://bigquery.googleapis.com``; the sandbox URL locally), extras ``project``
(where query jobs run), ``table`` (``project.dataset.table``, or a table name completed
from extras ``dataset`` and ``project``), ``location``, and the token source:

* ``token_source: google`` (default): google-auth -- ``keyfile_dict`` (a service account
  key in the extra) or Application Default Credentials, refreshed when expired;
* ``token_source: static``: the connection password is sent as the bearer token (the
  sandbox accepts any; also handy with a token minted outside Airflow).

Every call goes through the error table (``resilient_request``). Rows come back as
BigQuery's ``{"f": [{"v": …}]}`` cells; ``decode`` turns them into nested Python values and
``flatten`` into text columns (records -> dotted names, repeated fields -> JSON text,
TIMESTAMP -> ISO 8601 with microseconds). FLOAT stays the exact text the API sent.
"""
from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import requests

from include.ingest.http import throttle_log
from include.ingest.http.client import resilient_request
from include.ingest.errors import PermanentError, TransientError
from include.ingest.http.redact import redact_url

SCOPES = ["https://www.googleapis.com/auth/bigquery.readonly"]
MAX_JOB_POLLS = 30


@dataclass(frozen=True)
class GcpSettings:
    api_url: str
    project: str
    table: str  # project.dataset.table
    token_source: str = "google"  # google | static
    token: str | None = field(default=None, repr=False)
    keyfile: dict | None = field(default=None, repr=False)
    location: str | None = None

    @classmethod
    def from_connection(cls, conn: Any) -> GcpSettings:
        extra = conn.extra_dejson if hasattr(conn, "extra_dejson") else json.loads(conn.extra or "{}")
        project, table = extra.get("project"), extra.get("table") or ""
        if table.count(".") == 0 and extra.get("dataset"):
            table = f"{project}.{extra['dataset']}.{table}"
        source = extra.get("token_source", "google")
        if not (project and table.count(".") == 2) or source not in ("google", "static"):
            raise PermanentError(f"connection {conn.conn_id}: expected extras project, table (project.dataset.table "
                                 f"or with dataset) and token_source google|static, got project={project!r}, "
                                 f"table={table!r}, token_source={source!r}")
        keyfile = extra.get("keyfile_dict")
        return cls((conn.host or "https://bigquery.googleapis.com").rstrip("/"), project, table, source,
                   conn.password, json.loads(keyfile) if isinstance(keyfile, str) else keyfile,
                   extra.get("location"))


class BigQueryClient:
    def __init__(self, settings: GcpSettings, *, max_attempts: int = 6, poll_s: float = 0.5) -> None:
        self.settings, self.max_attempts, self.poll_s = settings, max_attempts, poll_s
        self.session = requests.Session()
        self._credentials: Any = None
        self.calls = 0

    def _token(self) -> str:
        s = self.settings
        if s.token_source == "static":
            if not s.token:
                raise PermanentError("expected a bearer token in the connection password (token_source static), "
                                     "got none")
            return s.token
        import google.auth
        import google.auth.transport.requests
        from google.oauth2 import service_account

        if self._credentials is None:
            self._credentials = (service_account.Credentials.from_service_account_info(s.keyfile, scopes=SCOPES)
                                 if s.keyfile else google.auth.default(scopes=SCOPES)[0])
        if not self._credentials.valid:
            self._credentials.refresh(google.auth.transport.requests.Request())
        return self._credentials.token

    def call(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None
             ) -> tuple[bytes, dict]:
        """(response bytes, parsed JSON) of one REST call under the error table."""
        url = f"{self.settings.api_url}/bigquery/v2/projects/{self.settings.project}/{path}"

        def send():
            self.calls += 1
            return self.session.request(method, url, params=params, json=body, timeout=(10, 120),
                                        headers={"Authorization": f"Bearer {self._token()}"})
        return resilient_request(send, url=url, method=method, max_attempts=self.max_attempts,
                                 parse=lambda r: (r.content, json.loads(r.content)),
                                 on_decision=throttle_log.on_decision_for("gcp"))

    def origin(self, path: str = "queries") -> str:
        return redact_url(f"{self.settings.api_url}/bigquery/v2/projects/{self.settings.project}/{path}")

    def results(self, job_id: str, page_token: str | None, page_size: int | None,
                location: str | None) -> tuple[bytes, dict]:
        params = {k: v for k, v in (("pageToken", page_token), ("maxResults", page_size),
                                    ("location", location), ("timeoutMs", 10_000)) if v is not None}
        return self.call("GET", f"queries/{job_id}", params=params)

    def start_query(self, sql: str, page_size: int | None = None) -> tuple[bytes, dict]:
        """Run ``sql`` (GoogleSQL) and return its first *complete* page: jobs.query may answer
        before the job is done (jobComplete false); then getQueryResults is polled."""
        body = {"query": sql, "useLegacySql": False, "timeoutMs": 10_000}
        if page_size:
            body["maxResults"] = page_size
        if self.settings.location:
            body["location"] = self.settings.location
        raw, doc = self.call("POST", "queries", body=body)
        for poll in range(MAX_JOB_POLLS):
            if doc.get("jobComplete", True):
                if doc.get("errors"):
                    raise PermanentError(f"BigQuery job {doc['jobReference']['jobId']}: expected no errors, got "
                                         f"{doc['errors'][:3]}; check the query")
                return raw, doc
            time.sleep(self.poll_s * min(poll + 1, 4))
            ref = doc["jobReference"]
            raw, doc = self.results(ref["jobId"], None, page_size, ref.get("location"))
        raise TransientError(f"BigQuery job {doc['jobReference']['jobId']}: expected it to complete within "
                             f"{MAX_JOB_POLLS} polls, got jobComplete false; retrying the task")


def _timestamp(value: str) -> str:
    """REST TIMESTAMP (epoch seconds, often E-notation: '1.7040672E9') -> ISO 8601 UTC, exact to µs."""
    micros = int(Decimal(value) * 1_000_000)
    stamp = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=micros)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _cell(value: Any, spec: dict) -> Any:
    if spec.get("mode") == "REPEATED":
        return [_cell(item["v"], {**spec, "mode": "NULLABLE"}) for item in value or []]
    if value is None:
        return None
    if spec["type"] in ("RECORD", "STRUCT"):
        return {f["name"]: _cell(c["v"], f) for f, c in zip(spec["fields"], value["f"])}
    if spec["type"] == "TIMESTAMP":
        return _timestamp(value)
    return value


def decode(fields: list[dict], rows: list[dict]) -> list[dict]:
    """REST rows -> dicts of Python values (records nested, TIMESTAMP as ISO text)."""
    return [{f["name"]: _cell(c["v"], f) for f, c in zip(fields, row["f"])} for row in rows]


def flatten(row: dict, prefix: str = "") -> dict[str, str | None]:
    """Nested record -> ``{"service.description": "…", "credits": "[…json…]"}`` (all text)."""
    out: dict[str, str | None] = {}
    for key, value in row.items():
        name = prefix + key
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        elif isinstance(value, list):
            out[name] = json.dumps(value)
        else:
            out[name] = None if value is None else str(value)
    return out
