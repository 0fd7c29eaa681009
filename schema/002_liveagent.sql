-- desksync schema 002: the LiveAgent connector's dimensions, snapshots and reports, and the
-- report window ledger. Tables are declared in src/tables.rs; the `model_matches_ddl` test
-- checks that this file and those declarations agree column for column.
--
-- Conventions: every table starts with (source, account). Upserted tables end with
-- content_hash, raw (the vendor's record as JSON text) and synced_at. Snapshot tables
-- (*_snapshots) get a new row per capture, keyed by captured_at. Report tables (report_*) hold
-- one vendor report per day window [window_start, window_end) in the account's zone, and a
-- window's rows are replaced together when the day is pulled again (restatements).

-- Report windows already loaded, per pipeline and stream: a run pulls the days missing here and
-- the days inside the restatement lookback. Written in the same transaction as the window's rows.
CREATE TABLE IF NOT EXISTS _desksync_windows (
    pipeline     VARCHAR NOT NULL,
    stream       VARCHAR NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    window_end   TIMESTAMPTZ NOT NULL,
    rows         BIGINT NOT NULL,
    loaded_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (pipeline, stream, window_start)
);

-- LiveAgent customers (contacts), incremental by creation time; re-read in full every sync.reconcile_every, which also marks vanished ones deleted_at.
CREATE TABLE IF NOT EXISTS customers (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    customer_id                  VARCHAR NOT NULL,
    user_id                      VARCHAR,
    email                        VARCHAR,
    first_name                   VARCHAR,
    last_name                    VARCHAR,
    system_name                  VARCHAR,
    role                         VARCHAR,
    gender                       VARCHAR,
    created_at                   TIMESTAMPTZ,
    deleted_at                   TIMESTAMPTZ,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, customer_id)
);

-- LiveAgent customer groups (full refresh).
CREATE TABLE IF NOT EXISTS customer_groups (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    group_id                     VARCHAR NOT NULL,
    name                         VARCHAR,
    deleted_at                   TIMESTAMPTZ,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, group_id)
);

-- LiveAgent companies: list fields plus details (emails, phones, group ids) for new or changed companies.
CREATE TABLE IF NOT EXISTS companies (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    company_id                   VARCHAR NOT NULL,
    name                         VARCHAR,
    language                     VARCHAR,
    ip                           VARCHAR,
    emails                       VARCHAR[],
    phones                       VARCHAR[],
    group_ids                    VARCHAR[],
    created_at                   TIMESTAMPTZ,
    deleted_at                   TIMESTAMPTZ,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, company_id)
);

-- Custom (field_kind 'custom') and unique (field_kind 'unique') fields of a company, replaced with every details read.
CREATE TABLE IF NOT EXISTS company_fields (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    company_id                   VARCHAR NOT NULL,
    field_kind                   VARCHAR NOT NULL,
    field_code                   VARCHAR NOT NULL,
    value                        VARCHAR NOT NULL,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, company_id, field_kind, field_code, value)
);

-- LiveAgent contact widgets (full refresh).
CREATE TABLE IF NOT EXISTS widgets (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    widget_id                    VARCHAR NOT NULL,
    name                         VARCHAR,
    provide                      VARCHAR,
    department_id                VARCHAR,
    kb_id                        VARCHAR,
    rtype                        VARCHAR,
    usecode                      VARCHAR,
    status                       VARCHAR,
    description                  VARCHAR,
    impressions                  BIGINT,
    tickets                      BIGINT,
    language                     VARCHAR,
    last_display_time            TIMESTAMPTZ,
    last_display_url             VARCHAR,
    deleted_at                   TIMESTAMPTZ,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, widget_id)
);

-- LiveAgent suggestion categories (full refresh).
CREATE TABLE IF NOT EXISTS suggestion_categories (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    category_id                  VARCHAR NOT NULL,
    title                        VARCHAR,
    path                         VARCHAR,
    deleted_at                   TIMESTAMPTZ,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, category_id)
);

