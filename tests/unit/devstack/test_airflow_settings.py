"""airflow_settings.yaml → the files of `airflow … import` (pure translation)."""
from pathlib import Path

import pytest
import yaml

from devstack.airflow_settings import SettingsError, expand, to_import_files
from devstack.state import ROOT


def test_placeholders_are_filled_from_the_environment():
    assert expand({"a": ["x ${HOST} y"]}, {"HOST": "h"}, "f") == {"a": ["x h y"]}


def test_missing_placeholder_names_the_variable_and_the_place():
    with pytest.raises(SettingsError, match=r"f.conn_extra uses \$\{NOPE\} but NOPE is not set"):
        expand({"conn_extra": "${NOPE}"}, {}, "f")


def test_astro_keys_become_import_entries():
    settings = {"airflow": {
        "connections": [
            {"conn_id": "c1", "conn_type": "aws", "conn_login": "id", "conn_password": "pw",
             "conn_host": None, "conn_extra": {"endpoint_url": "http://x"}},
            {"conn_id": "c2", "conn_type": "postgres", "conn_uri": "postgresql://u@h/db"}],
        "pools": [{"pool_name": "p", "pool_slot": 3, "pool_description": "d"},
                  {"pool_name": "zero", "pool_slot": 0}],
        "variables": [{"variable_name": "v", "variable_value": "1"}]}}
    connections, pools, variables = to_import_files(settings)
    assert connections == {
        "c1": {"conn_type": "aws", "login": "id", "password": "pw",
               "extra": '{"endpoint_url": "http://x"}'},
        "c2": "postgresql://u@h/db"}
    assert pools == {"p": {"slots": 3, "description": "d", "include_deferred": False}}
    assert variables == {"v": "1"}


def test_connection_without_type_is_rejected_with_what_is_expected():
    with pytest.raises(SettingsError, match="expected conn_id and conn_type"):
        to_import_files({"airflow": {"connections": [{"conn_id": "x"}]}})


def test_project_settings_file_translates_with_a_full_environment():
    settings = yaml.safe_load(Path(ROOT / "airflow_settings.yaml").read_text())
    env = {name: f"value-of-{name}" for name in
           ("SANDBOX_CLIENT_SECRET", "SANDBOX_AWS_URL", "SANDBOX_AZURE_URL", "SANDBOX_GCP_URL",
            "SANDBOX_AZURE_TLS_URL", "SANDBOX_ILS_URL", "INGEST_STACK_HOME",
            "INGEST_DB_URL", "INGEST_REDIS_URL")}
    connections, pools, _ = to_import_files(expand(settings, env, "airflow_settings.yaml"))
    assert {"aws_billing", "azure_cost", "gcp_billing", "ils_folio", "ingest_warehouse"} <= set(connections)
    assert {"provider_aws", "provider_azure", "provider_gcp", "ils_api"} <= set(pools)
    # no literal secret in the repository: passwords come only from placeholders
    for conn in settings["airflow"]["connections"]:
        if conn.get("conn_password"):
            assert conn["conn_password"].startswith("${"), conn["conn_id"]
