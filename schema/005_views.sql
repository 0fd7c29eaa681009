-- desksync schema 005: views analysts want on day one. Times are UTC; `day` columns are UTC
-- days (make_timestamp(epoch_us(…)) keeps them UTC whatever the session's TimeZone).

-- Today's date in UTC, in any DuckDB (current_date and today() need the ICU extension, which
-- desksync's bundled DuckDB does not carry; they also follow the session's TimeZone).
CREATE OR REPLACE MACRO utc_today() AS make_timestamp(epoch_us(get_current_timestamp()))::DATE;

-- One row per live ticket with its service facts:
--   first_response_at/_seconds: the first agent message that is not an internal note;
--   resolved_at/resolution_seconds: the last change of a resolved or closed ticket;
--   customer_messages/agent_messages: messages by who wrote them (internal notes excluded);
--   reopen_count: customer messages that follow an agent reply (the customer came back);
--   sla_due_at/sla_met: the vendor's due time and whether the first response beat it.
CREATE OR REPLACE VIEW ticket_facts AS
WITH ordered AS (
    SELECT source, account, ticket_id, author_type, created_at,
           lag(author_type) OVER (PARTITION BY source, account, ticket_id ORDER BY created_at, message_id) AS previous_author
    FROM messages
    WHERE author_type IN ('agent', 'customer') AND NOT is_internal
),
per_ticket AS (
    SELECT source, account, ticket_id,
           count(*) FILTER (WHERE author_type = 'customer') AS customer_messages,
           count(*) FILTER (WHERE author_type = 'agent') AS agent_messages,
           min(created_at) FILTER (WHERE author_type = 'agent') AS first_response_at,
           count(*) FILTER (WHERE author_type = 'customer' AND previous_author = 'agent') AS reopen_count
    FROM ordered
    GROUP BY source, account, ticket_id
)
SELECT t.source, t.account, t.ticket_id, t.channel, t.status, t.department_id, t.assignee_id, t.created_at,
       make_timestamp(epoch_us(t.created_at))::DATE AS created_day,
       p.first_response_at,
       (epoch_us(p.first_response_at) - epoch_us(t.created_at)) // 1000000 AS first_response_seconds,
       CASE WHEN t.status IN ('resolved', 'closed') THEN t.updated_at END AS resolved_at,
       CASE WHEN t.status IN ('resolved', 'closed')
            THEN (epoch_us(t.updated_at) - epoch_us(t.created_at)) // 1000000 END AS resolution_seconds,
       coalesce(p.customer_messages, 0) AS customer_messages,
       coalesce(p.agent_messages, 0) AS agent_messages,
       coalesce(p.reopen_count, 0) AS reopen_count,
       t.due_at AS sla_due_at,
       CASE WHEN t.due_at IS NOT NULL THEN coalesce(p.first_response_at <= t.due_at, false) END AS sla_met
FROM tickets t
LEFT JOIN per_ticket p ON p.source = t.source AND p.account = t.account AND p.ticket_id = t.ticket_id
WHERE t.deleted_at IS NULL AND t.merged_into IS NULL;

-- Tickets created per UTC day by channel, department and current status.
CREATE OR REPLACE VIEW daily_volumes AS
SELECT source, account, make_timestamp(epoch_us(created_at))::DATE AS day, channel, department_id, status,
       count(*) AS tickets
FROM tickets
WHERE deleted_at IS NULL AND merged_into IS NULL AND created_at IS NOT NULL
GROUP BY ALL;

-- Per agent and UTC day: messages written (internal notes apart) and tickets touched, with the
-- agent's name where the agents dimension knows it.
CREATE OR REPLACE VIEW agent_workload AS
SELECT m.source, m.account, m.author_id AS agent_id,
       trim(concat_ws(' ', a.first_name, a.last_name)) AS agent_name,
       make_timestamp(epoch_us(m.created_at))::DATE AS day,
       count(*) FILTER (WHERE NOT m.is_internal) AS messages_sent,
       count(*) FILTER (WHERE m.is_internal) AS internal_notes,
       count(DISTINCT m.ticket_id) AS tickets_touched
FROM messages m
LEFT JOIN agents a ON a.source = m.source AND a.account = m.account AND a.agent_id = m.author_id
WHERE m.author_type = 'agent' AND m.author_id IS NOT NULL AND m.created_at IS NOT NULL
GROUP BY ALL;

-- Customer ratings of agents (LiveAgent's ranking report), positive and negative per agent.
CREATE OR REPLACE VIEW agent_ratings AS
SELECT source, account, agent_contact_id, any_value(agent) AS agent, any_value(agent_email) AS agent_email,
       count(*) FILTER (WHERE ranking_type = 'W') AS positive,
       count(*) FILTER (WHERE ranking_type = 'P') AS negative,
       round(100.0 * count(*) FILTER (WHERE ranking_type = 'W') / nullif(count(*), 0), 1) AS positive_pct
FROM report_ranking
GROUP BY source, account, agent_contact_id;
