-- desksync schema 002: the LiveAgent connector's dimensions, snapshots and reports, and the
-- report window ledger. Tables are declared in src/tables.rs; the `model_matches_ddl` test
-- checks that this file and those declarations agree column for column.
--
-- Conventions: every table starts with (source, account). Upserted tables end with
-- content_hash, raw (the vendor's record as JSON text) and synced_at. Snapshot tables
-- (*_snapshots) get a new row per capture, keyed by captured_at. Report tables (report_*) hold
-- one vendor report per day window [window_start, window_end) in the account's zone, and a
-- window's rows are replaced together when the day is pulled again (restatements).

-- The window ledger: every window a pipeline loaded, per stream. kind 'report': a report day
-- loaded by a run (a run pulls the days missing here plus those inside the restatement
-- lookback), written in the same transaction as the day's rows. kind 'backfill': a window of
-- `desksync backfill` (an interrupted backfill resumes at the first window not 'done').
CREATE TABLE IF NOT EXISTS _desksync_windows (
    pipeline     VARCHAR NOT NULL, -- the pipeline
    stream       VARCHAR NOT NULL, -- the stream
    kind         VARCHAR NOT NULL, -- report (a report day) or backfill (a backfill window)
    window_start TIMESTAMPTZ NOT NULL, -- start of the window (midnight in the account's zone, as UTC)
    window_end   TIMESTAMPTZ NOT NULL, -- its end (exclusive; a report day lasts 23 or 25 hours on DST days)
    status       VARCHAR NOT NULL, -- running, done or failed
    rows         BIGINT, -- rows the window wrote (report: rows the day holds)
    requests     BIGINT, -- HTTP requests it took, retries included (backfill)
    attempts     INTEGER NOT NULL, -- how many times the window was loaded
    error        VARCHAR, -- why the last attempt failed, in plain words
    updated_at   TIMESTAMPTZ NOT NULL, -- when it was last loaded or attempted
    PRIMARY KEY (pipeline, stream, kind, window_start)
);

-- LiveAgent customers (contacts), incremental by creation time; re-read in full every sync.reconcile_every, which also marks vanished ones deleted_at.
CREATE TABLE IF NOT EXISTS customers (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    customer_id                  VARCHAR NOT NULL, -- Id of customer contact
    user_id                      VARCHAR, -- Customer userid
    email                        VARCHAR, -- Customer email
    first_name                   VARCHAR, -- Customer first name
    last_name                    VARCHAR, -- Customer last name
    system_name                  VARCHAR, -- Customer system name
    role                         VARCHAR, -- Customer role (Possible values: V - Visitor, R - Registered visitor)
    gender                       VARCHAR, -- Customer gender (Possible values: M - Male, F - Female)
    created_at                   TIMESTAMPTZ, -- Date created
    deleted_at                   TIMESTAMPTZ, -- set when the record is no longer listed; rows are never hard-deleted
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, customer_id)
);

-- LiveAgent customer groups (full refresh).
CREATE TABLE IF NOT EXISTS customer_groups (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    group_id                     VARCHAR NOT NULL, -- Group id
    name                         VARCHAR, -- Group name
    deleted_at                   TIMESTAMPTZ, -- set when the record is no longer listed; rows are never hard-deleted
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, group_id)
);

-- LiveAgent companies: list fields plus details (emails, phones, group ids) for new or changed companies.
CREATE TABLE IF NOT EXISTS companies (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    company_id                   VARCHAR NOT NULL, -- unique identifier of company
    name                         VARCHAR, -- name of the company
    language                     VARCHAR, -- Language associated with the company (from its details)
    ip                           VARCHAR, -- IP address of company
    emails                       VARCHAR[], -- the company's e-mail addresses
    phones                       VARCHAR[], -- the company's phone numbers (from its details)
    group_ids                    VARCHAR[], -- ids of the customer groups the company belongs to (from its details)
    created_at                   TIMESTAMPTZ, -- date, when company was created
    deleted_at                   TIMESTAMPTZ, -- set when the record is no longer listed; rows are never hard-deleted
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, company_id)
);

-- Custom (field_kind 'custom') and unique (field_kind 'unique') fields of a company, replaced with every details read.
CREATE TABLE IF NOT EXISTS company_fields (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    company_id                   VARCHAR NOT NULL, -- the company
    field_kind                   VARCHAR NOT NULL, -- custom (a custom field) or unique (a unique identifier such as email or phone)
    field_code                   VARCHAR NOT NULL, -- the field's code
    value                        VARCHAR NOT NULL, -- the field's value
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, company_id, field_kind, field_code, value)
);

