-- desksync warehouse schema, version 1: the shared model and the bookkeeping tables.
--
-- Applied idempotently on every start (each statement is IF NOT EXISTS; the version is
-- recorded in _desksync_schema). Every timestamp is TIMESTAMPTZ in UTC. `raw` columns hold the
-- vendor record exactly as received, as JSON text (`raw::JSON` in any DuckDB CLI; the bundled
-- build leaves the JSON extension out to save build time). `content_hash` is the SHA-256 of
-- the canonical raw record: a row is rewritten only when it changes, and NULL means "fetch
-- this record's children again on the next run".
-- The column order here is the order of the Arrow schemas in src/model.rs; a test checks both.

-- One row per conversation / ticket / chat of any vendor.
CREATE TABLE IF NOT EXISTS tickets (
    source          VARCHAR NOT NULL,   -- 'liveagent' | 'livezilla' | 'liveforce'
    account         VARCHAR NOT NULL,   -- the pipeline's account name
    ticket_id       VARCHAR NOT NULL,   -- vendor id (LiveAgent conversationid)
    code            VARCHAR,            -- human ticket code (LiveAgent "AX4-B4T-FD8")
    subject         VARCHAR,
    status          VARCHAR,            -- canonical: new, open, in_progress, answered, pending, resolved, closed, deleted, spam, chatting, calling, init
    status_raw      VARCHAR,            -- the vendor's status code as received
    channel         VARCHAR,            -- canonical: email, chat, call, web, form, facebook, twitter, forum, other
    channel_raw     VARCHAR,            -- the vendor's channel code as received
    department_id   VARCHAR,
    department_name VARCHAR,
    assignee_id     VARCHAR,            -- agent id, when the vendor reports one
    requester_name  VARCHAR,
    requester_email VARCHAR,
    language        VARCHAR,
    tags            VARCHAR[],          -- tags as the vendor sends them: ids (LiveAgent) or names (LiveZilla); view ticket_tags names them
    created_at      TIMESTAMPTZ,
    updated_at      TIMESTAMPTZ,        -- the vendor's last-change time (the incremental cursor)
    due_at          TIMESTAMPTZ,        -- SLA due time
    messages_in     INTEGER,            -- incoming message groups, as the vendor counts them
    messages_out    INTEGER,            -- outgoing message groups
    deleted_at      TIMESTAMPTZ,        -- set when reconciliation finds the ticket gone; never hard-deleted
    content_hash    VARCHAR,
    raw             VARCHAR,
    synced_at       TIMESTAMPTZ NOT NULL, -- when desksync last wrote this row
    PRIMARY KEY (source, account, ticket_id)
);

-- One row per message of a ticket.
CREATE TABLE IF NOT EXISTS messages (
    source         VARCHAR NOT NULL,
    account        VARCHAR NOT NULL,
    ticket_id      VARCHAR NOT NULL,
    message_id     VARCHAR NOT NULL,
    group_id       VARCHAR,             -- LiveAgent message group (one email, one chat session)
    author_id      VARCHAR,
    author_type    VARCHAR,             -- agent | customer | system | unknown
    type           VARCHAR,             -- canonical: message, note, system, file, call, rating, other
    type_raw       VARCHAR,             -- the vendor's message type code
    group_type_raw VARCHAR,             -- the vendor's group type code (LiveAgent rtype of the group)
    is_internal    BOOLEAN,             -- notes and internal messages the customer never saw
    created_at     TIMESTAMPTZ,
    body           VARCHAR,
    body_format    VARCHAR,             -- text | html
    content_hash   VARCHAR,
    raw            VARCHAR,
    synced_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, ticket_id, message_id)
);

CREATE TABLE IF NOT EXISTS departments (
    source        VARCHAR NOT NULL,
    account       VARCHAR NOT NULL,
    department_id VARCHAR NOT NULL,
    name          VARCHAR,
    online_status VARCHAR,              -- LiveAgent: services online, a combination of T (chat), P (phone), M (tickets)
    is_deleted    BOOLEAN,              -- the vendor's own "deleted" flag
    deleted_at    TIMESTAMPTZ,          -- set when a full refresh no longer lists the row
    content_hash  VARCHAR,
    raw           VARCHAR,
    synced_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, department_id)
);

