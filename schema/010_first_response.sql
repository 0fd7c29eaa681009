-- desksync schema 010: ticket_facts of 005, with the first response counted from the ticket's
-- creation on. A merge moves the merged ticket's messages under the surviving one (Liveforce),
-- so a survivor can carry agent replies older than itself; those answered the other ticket,
-- and counting them gave negative first-response times.

-- One row per live ticket with its service facts:
--   first_response_at/_seconds: the first agent message that is not an internal note, at or
--     after the ticket's creation (replies moved in by a merge that predate it do not count);
--   resolved_at/resolution_seconds: the last change of a resolved or closed ticket;
--   customer_messages/agent_messages: messages by who wrote them (internal notes excluded);
--   reopen_count: customer messages that follow an agent reply (the customer came back);
--   sla_due_at/sla_met: the vendor's due time and whether the first response beat it.
CREATE OR REPLACE VIEW ticket_facts AS
WITH ordered AS (
    SELECT m.source, m.account, m.ticket_id, m.author_type, m.created_at,
           m.created_at >= t.created_at AS after_creation,
           lag(m.author_type) OVER (PARTITION BY m.source, m.account, m.ticket_id ORDER BY m.created_at, m.message_id) AS previous_author
    FROM messages m
    JOIN tickets t ON t.source = m.source AND t.account = m.account AND t.ticket_id = m.ticket_id
    WHERE m.author_type IN ('agent', 'customer') AND NOT m.is_internal
),
per_ticket AS (
    SELECT source, account, ticket_id,
           count(*) FILTER (WHERE author_type = 'customer') AS customer_messages,
           count(*) FILTER (WHERE author_type = 'agent') AS agent_messages,
           min(created_at) FILTER (WHERE author_type = 'agent' AND after_creation) AS first_response_at,
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
