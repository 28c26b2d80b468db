"""Airflow plugin "ingestion": the operator console (issue 15).

* `fastapi_apps`: include/ingest/console/app.py under `/ingestion` — the page, JSON views,
  actions and Prometheus `/metrics`, every route behind Airflow's authentication.
* `external_views`: "Ingestion" in the UI's navigation; the page opens inside the UI
  (an iframe at `/plugin/ingestion`).

The console's code lives in include/ingest/console/ (importable and tested like the rest);
this file only registers it.
"""
from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin


def _console_app():
    from include.ingest.console.app import URL_PREFIX, app
    return {"app": app, "url_prefix": URL_PREFIX, "name": "Ingestion console"}


class IngestionConsolePlugin(AirflowPlugin):
    name = "ingestion"
    fastapi_apps = [_console_app()]
    external_views = [{"name": "Ingestion", "href": "/ingestion/", "url_route": "ingestion",
                       "destination": "nav", "nav_top_level": True}]
