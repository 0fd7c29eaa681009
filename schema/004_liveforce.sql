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
    status_id                    VARCHAR NOT NULL, -- Perfex ticketstatusid
    name                         VARCHAR, -- status name
    canonical                    VARCHAR, -- desksync's status for tickets in this status
    is_default                   BOOLEAN, -- one of the five Perfex defaults
    color                        VARCHAR, -- display colour
    sort_order                   BIGINT, -- display order
    deleted_at                   TIMESTAMPTZ, -- set when the record is no longer listed; rows are never hard-deleted
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, status_id)
);

-- Phone calls of every vendor: Liveforce call logs (direction, duration) and LiveAgent call conversations (call_id = ticket_id).
CREATE TABLE IF NOT EXISTS calls (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    call_id                      VARCHAR NOT NULL, -- call log id (LiveAgent: the call conversation id)
    direction                    VARCHAR, -- inbound or outbound (Liveforce call_type)
    agent_id                     VARCHAR, -- staff/agent id
    customer_id                  VARCHAR, -- contact id
    customer_phone               VARCHAR, -- the customer's number
    started_at                   TIMESTAMPTZ, -- when the call started
    duration_seconds             BIGINT, -- call length in seconds
    status                       VARCHAR, -- call status (Liveforce call_status; LiveAgent: the conversation status)
    ticket_id                    VARCHAR, -- the ticket the call belongs to (LiveAgent)
    deleted_at                   TIMESTAMPTZ, -- set when the record is no longer listed; rows are never hard-deleted
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, call_id)
);

-- Liveforce leads, listed whole every run, written when changed.
CREATE TABLE IF NOT EXISTS leads (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    lead_id                      VARCHAR NOT NULL, -- Perfex lead id
    name                         VARCHAR, -- lead's name
    title                        VARCHAR, -- job title
    company                      VARCHAR, -- company
    email                        VARCHAR, -- e-mail
    phone                        VARCHAR, -- phone number
    status_id                    VARCHAR, -- lead status id
    status_name                  VARCHAR, -- lead status name
    source_id                    VARCHAR, -- lead source id
    assigned_to                  VARCHAR, -- staff id the lead is assigned to
    lead_value                   DOUBLE, -- estimated value
    country                      VARCHAR, -- country
    created_at                   TIMESTAMPTZ, -- when the lead was added
    last_contact_at              TIMESTAMPTZ, -- last contact with the lead
    deleted_at                   TIMESTAMPTZ, -- set when the record is no longer listed; rows are never hard-deleted
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, lead_id)
);

-- Notes on Liveforce leads, replaced with every read of a changed lead.
CREATE TABLE IF NOT EXISTS lead_notes (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    lead_id                      VARCHAR NOT NULL, -- the lead
    note_id                      VARCHAR NOT NULL, -- note id
    staff_id                     VARCHAR, -- staff who added it
    description                  VARCHAR, -- note text
    created_at                   TIMESTAMPTZ, -- when it was added
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, lead_id, note_id)
);

-- Liveforce lead counts per status, one capture per run.
CREATE TABLE IF NOT EXISTS leads_status_snapshots (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    captured_at                  TIMESTAMPTZ NOT NULL, -- when the run captured this snapshot
    status_id                    VARCHAR NOT NULL, -- lead status id
    status_name                  VARCHAR, -- lead status name
    leads                        BIGINT, -- leads in the status at capture time
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, captured_at, status_id)
);

-- Liveforce leads summary figures (metric, value), one capture per run.
CREATE TABLE IF NOT EXISTS leads_summary_snapshots (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    captured_at                  TIMESTAMPTZ NOT NULL, -- when the run captured this snapshot
    metric                       VARCHAR NOT NULL, -- the figure, as the summary names it (nested keys joined with dots)
    value                        DOUBLE, -- its numeric value when it has one
    value_text                   VARCHAR, -- its value as sent
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, captured_at, metric)
);

-- Liveforce deals.
CREATE TABLE IF NOT EXISTS deals (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    deal_id                      VARCHAR NOT NULL, -- deal id
    name                         VARCHAR, -- deal name
    deal_value                   DOUBLE, -- deal value
    stage_id                     VARCHAR, -- pipeline stage (deal_stages)
    source_id                    VARCHAR, -- deal source (deal_sources)
    status                       VARCHAR, -- open, won or lost
    assigned_to                  VARCHAR, -- staff id
    lead_id                      VARCHAR, -- the lead the deal came from
    created_at                   TIMESTAMPTZ, -- when the deal was added
    expected_close_at            TIMESTAMPTZ, -- expected close date
    deleted_at                   TIMESTAMPTZ, -- set when the record is no longer listed; rows are never hard-deleted
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, deal_id)
);

-- Liveforce deal sources (a dimension).
CREATE TABLE IF NOT EXISTS deal_sources (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    source_id                    VARCHAR NOT NULL, -- deal source id
    name                         VARCHAR, -- source name
    deleted_at                   TIMESTAMPTZ, -- set when the record is no longer listed; rows are never hard-deleted
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, source_id)
);

-- Liveforce deal pipeline stages (a dimension).
CREATE TABLE IF NOT EXISTS deal_stages (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    stage_id                     VARCHAR NOT NULL, -- pipeline stage id
    name                         VARCHAR, -- stage name
    sort_order                   BIGINT, -- order in the pipeline
    probability                  DOUBLE, -- win probability in percent
    deleted_at                   TIMESTAMPTZ, -- set when the record is no longer listed; rows are never hard-deleted
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, stage_id)
);

-- Services (line items) of a Liveforce deal, replaced with every read of a changed deal.
CREATE TABLE IF NOT EXISTS deal_services (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    deal_id                      VARCHAR NOT NULL, -- the deal
    service_id                   VARCHAR NOT NULL, -- service (line item) id
    name                         VARCHAR, -- service name
    quantity                     DOUBLE, -- quantity
    rate                         DOUBLE, -- unit rate
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, deal_id, service_id)
);
