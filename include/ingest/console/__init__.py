"""The operator console (issue 15): what the data's state is, not only the task boxes.

Read-only SQL over the warehouse's tables (`billing.*`, `catalog.*`, `ils.*` when it exists)
and Airflow's metadata, rendered by the `ingestion` plugin (plugins/ingestion_console.py)
as pages, JSON and Prometheus metrics. It never imports the pipelines' persistence
modules: the tables are the contract.
"""