-- LiveAgent contact widgets (full refresh).
CREATE TABLE IF NOT EXISTS widgets (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    widget_id                    VARCHAR NOT NULL, -- Widget ID
    name                         VARCHAR, -- Widget name
    provide                      VARCHAR, -- Provides services
    department_id                VARCHAR, -- Department ID
    kb_id                        VARCHAR, -- Knowledge base ID
    rtype                        VARCHAR, -- Type (Possible values: C - Chat button, O - Contact form, U - Invitation html, M - Invitation image, G - Chat window, B - Contact form, K - Search, W - Knowledge base, S - Suggest button, P - Twilio button)
    usecode                      VARCHAR, -- Use code (Possible values: N - Online, F - Offline, B - Both)
    status                       VARCHAR, -- Status (Possible values: A - Active, C - Create, I - Inactive, F - Offline, N - Online)
    description                  VARCHAR, -- Description
    impressions                  BIGINT, -- Impressions
    tickets                      BIGINT, -- Tickets
    language                     VARCHAR, -- Language
    last_display_time            TIMESTAMPTZ, -- Last display time
    last_display_url             VARCHAR, -- Last display url
    deleted_at                   TIMESTAMPTZ, -- set when the record is no longer listed; rows are never hard-deleted
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, widget_id)
);

-- LiveAgent suggestion categories (full refresh).
CREATE TABLE IF NOT EXISTS suggestion_categories (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    category_id                  VARCHAR NOT NULL, -- Id of the category
    title                        VARCHAR, -- Title of the category
    path                         VARCHAR, -- Path of the category
    deleted_at                   TIMESTAMPTZ, -- set when the record is no longer listed; rows are never hard-deleted
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, category_id)
);

-- LiveAgent knowledge bases (full refresh).
CREATE TABLE IF NOT EXISTS knowledgebases (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    kb_id                        VARCHAR NOT NULL, -- Knowledgebase identifier
    name                         VARCHAR, -- Knowledgebase name
    deleted_at                   TIMESTAMPTZ, -- set when the record is no longer listed; rows are never hard-deleted
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, kb_id)
);

-- LiveAgent knowledge-base entries (categories, articles, topics…), incremental by date_changed.
CREATE TABLE IF NOT EXISTS kb_entries (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    entry_id                     VARCHAR NOT NULL, -- Knowledgebase entry identifier
    kb_id                        VARCHAR, -- Knowledgebase identifier
    parent_entry_id              VARCHAR, -- Parent category identifier
    rtype                        VARCHAR, -- Knowledgebase entry type (Possible values: H - Home, C - Category, A - Article, Q - Forum, R - Topic, G - Suggestion category, S - Suggestion)
    rstatus                      VARCHAR, -- Status (Possible values: N - New, C - Completed, P - Published, D - Draft, I - Init, U - Review, L - Planned, S - Started, X - Declined)
    access                       VARCHAR, -- Knowledgebase entry access level (Possible values: I - Internal, P - Public)
    access_inherited             VARCHAR, -- Inherited access level (Possible values: I - Internal, P - Public)
    urlcode                      VARCHAR, -- URL Code
    treepath                     VARCHAR, -- Tree path
    rorder                       BIGINT, -- Order within parent category
    title                        VARCHAR, -- Knowledgebase entry title
    metadescription              VARCHAR, -- HTML Meta description
    keywords                     VARCHAR, -- HTML Meta Keywords
    content                      VARCHAR, -- Article content
    conversation_id              VARCHAR, -- Related ticket identifier
    department_id                VARCHAR, -- Department identifier
    views                        BIGINT, -- Number of views
    votes                        BIGINT, -- Number of votes
    description                  VARCHAR, -- Description
    is_deleted                   BOOLEAN, -- Was the entry deleted? (suggestion and topic only) (Possible values: Y - Yes, N - No)
    created_at                   TIMESTAMPTZ, -- Date when entry was created
    updated_at                   TIMESTAMPTZ, -- Date of last change
    deleted_at                   TIMESTAMPTZ, -- set when the record is no longer listed; rows are never hard-deleted
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, entry_id)
);

-- One row per LiveAgent account: version and server clock at the last run.
CREATE TABLE IF NOT EXISTS application_status (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    version                      VARCHAR, -- LiveAgent version
    framework_version            VARCHAR, -- framework (GPF) version
    installed_at                 TIMESTAMPTZ, -- when the application was installed
    updated_at                   TIMESTAMPTZ, -- latest update of the application
    server_time                  TIMESTAMPTZ, -- the server's clock when last read
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account)
);

-- Agents of every vendor. known_from says where the row came from: onlinestatus / report_agents / messages (LiveAgent), operators (LiveZilla), staff (Liveforce).
CREATE TABLE IF NOT EXISTS agents (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    agent_id                     VARCHAR NOT NULL, -- the vendor's user id of the agent
    contact_id                   VARCHAR, -- the agent's contact id (LiveAgent)
    email                        VARCHAR, -- login e-mail
    first_name                   VARCHAR, -- first name
    last_name                    VARCHAR, -- last name
    avatar_url                   VARCHAR, -- avatar or picture URL
    known_from                   VARCHAR, -- where the agent is known from: onlinestatus, report_agents, messages (LiveAgent), operators (LiveZilla), staff (Liveforce)
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, agent_id)
);

