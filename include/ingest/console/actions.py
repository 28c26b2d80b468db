"""Operator actions: each is a trigger of an existing DAG with its params, sent to
Airflow's own REST API with the caller's own token — so Airflow checks the caller's
rights again, records the run as triggered by them and writes its audit log; the
console keeps no action log of its own.

| action | DAG | params | destructive (needs `confirm`) |
|---|---|---|---|
| replay DLQ entries | billing_dlq_replay | entry_ids | yes |
| roll back a catalog batch | catalog_rollback | batch_id | yes |
| re-run a slice | the provider DAG of the run that loaded it | that run's conf | no |
"""
from __future__ import annotations

from dataclasses import dataclass

import httpx

REPLAY_DAG, ROLLBACK_DAG = "billing_dlq_replay", "catalog_rollback"
PROVIDER_DAGS = ("billing_aws_cur", "billing_azure_cost", "billing_gcp_export")
ACTION_DAGS = (REPLAY_DAG, ROLLBACK_DAG, *PROVIDER_DAGS)
TIMEOUT_S = 30.0


class ActionError(ValueError):
    """The request cannot become a DAG run; `status` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Trigger:
    dag_id: str
    conf: dict
    note: str
    destructive: bool


def plan_trigger(dag_id: str, body: dict, rerun_conf: dict | None = None) -> Trigger:
    """What to trigger for an action request `body` on `dag_id`; raises ActionError when
    the body is not what that action takes, or a destructive one lacks `confirm: true`."""
    if dag_id == REPLAY_DAG:
        ids = body.get("entry_ids")
        if not isinstance(ids, list) or not ids or not all(
                isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise ActionError(f"expected entry_ids: a non-empty list of DLQ ids, got {ids!r}")
        plan = Trigger(dag_id, {"entry_ids": ids, "dag_id": None},
                       f"ingestion console: replay DLQ entries {ids}", True)
    elif dag_id == ROLLBACK_DAG:
        batch = body.get("batch_id")
        if not isinstance(batch, str) or not batch.strip() or len(batch) > 200:
            raise ActionError(f"expected batch_id: a catalog batch id, got {batch!r}")
        plan = Trigger(dag_id, {"batch_id": batch.strip()},
                       f"ingestion console: roll back batch {batch.strip()}", True)
    elif dag_id in PROVIDER_DAGS:
        if rerun_conf is None:
            raise ActionError(f"expected dag_run_id: a run of {dag_id} that loaded the slice, "
                              f"got {body.get('dag_run_id')!r}", 404)
        plan = Trigger(dag_id, rerun_conf,
                       f"ingestion console: re-run of {body.get('dag_run_id')}", False)
    else:
        raise ActionError(f"expected one of {', '.join(ACTION_DAGS)}, got {dag_id!r}", 404)
    if plan.destructive and body.get("confirm") is not True:
        raise ActionError(f"{dag_id} changes data: expected confirm: true in the request", 409)
    return plan


def rerun_conf(metadata_conn, dag_id: str, dag_run_id: str) -> dict | None:
    """The conf a slice's loading run was triggered with (its params: connection, bucket,
    account, period …), to trigger the same slice again; None when there is no such run."""
    row = metadata_conn.execute("SELECT conf FROM dag_run WHERE dag_id = %s AND run_id = %s",
                                (dag_id, dag_run_id)).fetchone()
    if row is None:
        return None
    conf = row["conf"]
    if isinstance(conf, (bytes, bytearray)):  # older metadata schemas pickled it
        return None
    return dict(conf or {})


async def trigger(api_base: str, token: str, plan: Trigger) -> dict:
    """POST the run to Airflow's REST API as the caller; returns {dag_id, dag_run_id, state}.
    Airflow's answer (403 included) is passed on as an ActionError with its status."""
    async with httpx.AsyncClient(base_url=api_base, timeout=TIMEOUT_S) as client:
        response = await client.post(
            f"/api/v2/dags/{plan.dag_id}/dagRuns", headers={"Authorization": f"Bearer {token}"},
            json={"logical_date": None, "conf": plan.conf, "note": plan.note})
    if response.status_code >= 400:
        detail = response.json().get("detail") if response.content else None
        raise ActionError(f"Airflow refused the trigger of {plan.dag_id}: "
                          f"{response.status_code} {detail!s:.300}", response.status_code)
    run = response.json()
    return {"dag_id": plan.dag_id, "dag_run_id": run["dag_run_id"], "state": run.get("state"),
            "conf": plan.conf}
