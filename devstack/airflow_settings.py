"""Apply `airflow_settings.yaml` (astro CLI format) to an Airflow without the astro CLI.

The astro keys (`conn_host`, `pool_slot`, …) are turned into the files that
`airflow connections import`, `airflow pools import` and `airflow variables import` read
(airflow3-notes §9.3). `${NAME}` placeholders are filled from the given environment.
"""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml

from devstack.state import write_private

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
CONN_FIELDS = {"conn_type": "conn_type", "conn_host": "host", "conn_login": "login",
               "conn_password": "password", "conn_schema": "schema", "conn_port": "port",
               "conn_description": "description"}


class SettingsError(ValueError):
    """airflow_settings.yaml cannot be applied; the message says what to fix."""


def expand(value, env: dict[str, str], where: str):
    """Replace every ${NAME} in strings nested in `value` with env[NAME]."""
    if isinstance(value, dict):
        return {k: expand(v, env, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v, env, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name not in env:
            raise SettingsError(f"{where} uses ${{{name}}} but {name} is not set; set it in "
                                f"the environment or replace the placeholder")
        return env[name]
    return PLACEHOLDER.sub(fill, value)


def to_import_files(settings: dict) -> tuple[dict, dict, dict]:
    """(connections, pools, variables) in the formats of the `airflow … import` commands."""
    section = settings.get("airflow") or {}
    connections = {}
    for i, conn in enumerate(section.get("connections") or []):
        conn_id = conn.get("conn_id")
        if not conn_id or not conn.get("conn_type"):
            raise SettingsError(f"connections[{i}]: expected conn_id and conn_type, got "
                                f"{sorted(conn)}")
        if conn.get("conn_uri"):
            connections[conn_id] = conn["conn_uri"]
            continue
        entry = {CONN_FIELDS[k]: v for k, v in conn.items() if k in CONN_FIELDS and v is not None}
        if conn.get("conn_extra"):
            entry["extra"] = json.dumps(conn["conn_extra"])
        connections[conn_id] = entry
    pools = {}
    for i, pool in enumerate(section.get("pools") or []):
        if not pool.get("pool_name") or not pool.get("pool_slot"):
            continue  # astro skips pools without slots, and so do we
        pools[pool["pool_name"]] = {"slots": int(pool["pool_slot"]),
                                    "description": pool.get("pool_description") or "",
                                    "include_deferred": False}
    variables = {v["variable_name"]: v["variable_value"]
                 for v in section.get("variables") or []}
    return connections, pools, variables


def apply(settings_file: Path, env: dict[str, str], workdir: Path, airflow_bin: str) -> dict:
    """Load the file into the Airflow whose environment is `env`; return counts applied."""
    settings = expand(yaml.safe_load(settings_file.read_text()) or {}, env, settings_file.name)
    connections, pools, variables = to_import_files(settings)
    workdir.mkdir(parents=True, exist_ok=True)
    jobs = [("connections", connections, ["--overwrite"]), ("pools", pools, []),
            ("variables", variables, [])]
    for kind, content, flags in jobs:
        if not content:
            continue
        path = workdir / f"import_{kind}.json"
        write_private(path, json.dumps(content))
        try:
            result = subprocess.run([airflow_bin, kind, "import", str(path), *flags], env=env,
                                    capture_output=True, text=True)
        finally:
            path.unlink()  # it holds connection passwords
        if result.returncode != 0:
            raise SettingsError(f"airflow {kind} import failed: {result.stderr.strip()[-800:]}")
    return {"connections": len(connections), "pools": len(pools), "variables": len(variables)}