-- Tags of a LiveAgent conversation with their names (opt-in stream conversation_tags), replaced with every read.
CREATE TABLE IF NOT EXISTS conversation_tags (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    ticket_id                    VARCHAR NOT NULL, -- the conversation (tickets.ticket_id)
    tag_id                       VARCHAR NOT NULL, -- the tag's id
    name                         VARCHAR, -- the tag's name as the conversation lists it
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, ticket_id, tag_id)
);

-- LiveAgent agents' online status, one capture per run (captured_at).
CREATE TABLE IF NOT EXISTS agent_status_snapshots (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    captured_at                  TIMESTAMPTZ NOT NULL, -- when the run captured this snapshot
    agent_id                     VARCHAR NOT NULL, -- User id of agent
    contact_id                   VARCHAR, -- Contact id of agent
    username                     VARCHAR, -- Agent's username (email)
    first_name                   VARCHAR, -- Agent's first name
    last_name                    VARCHAR, -- Agent's last name
    avatar_url                   VARCHAR, -- Agent's avatar url
    preset_status                VARCHAR, -- Agent's preset online status (string consisting of: M-messages, P-phone, T-chat, R-read or F-offline)
    online_status                VARCHAR, -- Agent's current online status (string consisting of: M-messages, P-phone, T-chat, R-read or F-offline)
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, captured_at, agent_id)
);

-- LiveAgent departments' online status and counts, one capture per run.
CREATE TABLE IF NOT EXISTS department_status_snapshots (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    captured_at                  TIMESTAMPTZ NOT NULL, -- when the run captured this snapshot
    department_id                VARCHAR NOT NULL, -- Identifier of department
    name                         VARCHAR, -- Name of department
    online_status                VARCHAR, -- Current online status of department (string consisting of: M-messages, P-phone, T-chat, R-read or F-offline)
    chat_count                   BIGINT, -- (deprecated) Number of running chats in department
    new_count                    BIGINT, -- (deprecated) Number of tickets in New state in department
    customer_reply_count         BIGINT, -- (deprecated) Number of customer replies in department
    total_count                  BIGINT, -- (deprecated) Total number of new, open and chatting tickets in department
    max_count                    BIGINT, -- (deprecated) Maximum number of new, open and chatting tickets in any of departments
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, captured_at, department_id)
);

-- LiveAgent chats overview (visitors, running, ringing, queued chats, agents), one capture per run.
CREATE TABLE IF NOT EXISTS chats_overview_snapshots (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    captured_at                  TIMESTAMPTZ NOT NULL, -- when the run captured this snapshot
    visitors                     BIGINT, -- Number of visitors
    chats                        BIGINT, -- Number of running chats
    ringing                      BIGINT, -- Number of ringing chats
    queue                        BIGINT, -- Number of chats in queue
    agents                       BIGINT, -- Number of agents available for chat
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, captured_at)
);

-- LiveAgent calls overview (running, ringing, queued calls), one capture per run.
CREATE TABLE IF NOT EXISTS calls_overview_snapshots (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    captured_at                  TIMESTAMPTZ NOT NULL, -- when the run captured this snapshot
    running                      BIGINT, -- Number of running calls
    ringing                      BIGINT, -- Number of ringing calls
    inqueue                      BIGINT, -- Number of calls in queue
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, captured_at)
);

