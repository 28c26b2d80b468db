# Image for docker-compose.yaml: the official Airflow image plus this project's locked deps.
FROM apache/airflow:3.3.2-python3.11
COPY requirements.lock /requirements.lock
RUN pip install --no-cache-dir -r /requirements.lock
