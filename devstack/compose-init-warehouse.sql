-- docker-compose: the warehouse database beside Airflow's metadata database
-- (the local stack creates both in devstack/servers.py LocalPostgres.ensure_databases).
CREATE DATABASE warehouse;