-- LiveAgent agents report per day window. Measures are LiveAgent's, named in snake_case; *_ph per hour, *_p percent, times in seconds.
CREATE TABLE IF NOT EXISTS report_agents (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    window_start                 TIMESTAMPTZ NOT NULL, -- start of the day window the report describes (midnight in the account's zone, as UTC)
    window_end                   TIMESTAMPTZ, -- end of the day window (the next midnight; 23 or 25 hours later on DST days)
    agent_id                     VARCHAR NOT NULL, -- User identifier
    contact_id                   VARCHAR, -- User contact identifier
    first_name                   VARCHAR, -- First name
    last_name                    VARCHAR, -- Last name
    worktime                     BIGINT, -- Worktime in minutes
    answers                      BIGINT, -- Number of answers
    answers_ph                   DOUBLE, -- Number of answers per hour
    new_answer_avg_time          BIGINT, -- New answer average time (in seconds)
    new_answer_avg_time_sla      BIGINT, -- New answer average time (in seconds) within SLA business hours
    next_answer_avg_time         BIGINT, -- Open answer average time (in seconds)
    next_answer_avg_time_sla     BIGINT, -- Open answer average time (in seconds) within SLA business hours
    calls                        BIGINT, -- Number of answered calls
    calls_ph                     DOUBLE, -- Number of answered calls per hour
    missed_calls                 BIGINT, -- Number of missed calls
    missed_calls_ph              DOUBLE, -- Number of missed calls per hour
    call_seconds                 BIGINT, -- Call time total (in seconds)
    call_seconds_ph              DOUBLE, -- Call time total (in seconds) per hour
    chats                        BIGINT, -- Number of responded chats
    chats_ph                     DOUBLE, -- Number of responded chats per hour
    chat_answers                 BIGINT, -- Number of chat messages
    chat_answers_ph              DOUBLE, -- Number of chat messages per hour
    missed_chats                 BIGINT, -- Number of missed chats
    missed_chats_ph              DOUBLE, -- Number of missed chats per hour
    chat_pickup                  BIGINT, -- Number of picked up chats
    chat_pickup_avg_time         BIGINT, -- Chat pickup average time (in seconds)
    chat_avg_time                BIGINT, -- Average time spent in chat (in seconds)
    not_ranked                   BIGINT, -- Number of not rated
    not_ranked_p                 DOUBLE, -- Not rated [%]
    not_ranked_ph                DOUBLE, -- Number of not rated per hour
    rewards                      BIGINT, -- Number of positive ratings
    rewards_p                    DOUBLE, -- Positive ratings [%]
    rewards_ph                   DOUBLE, -- Positive ratings per hour
    punishments                  BIGINT, -- Number of negative ratings
    punishments_p                DOUBLE, -- Negative ratings [%]
    punishments_ph               DOUBLE, -- Negative ratings per hour
    created_tickets              BIGINT, -- Number of tickets
    resolved_tickets             BIGINT, -- Number of resolved tickets
    u_chats                      BIGINT, -- Number of unanswered chats
    u_calls                      BIGINT, -- Number of unanswered calls
    notes                        BIGINT, -- Number of notes
    first_assign_avg_time        BIGINT, -- First assign average time
    first_assign_avg_time_sla    BIGINT, -- First assign average time (in seconds) within SLA business hours
    first_resolve_avg_time       BIGINT, -- First resolve average time
    first_resolve_avg_time_sla   BIGINT, -- First resolve average time (in seconds) within SLA business hours
    calls_outgoing               BIGINT, -- Number of outgoing calls
    call_outgoing_seconds        BIGINT, -- Outgoing calls time (in seconds)
    call_outgoing_avg_time       BIGINT, -- Outgoing calls average time (in seconds)
    call_pickup_avg_time         BIGINT, -- Call pickup average time (in seconds)
    call_avg_time                BIGINT, -- Call average time (in seconds)
    calls_internal               BIGINT, -- Number of internal calls
    call_internal_avg_time       BIGINT, -- Internal calls average time (in seconds)
    call_internal_seconds        BIGINT, -- Internal calls time (in seconds)
    o_calls                      BIGINT, -- Number of offline calls
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, window_start, agent_id)
);

-- LiveAgent channels report per day window (measures as in report_agents).
CREATE TABLE IF NOT EXISTS report_channels (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    window_start                 TIMESTAMPTZ NOT NULL, -- start of the day window the report describes (midnight in the account's zone, as UTC)
    window_end                   TIMESTAMPTZ, -- end of the day window (the next midnight; 23 or 25 hours later on DST days)
    channel_id                   VARCHAR NOT NULL, -- Channel identifier
    channel_name                 VARCHAR, -- Channel name
    answers                      BIGINT, -- Number of answers
    new_answer_avg_time          BIGINT, -- New answer average time (in seconds)
    new_answer_avg_time_sla      BIGINT, -- New answer average time (in seconds) within SLA business hours
    next_answer_avg_time         BIGINT, -- Open answer average time (in seconds)
    next_answer_avg_time_sla     BIGINT, -- Open answer average time (in seconds) within SLA business hours
    chat_answers                 BIGINT, -- Number of chat messages
    chats                        BIGINT, -- Number of responded chats
    missed_chats                 BIGINT, -- Number of missed chats
    chat_pickup                  BIGINT, -- Number of picked up chats
    chat_pickup_avg_time         BIGINT, -- Chat pickup average time (in seconds)
    chat_avg_time                BIGINT, -- Average time spent in chat (in seconds)
    calls                        BIGINT, -- Number of answered calls
    missed_calls                 BIGINT, -- Number of missed calls
    call_seconds                 BIGINT, -- Call time total (in seconds)
    not_ranked                   BIGINT, -- Number of not rated
    not_ranked_p                 DOUBLE, -- Not rated [%]
    rewards                      BIGINT, -- Number of positive ratings
    rewards_p                    DOUBLE, -- Positive ratings [%]
    punishments                  BIGINT, -- Number of negative ratings
    punishments_p                DOUBLE, -- Negative ratings [%]
    i_messages                   BIGINT, -- Number of incoming messages
    i_chats                      BIGINT, -- Number of incoming chats (including not responded)
    i_calls                      BIGINT, -- Number of incoming calls (including not answered)
    f_chats                      BIGINT, -- Number of finished chats
    f_calls                      BIGINT, -- Number of finished calls
    created_tickets              BIGINT, -- Number of tickets
    resolved_tickets             BIGINT, -- Number of resolved tickets
    u_chats                      BIGINT, -- Number of unanswered chats
    u_calls                      BIGINT, -- Number of unanswered calls
    notes                        BIGINT, -- Number of notes
    first_assign_avg_time        BIGINT, -- First assign average time
    first_assign_avg_time_sla    BIGINT, -- First assign average time (in seconds) within SLA business hours
    first_resolve_avg_time       BIGINT, -- First resolve average time
    first_resolve_avg_time_sla   BIGINT, -- First resolve average time (in seconds) within SLA business hours
    calls_outgoing               BIGINT, -- Number of outgoing calls
    call_outgoing_seconds        BIGINT, -- Outgoing calls time (in seconds)
    call_outgoing_avg_time       BIGINT, -- Outgoing calls average time (in seconds)
    call_pickup_avg_time         BIGINT, -- Call pickup average time (in seconds)
    call_avg_time                BIGINT, -- Call average time (in seconds)
    calls_internal               BIGINT, -- Number of internal calls
    call_internal_avg_time       BIGINT, -- Internal calls average time (in seconds)
    call_internal_seconds        BIGINT, -- Internal calls time (in seconds)
    o_calls                      BIGINT, -- Number of offline calls
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, window_start, channel_id)
);