-- LiveAgent knowledge bases (full refresh).
CREATE TABLE IF NOT EXISTS knowledgebases (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    kb_id                        VARCHAR NOT NULL,
    name                         VARCHAR,
    deleted_at                   TIMESTAMPTZ,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, kb_id)
);

-- LiveAgent knowledge-base entries (categories, articles, topics…), incremental by date_changed.
CREATE TABLE IF NOT EXISTS kb_entries (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    entry_id                     VARCHAR NOT NULL,
    kb_id                        VARCHAR,
    parent_entry_id              VARCHAR,
    rtype                        VARCHAR,
    rstatus                      VARCHAR,
    access                       VARCHAR,
    access_inherited             VARCHAR,
    urlcode                      VARCHAR,
    treepath                     VARCHAR,
    rorder                       BIGINT,
    title                        VARCHAR,
    metadescription              VARCHAR,
    keywords                     VARCHAR,
    content                      VARCHAR,
    conversation_id              VARCHAR,
    department_id                VARCHAR,
    views                        BIGINT,
    votes                        BIGINT,
    description                  VARCHAR,
    is_deleted                   BOOLEAN,
    created_at                   TIMESTAMPTZ,
    updated_at                   TIMESTAMPTZ,
    deleted_at                   TIMESTAMPTZ,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, entry_id)
);

-- One row per LiveAgent account: version and server clock at the last run.
CREATE TABLE IF NOT EXISTS application_status (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    version                      VARCHAR,
    framework_version            VARCHAR,
    installed_at                 TIMESTAMPTZ,
    updated_at                   TIMESTAMPTZ,
    server_time                  TIMESTAMPTZ,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account)
);

-- Agents of every vendor. known_from says where the row came from: onlinestatus / report_agents / messages (LiveAgent), operators (LiveZilla), staff (Liveforce).
CREATE TABLE IF NOT EXISTS agents (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    agent_id                     VARCHAR NOT NULL,
    contact_id                   VARCHAR,
    email                        VARCHAR,
    first_name                   VARCHAR,
    last_name                    VARCHAR,
    avatar_url                   VARCHAR,
    known_from                   VARCHAR,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, agent_id)
);

-- Tags of a LiveAgent conversation with their names (opt-in stream conversation_tags), replaced with every read.
CREATE TABLE IF NOT EXISTS conversation_tags (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    ticket_id                    VARCHAR NOT NULL,
    tag_id                       VARCHAR NOT NULL,
    name                         VARCHAR,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, ticket_id, tag_id)
);

-- LiveAgent agents' online status, one capture per run (captured_at).
CREATE TABLE IF NOT EXISTS agent_status_snapshots (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    captured_at                  TIMESTAMPTZ NOT NULL,
    agent_id                     VARCHAR NOT NULL,
    contact_id                   VARCHAR,
    username                     VARCHAR,
    first_name                   VARCHAR,
    last_name                    VARCHAR,
    avatar_url                   VARCHAR,
    preset_status                VARCHAR,
    online_status                VARCHAR,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, captured_at, agent_id)
);

-- LiveAgent departments' online status and counts, one capture per run.
CREATE TABLE IF NOT EXISTS department_status_snapshots (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    captured_at                  TIMESTAMPTZ NOT NULL,
    department_id                VARCHAR NOT NULL,
    name                         VARCHAR,
    online_status                VARCHAR,
    chat_count                   BIGINT,
    new_count                    BIGINT,
    customer_reply_count         BIGINT,
    total_count                  BIGINT,
    max_count                    BIGINT,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, captured_at, department_id)
);

-- LiveAgent chats overview (visitors, running, ringing, queued chats, agents), one capture per run.
CREATE TABLE IF NOT EXISTS chats_overview_snapshots (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    captured_at                  TIMESTAMPTZ NOT NULL,
    visitors                     BIGINT,
    chats                        BIGINT,
    ringing                      BIGINT,
    queue                        BIGINT,
    agents                       BIGINT,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, captured_at)
);

