-- Provider throttling, durably (issue 15 §1): every 429 / 503 a provider answered and
-- every wait our shared rate limiter imposed, one row each, so the operator console and
-- /metrics can say "provider X throttled us N times for S seconds in the last hour"
-- across task processes and restarts. Nothing else records it: the Redis limiter log
-- expires with its window, and a retried task's ThrottledError lives only in its log.
-- Never edit this file once applied anywhere: add a new migration.
CREATE TABLE billing.throttle_events (
    id                 bigserial PRIMARY KEY,
    at                 timestamptz NOT NULL DEFAULT now(),
    provider           text NOT NULL,              -- aws | azure | gcp
    kind               text NOT NULL CHECK (kind IN ('provider', 'limiter')),
    status             integer,                    -- the HTTP status (429, 503); NULL for the limiter
    wait_s             numeric NOT NULL,           -- the wait asked for (provider) or taken (limiter)
    dag_id             text,
    task_id            text
);
CREATE INDEX throttle_events_at ON billing.throttle_events (at, provider);