-- LiveAgent departments report per day window.
CREATE TABLE IF NOT EXISTS report_departments (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    window_start                 TIMESTAMPTZ NOT NULL, -- start of the day window the report describes (midnight in the account's zone, as UTC)
    window_end                   TIMESTAMPTZ, -- end of the day window (the next midnight; 23 or 25 hours later on DST days)
    department_id                VARCHAR NOT NULL, -- Department identifier
    department_name              VARCHAR, -- Department name
    answers                      BIGINT, -- Number of answers
    new_answer_avg_time          BIGINT, -- New answer average time (in seconds)
    new_answer_avg_time_sla      BIGINT, -- New answer average time (in seconds) within SLA business hours
    next_answer_avg_time         BIGINT, -- Open answer average time (in seconds)
    next_answer_avg_time_sla     BIGINT, -- Open answer average time (in seconds) within SLA business hours
    chat_answers                 BIGINT, -- Number of chat messages
    chats                        BIGINT, -- Number of responded chats
    missed_chats                 BIGINT, -- Number of missed chats
    chat_pickup                  BIGINT, -- Number of picked up chats
    chat_pickup_avg_time         BIGINT, -- Chat pickup average time (in seconds)
    chat_avg_time                BIGINT, -- Average time spent in chat (in seconds)
    calls                        BIGINT, -- Number of answered calls
    missed_calls                 BIGINT, -- Number of missed calls
    call_seconds                 BIGINT, -- Call time total (in seconds)
    not_ranked                   BIGINT, -- Number of not rated
    not_ranked_p                 DOUBLE, -- Not rated [%]
    rewards                      BIGINT, -- Number of positive ratings
    rewards_p                    DOUBLE, -- Positive ratings [%]
    punishments                  BIGINT, -- Number of negative ratings
    punishments_p                DOUBLE, -- Negative ratings [%]
    i_messages                   BIGINT, -- Number of incoming messages
    i_chats                      BIGINT, -- Number of incoming chats (including not responded)
    i_calls                      BIGINT, -- Number of incoming calls (including not answered)
    f_chats                      BIGINT, -- Number of finished chats
    f_calls                      BIGINT, -- Number of finished calls
    created_tickets              BIGINT, -- Number of tickets
    resolved_tickets             BIGINT, -- Number of resolved tickets
    u_chats                      BIGINT, -- Number of unanswered chats
    u_calls                      BIGINT, -- Number of unanswered calls
    notes                        BIGINT, -- Number of notes
    first_assign_avg_time        BIGINT, -- First assign average time
    first_assign_avg_time_sla    BIGINT, -- First assign average time (in seconds) within SLA business hours
    first_resolve_avg_time       BIGINT, -- First resolve average time
    first_resolve_avg_time_sla   BIGINT, -- First resolve average time (in seconds) within SLA business hours
    calls_outgoing               BIGINT, -- Number of outgoing calls
    call_outgoing_seconds        BIGINT, -- Outgoing calls time (in seconds)
    call_outgoing_avg_time       BIGINT, -- Outgoing calls average time (in seconds)
    call_pickup_avg_time         BIGINT, -- Call pickup average time (in seconds)
    call_avg_time                BIGINT, -- Call average time (in seconds)
    calls_internal               BIGINT, -- Number of internal calls
    call_internal_avg_time       BIGINT, -- Internal calls average time (in seconds)
    call_internal_seconds        BIGINT, -- Internal calls time (in seconds)
    o_calls                      BIGINT, -- Number of offline calls
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, window_start, department_id)
);

