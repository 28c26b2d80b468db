"""The provider registry: one object per provider module, each complete, each backed by the
pool and connection airflow_settings.yaml defines, and light enough for DAG parsing."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from include.ingest.billing import providers
from include.ingest.billing.providers.base import BillingProvider

ROOT = Path(__file__).resolve().parents[4]
STEPS = ("client", "plan_delivery", "chunk_steps", "probe")


def _settings() -> dict:
    return yaml.safe_load((ROOT / "airflow_settings.yaml").read_text())["airflow"]


def test_every_provider_module_is_found_by_its_name():
    assert providers.NAMES == ("aws", "azure", "gcp")
    for name in providers.NAMES:
        assert providers.get(name).name == name


@pytest.mark.parametrize("name", providers.NAMES)
def test_every_provider_implements_every_step(name):
    provider = providers.get(name)
    missing = [s for s in STEPS if getattr(type(provider), s) is getattr(BillingProvider, s)]
    assert missing == [], f"{name}: expected every provider step implemented, got {missing} missing"


@pytest.mark.parametrize("name", providers.NAMES)
def test_every_provider_has_its_pool_and_default_connection(name):
    provider, settings = providers.get(name), _settings()
    assert provider.pool in {p["pool_name"] for p in settings["pools"]}
    assert provider.default_conn in {c["conn_id"] for c in settings["connections"]}
    assert provider.conn_param.endswith("_conn_id")


def test_an_unknown_provider_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match=r"expected a billing provider of \['aws', 'azure', 'gcp'\], got 'oci'"):
        providers.get("oci")


def test_the_registry_and_every_provider_import_nothing_heavy():
    probe = ("import json, sys; before = set(sys.modules); "
             "from include.ingest.billing import providers; providers.every(); "
             "print(json.dumps(sorted(set(sys.modules) - before)))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    added = json.loads(out.stdout)
    heavy = sorted({m.split(".")[0] for m in added} & {"pyarrow", "psycopg", "redis", "boto3", "pgpq"})
    assert heavy == [], f"expected a light provider registry, got {heavy} imported"
