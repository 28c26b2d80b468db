"""Test-wide settings: Airflow reads its config at import, so it is isolated here first."""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_AIRFLOW_HOME = ROOT / ".local" / "test-airflow-home"
_AIRFLOW_HOME.mkdir(parents=True, exist_ok=True)
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
# as the stack's workers run (devstack/env.py): read by Arrow when pyarrow first loads
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