CREATE TABLE IF NOT EXISTS tags (
    source       VARCHAR NOT NULL,
    account      VARCHAR NOT NULL,
    tag_id       VARCHAR NOT NULL,
    name         VARCHAR,
    color        VARCHAR,
    bg_color     VARCHAR,
    deleted_at   TIMESTAMPTZ,           -- set when a full refresh no longer lists the row
    content_hash VARCHAR,
    raw          VARCHAR,
    synced_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, tag_id)
);

-- Custom field values of a ticket, one row per field. LiveAgent: the opt-in stream
-- `conversation_details` (one request per changed conversation) fills it from `customfields`, and
-- stores the conversation's owner note as field `ownernote`.
CREATE TABLE IF NOT EXISTS ticket_fields (
    source       VARCHAR NOT NULL,
    account      VARCHAR NOT NULL,
    ticket_id    VARCHAR NOT NULL,
    field_code   VARCHAR NOT NULL,
    value        VARCHAR,
    content_hash VARCHAR,
    synced_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, ticket_id, field_code)
);

-- Incremental state, one row per (pipeline, stream). Written in the same transaction as the
-- rows it covers. `state` is versioned JSON ({"version":1,...}); `watermark` is its cursor in
-- readable form.
CREATE TABLE IF NOT EXISTS _desksync_state (
    pipeline   VARCHAR NOT NULL,
    stream     VARCHAR NOT NULL,
    watermark  VARCHAR,
    state      VARCHAR NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (pipeline, stream)
);

-- One row per run of a pipeline.
CREATE TABLE IF NOT EXISTS _desksync_runs (
    run_id      VARCHAR PRIMARY KEY,
    pipeline    VARCHAR NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    status      VARCHAR NOT NULL,       -- running | succeeded | partial | failed | interrupted | abandoned
    rows_written BIGINT,                -- rows inserted or changed, all streams
    requests    BIGINT,                 -- HTTP requests sent, retries included
    streams     VARCHAR,                -- JSON: per stream {status (succeeded | failed | interrupted | not_started), rows, requests, retries, quarantined, error}
    error       VARCHAR                 -- why the run (or its first failed stream) failed, in plain words
);

-- Records that could not be normalized. Never silently dropped: they land here with the reason.
CREATE TABLE IF NOT EXISTS _desksync_quarantine (
    pipeline       VARCHAR NOT NULL,
    stream         VARCHAR NOT NULL,
    run_id         VARCHAR NOT NULL,
    record_key     VARCHAR,             -- the record's id when it had one
    reason         VARCHAR NOT NULL,
    raw            VARCHAR,
    quarantined_at TIMESTAMPTZ NOT NULL
);

-- Lake partitions whose rows changed and that still have to be (re)written to the Delta lake.
-- Filled in the load transaction (008 adds `seq`, bumped by every load that touches the
-- partition again), cleared after the Delta commit that replaced the partition's files if `seq`
-- is unchanged, so a crash between the two only means the partition is rewritten by the next run.
CREATE TABLE IF NOT EXISTS _desksync_lake_dirty (
    "table"   VARCHAR NOT NULL,
    source    VARCHAR NOT NULL,
    account   VARCHAR NOT NULL,
    part      VARCHAR NOT NULL,         -- the partition below source/account ('' for none)
    PRIMARY KEY ("table", source, account, part)
);

-- Ids seen by a reconciliation listing in progress (pipeline, stream), so that marking the rows
-- that are gone does not hold every id in memory. Emptied when the reconciliation commits.
CREATE TABLE IF NOT EXISTS _desksync_seen (
    pipeline VARCHAR NOT NULL,
    stream   VARCHAR NOT NULL,
    id       VARCHAR NOT NULL
);

-- One row per (ticket, tag): tickets.tags keeps the vendor's tag ids; this resolves their names
-- (NULL when the tag is not, or no longer, in `tags`).
CREATE OR REPLACE VIEW ticket_tags AS
WITH exploded AS (SELECT source, account, ticket_id, unnest(tags) AS tag_id FROM tickets)
SELECT e.source, e.account, e.ticket_id, e.tag_id, g.name AS tag_name
FROM exploded e
LEFT JOIN tags g ON g.source = e.source AND g.account = e.account AND g.tag_id = e.tag_id;