-- LiveAgent tags report per day window.
CREATE TABLE IF NOT EXISTS report_tags (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    window_start                 TIMESTAMPTZ NOT NULL, -- start of the day window the report describes (midnight in the account's zone, as UTC)
    window_end                   TIMESTAMPTZ, -- end of the day window (the next midnight; 23 or 25 hours later on DST days)
    tag_id                       VARCHAR NOT NULL, -- Tag identifier
    tag_name                     VARCHAR, -- Tag name
    answers                      BIGINT, -- Number of answers
    new_answer_avg_time          BIGINT, -- New answer average time (in seconds)
    new_answer_avg_time_sla      BIGINT, -- New answer average time (in seconds) within SLA business hours
    next_answer_avg_time         BIGINT, -- Open answer average time (in seconds)
    next_answer_avg_time_sla     BIGINT, -- Open answer average time (in seconds) within SLA business hours
    chat_answers                 BIGINT, -- Number of chat messages
    chats                        BIGINT, -- Number of responded chats
    missed_chats                 BIGINT, -- Number of missed chats
    chat_pickup                  BIGINT, -- Number of picked up chats
    chat_pickup_avg_time         BIGINT, -- Chat pickup average time (in seconds)
    chat_avg_time                BIGINT, -- Average time spent in chat (in seconds)
    calls                        BIGINT, -- Number of answered calls
    missed_calls                 BIGINT, -- Number of missed calls
    call_seconds                 BIGINT, -- Call time total (in seconds)
    not_ranked                   BIGINT, -- Number of not rated
    not_ranked_p                 DOUBLE, -- Not rated [%]
    rewards                      BIGINT, -- Number of positive ratings
    rewards_p                    DOUBLE, -- Positive ratings [%]
    punishments                  BIGINT, -- Number of negative ratings
    punishments_p                DOUBLE, -- Negative ratings [%]
    i_messages                   BIGINT, -- Number of incoming messages
    i_chats                      BIGINT, -- Number of incoming chats (including not responded)
    i_calls                      BIGINT, -- Number of incoming calls (including not answered)
    f_chats                      BIGINT, -- Number of finished chats
    f_calls                      BIGINT, -- Number of finished calls
    created_tickets              BIGINT, -- Number of tickets
    resolved_tickets             BIGINT, -- Number of resolved tickets
    u_chats                      BIGINT, -- Number of unanswered chats
    u_calls                      BIGINT, -- Number of unanswered calls
    notes                        BIGINT, -- Number of notes
    first_assign_avg_time        BIGINT, -- First assign average time
    first_assign_avg_time_sla    BIGINT, -- First assign average time (in seconds) within SLA business hours
    first_resolve_avg_time       BIGINT, -- First resolve average time
    first_resolve_avg_time_sla   BIGINT, -- First resolve average time (in seconds) within SLA business hours
    calls_outgoing               BIGINT, -- Number of outgoing calls
    call_outgoing_seconds        BIGINT, -- Outgoing calls time (in seconds)
    call_outgoing_avg_time       BIGINT, -- Outgoing calls average time (in seconds)
    call_pickup_avg_time         BIGINT, -- Call pickup average time (in seconds)
    call_avg_time                BIGINT, -- Call average time (in seconds)
    calls_internal               BIGINT, -- Number of internal calls
    call_internal_avg_time       BIGINT, -- Internal calls average time (in seconds)
    call_internal_seconds        BIGINT, -- Internal calls time (in seconds)
    o_calls                      BIGINT, -- Number of offline calls
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, window_start, tag_id)
);