-- LiveAgent calls overview (running, ringing, queued calls), one capture per run.
CREATE TABLE IF NOT EXISTS calls_overview_snapshots (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    captured_at                  TIMESTAMPTZ NOT NULL,
    running                      BIGINT,
    ringing                      BIGINT,
    inqueue                      BIGINT,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, captured_at)
);

-- LiveAgent agents report per day window. Measures are LiveAgent's, named in snake_case; *_ph per hour, *_p percent, times in seconds.
CREATE TABLE IF NOT EXISTS report_agents (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    window_start                 TIMESTAMPTZ NOT NULL,
    window_end                   TIMESTAMPTZ,
    agent_id                     VARCHAR NOT NULL,
    contact_id                   VARCHAR,
    first_name                   VARCHAR,
    last_name                    VARCHAR,
    worktime                     BIGINT,
    answers                      BIGINT,
    answers_ph                   DOUBLE,
    new_answer_avg_time          BIGINT,
    new_answer_avg_time_sla      BIGINT,
    next_answer_avg_time         BIGINT,
    next_answer_avg_time_sla     BIGINT,
    calls                        BIGINT,
    calls_ph                     DOUBLE,
    missed_calls                 BIGINT,
    missed_calls_ph              DOUBLE,
    call_seconds                 BIGINT,
    call_seconds_ph              DOUBLE,
    chats                        BIGINT,
    chats_ph                     DOUBLE,
    chat_answers                 BIGINT,
    chat_answers_ph              DOUBLE,
    missed_chats                 BIGINT,
    missed_chats_ph              DOUBLE,
    chat_pickup                  BIGINT,
    chat_pickup_avg_time         BIGINT,
    chat_avg_time                BIGINT,
    not_ranked                   BIGINT,
    not_ranked_p                 DOUBLE,
    not_ranked_ph                DOUBLE,
    rewards                      BIGINT,
    rewards_p                    DOUBLE,
    rewards_ph                   DOUBLE,
    punishments                  BIGINT,
    punishments_p                DOUBLE,
    punishments_ph               DOUBLE,
    created_tickets              BIGINT,
    resolved_tickets             BIGINT,
    u_chats                      BIGINT,
    u_calls                      BIGINT,
    notes                        BIGINT,
    first_assign_avg_time        BIGINT,
    first_assign_avg_time_sla    BIGINT,
    first_resolve_avg_time       BIGINT,
    first_resolve_avg_time_sla   BIGINT,
    calls_outgoing               BIGINT,
    call_outgoing_seconds        BIGINT,
    call_outgoing_avg_time       BIGINT,
    call_pickup_avg_time         BIGINT,
    call_avg_time                BIGINT,
    calls_internal               BIGINT,
    call_internal_avg_time       BIGINT,
    call_internal_seconds        BIGINT,
    o_calls                      BIGINT,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, window_start, agent_id)
);

