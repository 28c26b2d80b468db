"""A small client for Airflow's REST API v2, as the demo, the tests and operators use it.

Token from `POST /auth/token`, then Bearer auth; a 401 refreshes the token once.
"""
from __future__ import annotations

import time

import requests

TERMINAL_RUN_STATES = {"success", "failed"}


class AirflowApiError(RuntimeError):
    """An API call failed; the message has the method, path, status and body."""


class AirflowClient:
    def __init__(self, base_url: str, username: str, password: str, timeout: float = 30.0):
        self.base_url, self.timeout = base_url.rstrip("/"), timeout
        self._credentials = {"username": username, "password": password}
        self._session = requests.Session()
        self._token: str | None = None

    def _authenticate(self) -> None:
        response = self._session.post(f"{self.base_url}/auth/token", json=self._credentials,
                                      timeout=self.timeout)
        if response.status_code not in (200, 201):
            raise AirflowApiError(f"POST /auth/token: expected 201, got {response.status_code} "
                                  f"{response.text[:300]}; check the username and password")
        self._token = response.json()["access_token"]

    def request(self, method: str, path: str, **kwargs) -> dict:
        if self._token is None:
            self._authenticate()
        for attempt in (1, 2):
            response = self._session.request(
                method, f"{self.base_url}{path}", timeout=self.timeout,
                headers={"Authorization": f"Bearer {self._token}"}, **kwargs)
            if response.status_code == 401 and attempt == 1:
                self._authenticate()
                continue
            break
        if response.status_code >= 400:
            raise AirflowApiError(f"{method} {path}: expected 2xx, got {response.status_code} "
                                  f"{response.text[:500]}")
        return response.json() if response.content else {}

    def get(self, path: str, **params) -> dict:
        return self.request("GET", path, params=params or None)

    def wait_for_dag(self, dag_id: str, timeout: float = 180.0) -> dict:
        """Wait until the dag-processor has parsed `dag_id`; fail on its import error."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            errors = self.get("/api/v2/importErrors").get("import_errors", [])
            for error in errors:
                if dag_id in error.get("filename", "") or dag_id in error.get("stack_trace", ""):
                    raise AirflowApiError(f"DAG {dag_id} has an import error: "
                                          f"{error['stack_trace'][-800:]}")
            try:
                return self.get(f"/api/v2/dags/{dag_id}")
            except AirflowApiError:
                time.sleep(2)
        raise AirflowApiError(f"expected DAG {dag_id} to be parsed within {timeout:.0f}s, "
                              f"got nothing; check the dag-processor log")

    def unpause(self, dag_id: str) -> None:
        self.request("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict | None = None, note: str | None = None) -> str:
        body = {"logical_date": None, "conf": conf or {}}
        if note:
            body["note"] = note
        return self.request("POST", f"/api/v2/dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 600.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
            if run["state"] in TERMINAL_RUN_STATES:
                return run
            time.sleep(2)
        raise AirflowApiError(f"expected run {run_id} of {dag_id} to finish within "
                              f"{timeout:.0f}s, got state {run['state']}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        """Every task instance of the run, mapped ones included (all pages)."""
        items, offset = [], 0
        while True:
            page = self.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
                            limit=100, offset=offset)
            items += page["task_instances"]
            offset += len(page["task_instances"])
            if not page["task_instances"] or offset >= page["total_entries"]:
                return items

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value",
             map_index: int = -1):
        entry = self.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
                         f"/xcomEntries/{key}", map_index=map_index, deserialize=True)
        return entry["value"]

    def clear(self, dag_id: str, run_id: str, task_ids: list, **options) -> dict:
        body = {"dry_run": False, "dag_run_id": run_id, "task_ids": task_ids,
                "only_failed": True, "include_downstream": True, "reset_dag_runs": True,
                **options}
        return self.request("POST", f"/api/v2/dags/{dag_id}/clearTaskInstances", json=body)
