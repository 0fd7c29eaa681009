-- desksync schema 004: what Liveforce (a Perfex-based CRM) adds to the shared model. Declared in
-- src/tables.rs. `calls` is shared: LiveAgent call conversations land there too.

-- The vendor's priority: low, medium, high (Perfex 1, 2, 3), or a custom priority's id.
ALTER TABLE tickets ADD COLUMN IF NOT EXISTS priority VARCHAR;
-- Set when the ticket was merged into another one: that ticket's id. The merged ticket keeps its
-- row, and its messages are not read (they belong to the surviving ticket).
ALTER TABLE tickets ADD COLUMN IF NOT EXISTS merged_into VARCHAR;

-- Liveforce ticket statuses; canonical is desksync's status for tickets in that status.
CREATE TABLE IF NOT EXISTS ticket_statuses (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    status_id                    VARCHAR NOT NULL,
    name                         VARCHAR,
    canonical                    VARCHAR,
    is_default                   BOOLEAN,
    color                        VARCHAR,
    sort_order                   BIGINT,
    deleted_at                   TIMESTAMPTZ,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, status_id)
);

-- Phone calls of every vendor: Liveforce call logs (direction, duration) and LiveAgent call conversations (call_id = ticket_id).
CREATE TABLE IF NOT EXISTS calls (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    call_id                      VARCHAR NOT NULL,
    direction                    VARCHAR,
    agent_id                     VARCHAR,
    customer_id                  VARCHAR,
    customer_phone               VARCHAR,
    started_at                   TIMESTAMPTZ,
    duration_seconds             BIGINT,
    status                       VARCHAR,
    ticket_id                    VARCHAR,
    deleted_at                   TIMESTAMPTZ,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, call_id)
);

-- Liveforce leads, listed whole every run, written when changed.
CREATE TABLE IF NOT EXISTS leads (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    lead_id                      VARCHAR NOT NULL,
    name                         VARCHAR,
    title                        VARCHAR,
    company                      VARCHAR,
    email                        VARCHAR,
    phone                        VARCHAR,
    status_id                    VARCHAR,
    status_name                  VARCHAR,
    source_id                    VARCHAR,
    assigned_to                  VARCHAR,
    lead_value                   DOUBLE,
    country                      VARCHAR,
    created_at                   TIMESTAMPTZ,
    last_contact_at              TIMESTAMPTZ,
    deleted_at                   TIMESTAMPTZ,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, lead_id)
);

-- Notes on Liveforce leads, replaced with every read of a changed lead.
CREATE TABLE IF NOT EXISTS lead_notes (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    lead_id                      VARCHAR NOT NULL,
    note_id                      VARCHAR NOT NULL,
    staff_id                     VARCHAR,
    description                  VARCHAR,
    created_at                   TIMESTAMPTZ,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, lead_id, note_id)
);

-- Liveforce lead counts per status, one capture per run.
CREATE TABLE IF NOT EXISTS leads_status_snapshots (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    captured_at                  TIMESTAMPTZ NOT NULL,
    status_id                    VARCHAR NOT NULL,
    status_name                  VARCHAR,
    leads                        BIGINT,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, captured_at, status_id)
);

-- Liveforce leads summary figures (metric, value), one capture per run.
CREATE TABLE IF NOT EXISTS leads_summary_snapshots (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    captured_at                  TIMESTAMPTZ NOT NULL,
    metric                       VARCHAR NOT NULL,
    value                        DOUBLE,
    value_text                   VARCHAR,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, captured_at, metric)
);

-- Liveforce deals.
CREATE TABLE IF NOT EXISTS deals (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    deal_id                      VARCHAR NOT NULL,
    name                         VARCHAR,
    deal_value                   DOUBLE,
    stage_id                     VARCHAR,
    source_id                    VARCHAR,
    status                       VARCHAR,
    assigned_to                  VARCHAR,
    lead_id                      VARCHAR,
    created_at                   TIMESTAMPTZ,
    expected_close_at            TIMESTAMPTZ,
    deleted_at                   TIMESTAMPTZ,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, deal_id)
);

-- Liveforce deal sources (a dimension).
CREATE TABLE IF NOT EXISTS deal_sources (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    source_id                    VARCHAR NOT NULL,
    name                         VARCHAR,
    deleted_at                   TIMESTAMPTZ,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, source_id)
);

-- Liveforce deal pipeline stages (a dimension).
CREATE TABLE IF NOT EXISTS deal_stages (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    stage_id                     VARCHAR NOT NULL,
    name                         VARCHAR,
    sort_order                   BIGINT,
    probability                  DOUBLE,
    deleted_at                   TIMESTAMPTZ,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, stage_id)
);

-- Services (line items) of a Liveforce deal, replaced with every read of a changed deal.
CREATE TABLE IF NOT EXISTS deal_services (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    deal_id                      VARCHAR NOT NULL,
    service_id                   VARCHAR NOT NULL,
    name                         VARCHAR,
    quantity                     DOUBLE,
    rate                         DOUBLE,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, deal_id, service_id)
);