-- LiveAgent channels report per day window (measures as in report_agents).
CREATE TABLE IF NOT EXISTS report_channels (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    window_start                 TIMESTAMPTZ NOT NULL,
    window_end                   TIMESTAMPTZ,
    channel_id                   VARCHAR NOT NULL,
    channel_name                 VARCHAR,
    answers                      BIGINT,
    new_answer_avg_time          BIGINT,
    new_answer_avg_time_sla      BIGINT,
    next_answer_avg_time         BIGINT,
    next_answer_avg_time_sla     BIGINT,
    chat_answers                 BIGINT,
    chats                        BIGINT,
    missed_chats                 BIGINT,
    chat_pickup                  BIGINT,
    chat_pickup_avg_time         BIGINT,
    chat_avg_time                BIGINT,
    calls                        BIGINT,
    missed_calls                 BIGINT,
    call_seconds                 BIGINT,
    not_ranked                   BIGINT,
    not_ranked_p                 DOUBLE,
    rewards                      BIGINT,
    rewards_p                    DOUBLE,
    punishments                  BIGINT,
    punishments_p                DOUBLE,
    i_messages                   BIGINT,
    i_chats                      BIGINT,
    i_calls                      BIGINT,
    f_chats                      BIGINT,
    f_calls                      BIGINT,
    created_tickets              BIGINT,
    resolved_tickets             BIGINT,
    u_chats                      BIGINT,
    u_calls                      BIGINT,
    notes                        BIGINT,
    first_assign_avg_time        BIGINT,
    first_assign_avg_time_sla    BIGINT,
    first_resolve_avg_time       BIGINT,
    first_resolve_avg_time_sla   BIGINT,
    calls_outgoing               BIGINT,
    call_outgoing_seconds        BIGINT,
    call_outgoing_avg_time       BIGINT,
    call_pickup_avg_time         BIGINT,
    call_avg_time                BIGINT,
    calls_internal               BIGINT,
    call_internal_avg_time       BIGINT,
    call_internal_seconds        BIGINT,
    o_calls                      BIGINT,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, window_start, channel_id)
);

-- LiveAgent departments report per day window.
CREATE TABLE IF NOT EXISTS report_departments (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    window_start                 TIMESTAMPTZ NOT NULL,
    window_end                   TIMESTAMPTZ,
    department_id                VARCHAR NOT NULL,
    department_name              VARCHAR,
    answers                      BIGINT,
    new_answer_avg_time          BIGINT,
    new_answer_avg_time_sla      BIGINT,
    next_answer_avg_time         BIGINT,
    next_answer_avg_time_sla     BIGINT,
    chat_answers                 BIGINT,
    chats                        BIGINT,
    missed_chats                 BIGINT,
    chat_pickup                  BIGINT,
    chat_pickup_avg_time         BIGINT,
    chat_avg_time                BIGINT,
    calls                        BIGINT,
    missed_calls                 BIGINT,
    call_seconds                 BIGINT,
    not_ranked                   BIGINT,
    not_ranked_p                 DOUBLE,
    rewards                      BIGINT,
    rewards_p                    DOUBLE,
    punishments                  BIGINT,
    punishments_p                DOUBLE,
    i_messages                   BIGINT,
    i_chats                      BIGINT,
    i_calls                      BIGINT,
    f_chats                      BIGINT,
    f_calls                      BIGINT,
    created_tickets              BIGINT,
    resolved_tickets             BIGINT,
    u_chats                      BIGINT,
    u_calls                      BIGINT,
    notes                        BIGINT,
    first_assign_avg_time        BIGINT,
    first_assign_avg_time_sla    BIGINT,
    first_resolve_avg_time       BIGINT,
    first_resolve_avg_time_sla   BIGINT,
    calls_outgoing               BIGINT,
    call_outgoing_seconds        BIGINT,
    call_outgoing_avg_time       BIGINT,
    call_pickup_avg_time         BIGINT,
    call_avg_time                BIGINT,
    calls_internal               BIGINT,
    call_internal_avg_time       BIGINT,
    call_internal_seconds        BIGINT,
    o_calls                      BIGINT,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, window_start, department_id)
);

