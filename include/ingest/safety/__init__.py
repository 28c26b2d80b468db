"""Input safety: what a DAG param may name. Anyone who can trigger a DAG is untrusted.

* `paths` — a local file only inside the landing zone or a configured inbox root
  (resolved, symlinks included), and only a regular file;
* `urls` — http(s) only to allow-listed hosts, never to loopback / private / link-local
  addresses unless the configuration names the host, redirects re-checked per hop, bytes
  capped, time bounded;
* `params` — strict formats for bucket names, prefixes and connection ids.

Errors are `InputRefused` (a `ValueError`: retrying cannot fix it) and say "expected X,
got Y" and what to do. They never carry file bytes or secrets.
"""
from __future__ import annotations

import os


class InputRefused(ValueError):
    """A param names something the input policy does not allow, or an input broke a cap."""


def setting(env_name: str) -> str | None:
    """A configuration value: the environment variable `env_name`, else the Airflow
    Variable of the same name in lower case (which Airflow also reads from
    `AIRFLOW_VAR_<NAME>`). Both are set by operators, never by whoever triggers a run."""
    value = os.environ.get(env_name)
    if value is not None:
        return value
    from airflow.sdk import Variable
    return Variable.get(env_name.lower(), default=None)


def setting_list(env_name: str) -> list[str]:
    """A comma-separated setting as a list of non-empty, stripped entries."""
    return [item.strip() for item in (setting(env_name) or "").split(",") if item.strip()]
