-- desksync schema 006: the backfill ledger. One row per (pipeline, stream, window): an
-- interrupted backfill resumes at the first window not 'done'; `--force` re-runs done ones.
CREATE TABLE IF NOT EXISTS _desksync_backfill (
    pipeline     VARCHAR NOT NULL,
    stream       VARCHAR NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    window_end   TIMESTAMPTZ NOT NULL,
    status       VARCHAR NOT NULL,        -- running | done | failed
    rows         BIGINT,                  -- rows inserted or changed by the window
    requests     BIGINT,                  -- HTTP requests it took, retries included
    attempts     INTEGER NOT NULL,        -- how many times it was started
    error        VARCHAR,                 -- why the last attempt failed, in plain words
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (pipeline, stream, window_start)
);