-- LiveAgent tags report per day window.
CREATE TABLE IF NOT EXISTS report_tags (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    window_start                 TIMESTAMPTZ NOT NULL,
    window_end                   TIMESTAMPTZ,
    tag_id                       VARCHAR NOT NULL,
    tag_name                     VARCHAR,
    answers                      BIGINT,
    new_answer_avg_time          BIGINT,
    new_answer_avg_time_sla      BIGINT,
    next_answer_avg_time         BIGINT,
    next_answer_avg_time_sla     BIGINT,
    chat_answers                 BIGINT,
    chats                        BIGINT,
    missed_chats                 BIGINT,
    chat_pickup                  BIGINT,
    chat_pickup_avg_time         BIGINT,
    chat_avg_time                BIGINT,
    calls                        BIGINT,
    missed_calls                 BIGINT,
    call_seconds                 BIGINT,
    not_ranked                   BIGINT,
    not_ranked_p                 DOUBLE,
    rewards                      BIGINT,
    rewards_p                    DOUBLE,
    punishments                  BIGINT,
    punishments_p                DOUBLE,
    i_messages                   BIGINT,
    i_chats                      BIGINT,
    i_calls                      BIGINT,
    f_chats                      BIGINT,
    f_calls                      BIGINT,
    created_tickets              BIGINT,
    resolved_tickets             BIGINT,
    u_chats                      BIGINT,
    u_calls                      BIGINT,
    notes                        BIGINT,
    first_assign_avg_time        BIGINT,
    first_assign_avg_time_sla    BIGINT,
    first_resolve_avg_time       BIGINT,
    first_resolve_avg_time_sla   BIGINT,
    calls_outgoing               BIGINT,
    call_outgoing_seconds        BIGINT,
    call_outgoing_avg_time       BIGINT,
    call_pickup_avg_time         BIGINT,
    call_avg_time                BIGINT,
    calls_internal               BIGINT,
    call_internal_avg_time       BIGINT,
    call_internal_seconds        BIGINT,
    o_calls                      BIGINT,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, window_start, tag_id)
);

-- LiveAgent performance report per day window; period_start/period_end are the report's own period.
CREATE TABLE IF NOT EXISTS report_performance (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    window_start                 TIMESTAMPTZ NOT NULL,
    window_end                   TIMESTAMPTZ,
    period_start                 TIMESTAMPTZ NOT NULL,
    period_end                   TIMESTAMPTZ,
    answers                      BIGINT,
    new_answer_avg_time          BIGINT,
    new_answer_avg_time_sla      BIGINT,
    next_answer_avg_time         BIGINT,
    next_answer_avg_time_sla     BIGINT,
    chat_answers                 BIGINT,
    chats                        BIGINT,
    missed_chats                 BIGINT,
    chat_pickup                  BIGINT,
    chat_pickup_avg_time         BIGINT,
    chat_avg_time                BIGINT,
    calls                        BIGINT,
    missed_calls                 BIGINT,
    call_seconds                 BIGINT,
    not_ranked                   BIGINT,
    not_ranked_p                 DOUBLE,
    rewards                      BIGINT,
    rewards_p                    DOUBLE,
    punishments                  BIGINT,
    punishments_p                DOUBLE,
    i_messages                   BIGINT,
    i_chats                      BIGINT,
    i_calls                      BIGINT,
    f_chats                      BIGINT,
    f_calls                      BIGINT,
    created_tickets              BIGINT,
    resolved_tickets             BIGINT,
    u_chats                      BIGINT,
    u_calls                      BIGINT,
    notes                        BIGINT,
    first_assign_avg_time        BIGINT,
    first_assign_avg_time_sla    BIGINT,
    first_resolve_avg_time       BIGINT,
    first_resolve_avg_time_sla   BIGINT,
    calls_outgoing               BIGINT,
    call_outgoing_seconds        BIGINT,
    call_outgoing_avg_time       BIGINT,
    call_pickup_avg_time         BIGINT,
    call_avg_time                BIGINT,
    calls_internal               BIGINT,
    call_internal_avg_time       BIGINT,
    call_internal_seconds        BIGINT,
    o_calls                      BIGINT,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, window_start, period_start)
);

-- Customer ratings of agents (ranking_type W positive, P negative) per day window.
CREATE TABLE IF NOT EXISTS report_ranking (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    window_start                 TIMESTAMPTZ NOT NULL,
    window_end                   TIMESTAMPTZ,
    rating_id                    VARCHAR NOT NULL,
    ranking_type                 VARCHAR,
    created_at                   TIMESTAMPTZ,
    conversation_id              VARCHAR,
    agent_contact_id             VARCHAR,
    agent_email                  VARCHAR,
    agent                        VARCHAR,
    contact_id                   VARCHAR,
    requester_email              VARCHAR,
    requester                    VARCHAR,
    comment                      VARCHAR,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, window_start, rating_id)
);

