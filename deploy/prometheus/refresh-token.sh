#!/bin/sh
# Keeps a fresh Airflow API token of the read-only `viewer` login in $TOKEN_FILE for
# Prometheus (tokens expire after [api_auth] jwt_expiration_time, 24 h by default).
# The password comes from the environment, never from a file in the repository.
set -eu
: "${AIRFLOW_URL:?}" "${AIRFLOW_VIEWER_PASSWORD:?}" "${TOKEN_FILE:?}"
umask 077
while true; do
  body=$(printf '{"username": "viewer", "password": "%s"}' "$AIRFLOW_VIEWER_PASSWORD")
  if token=$(curl -fsS -H 'Content-Type: application/json' -d "$body" "$AIRFLOW_URL/auth/token" \
             | sed -n 's/.*"access_token" *: *"\([^"]*\)".*/\1/p') && [ -n "$token" ]; then
    printf '%s' "$token" > "$TOKEN_FILE.tmp" && mv "$TOKEN_FILE.tmp" "$TOKEN_FILE"
    sleep 3600
  else
    echo "token refresh failed; retrying in 30 s" >&2
    sleep 30
  fi
done
