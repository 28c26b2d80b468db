"""Local stack for development, the demo and the end-to-end tests.

`python -m devstack up|down|status|env|demo` starts PostgreSQL and Redis from
project-local data dirs on free ports (or uses the servers named by environment URLs),
migrates Airflow's metadata DB, applies `airflow_settings.yaml`, and runs the Airflow
processes plus Celery workers for every queue under honcho (see `Procfile`).
"""