-- LiveAgent performance report per day window; period_start/period_end are the report's own period.
CREATE TABLE IF NOT EXISTS report_performance (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    window_start                 TIMESTAMPTZ NOT NULL, -- start of the day window the report describes (midnight in the account's zone, as UTC)
    window_end                   TIMESTAMPTZ, -- end of the day window (the next midnight; 23 or 25 hours later on DST days)
    period_start                 TIMESTAMPTZ NOT NULL, -- Date from
    period_end                   TIMESTAMPTZ, -- Date to
    answers                      BIGINT, -- Number of answers
    new_answer_avg_time          BIGINT, -- New answer average time (in seconds)
    new_answer_avg_time_sla      BIGINT, -- New answer average time (in seconds) within SLA business hours
    next_answer_avg_time         BIGINT, -- Open answer average time (in seconds)
    next_answer_avg_time_sla     BIGINT, -- Open answer average time (in seconds) within SLA business hours
    chat_answers                 BIGINT, -- Number of chat messages
    chats                        BIGINT, -- Number of responded chats
    missed_chats                 BIGINT, -- Number of missed chats
    chat_pickup                  BIGINT, -- Number of picked up chats
    chat_pickup_avg_time         BIGINT, -- Chat pickup average time (in seconds)
    chat_avg_time                BIGINT, -- Average time spent in chat (in seconds)
    calls                        BIGINT, -- Number of answered calls
    missed_calls                 BIGINT, -- Number of missed calls
    call_seconds                 BIGINT, -- Call time total (in seconds)
    not_ranked                   BIGINT, -- Number of not rated
    not_ranked_p                 DOUBLE, -- Not rated [%]
    rewards                      BIGINT, -- Number of positive ratings
    rewards_p                    DOUBLE, -- Positive ratings [%]
    punishments                  BIGINT, -- Number of negative ratings
    punishments_p                DOUBLE, -- Negative ratings [%]
    i_messages                   BIGINT, -- Number of incoming messages
    i_chats                      BIGINT, -- Number of incoming chats (including not responded)
    i_calls                      BIGINT, -- Number of incoming calls (including not answered)
    f_chats                      BIGINT, -- Number of finished chats
    f_calls                      BIGINT, -- Number of finished calls
    created_tickets              BIGINT, -- Number of tickets
    resolved_tickets             BIGINT, -- Number of resolved tickets
    u_chats                      BIGINT, -- Number of unanswered chats
    u_calls                      BIGINT, -- Number of unanswered calls
    notes                        BIGINT, -- Number of notes
    first_assign_avg_time        BIGINT, -- First assign average time
    first_assign_avg_time_sla    BIGINT, -- First assign average time (in seconds) within SLA business hours
    first_resolve_avg_time       BIGINT, -- First resolve average time
    first_resolve_avg_time_sla   BIGINT, -- First resolve average time (in seconds) within SLA business hours
    calls_outgoing               BIGINT, -- Number of outgoing calls
    call_outgoing_seconds        BIGINT, -- Outgoing calls time (in seconds)
    call_outgoing_avg_time       BIGINT, -- Outgoing calls average time (in seconds)
    call_pickup_avg_time         BIGINT, -- Call pickup average time (in seconds)
    call_avg_time                BIGINT, -- Call average time (in seconds)
    calls_internal               BIGINT, -- Number of internal calls
    call_internal_avg_time       BIGINT, -- Internal calls average time (in seconds)
    call_internal_seconds        BIGINT, -- Internal calls time (in seconds)
    o_calls                      BIGINT, -- Number of offline calls
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, window_start, period_start)
);

-- Customer ratings of agents (ranking_type W positive, P negative) per day window.
CREATE TABLE IF NOT EXISTS report_ranking (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    window_start                 TIMESTAMPTZ NOT NULL, -- start of the day window the report describes (midnight in the account's zone, as UTC)
    window_end                   TIMESTAMPTZ, -- end of the day window (the next midnight; 23 or 25 hours later on DST days)
    rating_id                    VARCHAR NOT NULL, -- Rating identifier
    ranking_type                 VARCHAR, -- Rating type (W = positive, P = negative)
    created_at                   TIMESTAMPTZ, -- Date created
    conversation_id              VARCHAR, -- Conversation identifier
    agent_contact_id             VARCHAR, -- Agent identifier
    agent_email                  VARCHAR, -- Agent email
    agent                        VARCHAR, -- Agent full name
    contact_id                   VARCHAR, -- Requester identifier
    requester_email              VARCHAR, -- Requester email
    requester                    VARCHAR, -- Requester full name
    comment                      VARCHAR, -- Rating comment
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, window_start, rating_id)
);

-- Agents' availability per day window and scope (tickets, chats, calls); seconds_online parsed from hours_online.
CREATE TABLE IF NOT EXISTS report_agents_availability (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    scope                        VARCHAR NOT NULL, -- tickets, chats or calls: which of the three endpoints the row came from
    window_start                 TIMESTAMPTZ NOT NULL, -- start of the day window the report describes (midnight in the account's zone, as UTC)
    window_end                   TIMESTAMPTZ, -- end of the day window (the next midnight; 23 or 25 hours later on DST days)
    availability_id              VARCHAR NOT NULL, -- Availability identifier
    agent_id                     VARCHAR, -- User identifier
    first_name                   VARCHAR, -- User first name
    last_name                    VARCHAR, -- User last name
    contact_id                   VARCHAR, -- Contact identifier
    department_id                VARCHAR, -- Department identifier
    department_name              VARCHAR, -- Department name
    hours_online                 VARCHAR, -- Number of hours online
    seconds_online               BIGINT, -- hours_online in seconds
    from_date                    TIMESTAMPTZ, -- Date from
    to_date                      TIMESTAMPTZ, -- Date to
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, scope, window_start, availability_id)
);