-- Agents' availability per day window and scope (tickets, chats, calls); seconds_online parsed from hours_online.
CREATE TABLE IF NOT EXISTS report_agents_availability (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    scope                        VARCHAR NOT NULL,
    window_start                 TIMESTAMPTZ NOT NULL,
    window_end                   TIMESTAMPTZ,
    availability_id              VARCHAR NOT NULL,
    agent_id                     VARCHAR,
    first_name                   VARCHAR,
    last_name                    VARCHAR,
    contact_id                   VARCHAR,
    department_id                VARCHAR,
    department_name              VARCHAR,
    hours_online                 VARCHAR,
    seconds_online               BIGINT,
    from_date                    TIMESTAMPTZ,
    to_date                      TIMESTAMPTZ,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, scope, window_start, availability_id)
);

-- Chats/calls availability per hour (period_start) within each day window.
CREATE TABLE IF NOT EXISTS report_availability (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    scope                        VARCHAR NOT NULL,
    window_start                 TIMESTAMPTZ NOT NULL,
    window_end                   TIMESTAMPTZ,
    period_start                 TIMESTAMPTZ NOT NULL,
    mins                         BIGINT,
    pct                          DOUBLE,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, scope, window_start, period_start)
);

-- Tickets/chats/calls load per hour (queue, slots, service).
CREATE TABLE IF NOT EXISTS report_load (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    scope                        VARCHAR NOT NULL,
    window_start                 TIMESTAMPTZ NOT NULL,
    window_end                   TIMESTAMPTZ,
    period_start                 TIMESTAMPTZ NOT NULL,
    avg_queue                    DOUBLE,
    max_queue                    BIGINT,
    min_queue                    BIGINT,
    avg_slots                    DOUBLE,
    max_slots                    BIGINT,
    min_slots                    BIGINT,
    avg_service                  DOUBLE,
    max_service                  BIGINT,
    min_service                  BIGINT,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, scope, window_start, period_start)
);

-- SLA compliance per day window and scope.
CREATE TABLE IF NOT EXISTS report_sla_compliance (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    scope                        VARCHAR NOT NULL,
    window_start                 TIMESTAMPTZ NOT NULL,
    window_end                   TIMESTAMPTZ,
    period_start                 TIMESTAMPTZ NOT NULL,
    fulfilled                    BIGINT,
    avg_fulfilled_time           BIGINT,
    max_fulfilled_time           BIGINT,
    min_fulfilled_time           BIGINT,
    unfulfilled                  BIGINT,
    avg_unfulfilled_time         BIGINT,
    max_unfulfilled_time         BIGINT,
    min_unfulfilled_time         BIGINT,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, scope, window_start, period_start)
);

-- SLA log entries per day window and scope.
CREATE TABLE IF NOT EXISTS report_sla_log (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    scope                        VARCHAR NOT NULL,
    window_start                 TIMESTAMPTZ NOT NULL,
    window_end                   TIMESTAMPTZ,
    sla_log_id                   VARCHAR NOT NULL,
    conversation_id              VARCHAR,
    code                         VARCHAR,
    department_id                VARCHAR,
    department_name              VARCHAR,
    level_id                     VARCHAR,
    sla_level_name               VARCHAR,
    sla                          VARCHAR,
    date_created                 TIMESTAMPTZ,
    date_closed                  TIMESTAMPTZ,
    server_date_closed           TIMESTAMPTZ,
    date_due                     TIMESTAMPTZ,
    server_date_due              TIMESTAMPTZ,
    sla_level_id                 VARCHAR,
    agent_id                     VARCHAR,
    agent_first_name             VARCHAR,
    agent_last_name              VARCHAR,
    req_contact_id               VARCHAR,
    req_first_name               VARCHAR,
    req_last_name                VARCHAR,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, scope, window_start, sla_log_id)
);

