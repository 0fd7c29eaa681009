-- desksync schema 006: the views of 001 and 005 rewritten.
--
-- DuckDB 2.0.0 drops a LIMIT over some filtered LEFT JOINs (`SELECT * FROM ticket_tags WHERE
-- source = 'livezilla' LIMIT 5` returned every row). The views below join their dimensions
-- through correlated scalar subqueries instead, which that bug does not reach; tests/it/views.rs
-- keeps a regression test of every view under a filter and a LIMIT.

-- One row per (ticket, tag). tickets.tags holds what the vendor sends: tag ids where the vendor
-- has a tag dimension (LiveAgent: the `tags` table names them), tag names where it sends names
-- (LiveZilla). tag_name is the dimension's name for an id, the tag itself for a source without
-- a tag dimension, and NULL for an id the dimension does not (or no longer) know.
CREATE OR REPLACE VIEW ticket_tags AS
WITH exploded AS (SELECT source, account, ticket_id, unnest(tags) AS tag_id FROM tickets)
SELECT e.source, e.account, e.ticket_id, e.tag_id,
       CASE WHEN (SELECT count(*) FROM tags d WHERE d.source = e.source AND d.account = e.account) = 0
            THEN e.tag_id
            ELSE (SELECT any_value(g.name) FROM tags g
                  WHERE g.source = e.source AND g.account = e.account AND g.tag_id = e.tag_id)
       END AS tag_name
FROM exploded e;

-- Per agent and UTC day: messages written (internal notes apart) and tickets touched, with the
-- agent's name where the agents dimension knows it.
CREATE OR REPLACE VIEW agent_workload AS
WITH w AS (
    SELECT m.source, m.account, m.author_id AS agent_id,
           make_timestamp(epoch_us(m.created_at))::DATE AS day,
           count(*) FILTER (WHERE NOT m.is_internal) AS messages_sent,
           count(*) FILTER (WHERE m.is_internal) AS internal_notes,
           count(DISTINCT m.ticket_id) AS tickets_touched
    FROM messages m
    WHERE m.author_type = 'agent' AND m.author_id IS NOT NULL AND m.created_at IS NOT NULL
    GROUP BY ALL
)
SELECT w.source, w.account, w.agent_id,
       (SELECT any_value(trim(concat_ws(' ', a.first_name, a.last_name))) FROM agents a
        WHERE a.source = w.source AND a.account = w.account AND a.agent_id = w.agent_id) AS agent_name,
       w.day, w.messages_sent, w.internal_notes, w.tickets_touched
FROM w;