-- Chats/calls availability per hour (period_start) within each day window.
CREATE TABLE IF NOT EXISTS report_availability (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    scope                        VARCHAR NOT NULL, -- tickets, chats or calls: which of the three endpoints the row came from
    window_start                 TIMESTAMPTZ NOT NULL, -- start of the day window the report describes (midnight in the account's zone, as UTC)
    window_end                   TIMESTAMPTZ, -- end of the day window (the next midnight; 23 or 25 hours later on DST days)
    period_start                 TIMESTAMPTZ NOT NULL, -- Date
    mins                         BIGINT, -- Availability (in minutes)
    pct                          DOUBLE, -- Availability (in percentage)
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, scope, window_start, period_start)
);

-- Tickets/chats/calls load per hour (queue, slots, service).
CREATE TABLE IF NOT EXISTS report_load (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    scope                        VARCHAR NOT NULL, -- tickets, chats or calls: which of the three endpoints the row came from
    window_start                 TIMESTAMPTZ NOT NULL, -- start of the day window the report describes (midnight in the account's zone, as UTC)
    window_end                   TIMESTAMPTZ, -- end of the day window (the next midnight; 23 or 25 hours later on DST days)
    period_start                 TIMESTAMPTZ NOT NULL, -- Date
    avg_queue                    DOUBLE, -- Average tickets in queue
    max_queue                    BIGINT, -- Maximum tickets in queue
    min_queue                    BIGINT, -- Minimum tickets in queue
    avg_slots                    DOUBLE, -- Average agents
    max_slots                    BIGINT, -- Maximum agents
    min_slots                    BIGINT, -- Minimum agents
    avg_service                  DOUBLE, -- Average work in progress tickets
    max_service                  BIGINT, -- Maximum work in progress tickets
    min_service                  BIGINT, -- Minimum work in progress tickets
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, scope, window_start, period_start)
);

-- SLA compliance per day window and scope.
CREATE TABLE IF NOT EXISTS report_sla_compliance (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    scope                        VARCHAR NOT NULL, -- tickets, chats or calls: which of the three endpoints the row came from
    window_start                 TIMESTAMPTZ NOT NULL, -- start of the day window the report describes (midnight in the account's zone, as UTC)
    window_end                   TIMESTAMPTZ, -- end of the day window (the next midnight; 23 or 25 hours later on DST days)
    period_start                 TIMESTAMPTZ NOT NULL, -- Date
    fulfilled                    BIGINT, -- Fulfilled
    avg_fulfilled_time           BIGINT, -- Average fulfilled time
    max_fulfilled_time           BIGINT, -- Maximum fulfilled time
    min_fulfilled_time           BIGINT, -- Minimum fulfilled time
    unfulfilled                  BIGINT, -- Unfulfilled
    avg_unfulfilled_time         BIGINT, -- Average unfulfilled time
    max_unfulfilled_time         BIGINT, -- Maximum unfulfilled time
    min_unfulfilled_time         BIGINT, -- Minimum unfulfilled time
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, scope, window_start, period_start)
);

-- SLA log entries per day window and scope.
CREATE TABLE IF NOT EXISTS report_sla_log (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    scope                        VARCHAR NOT NULL, -- tickets, chats or calls: which of the three endpoints the row came from
    window_start                 TIMESTAMPTZ NOT NULL, -- start of the day window the report describes (midnight in the account's zone, as UTC)
    window_end                   TIMESTAMPTZ, -- end of the day window (the next midnight; 23 or 25 hours later on DST days)
    sla_log_id                   VARCHAR NOT NULL, -- SLA Log identifier
    conversation_id              VARCHAR, -- Conversation identifier
    code                         VARCHAR, -- Conversation code
    department_id                VARCHAR, -- Department identifier
    department_name              VARCHAR, -- Department name
    level_id                     VARCHAR, -- Level identifier
    sla_level_name               VARCHAR, -- SLA level name
    sla                          VARCHAR, -- SLA offset
    date_created                 TIMESTAMPTZ, -- Minimum unfulfilled time
    date_closed                  TIMESTAMPTZ, -- Minimum unfulfilled time
    server_date_closed           TIMESTAMPTZ, -- Minimum unfulfilled time
    date_due                     TIMESTAMPTZ, -- Minimum unfulfilled time
    server_date_due              TIMESTAMPTZ, -- Minimum unfulfilled time
    sla_level_id                 VARCHAR, -- SLA level identifier
    agent_id                     VARCHAR, -- Agent identifier
    agent_first_name             VARCHAR, -- Agent first name
    agent_last_name              VARCHAR, -- Agent last name
    req_contact_id               VARCHAR, -- Requester contact identifier
    req_first_name               VARCHAR, -- Requester first name
    req_last_name                VARCHAR, -- Requester last name
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, scope, window_start, sla_log_id)
);

