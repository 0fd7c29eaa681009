-- desksync schema 009: the ten help-desk questions, answered the same way for every vendor from
-- the shared model (ticket_facts over tickets and messages). Days are UTC days of a ticket's
-- creation unless a view says otherwise; only live tickets count (not deleted, not merged into
-- another). docs/tables.md documents every column; tests/it/questions.rs checks each view against
-- figures computed in Rust from the simulators' data.
--
-- Dimension names come through correlated scalar subqueries, not LEFT JOINs (see 006).

-- 1. First response time: how long customers waited for the first public agent reply.
CREATE OR REPLACE VIEW first_response_daily AS
SELECT source, account, created_day AS day,
       count(*) AS tickets,
       count(first_response_seconds) AS responded,
       avg(first_response_seconds) AS avg_first_response_seconds,
       quantile_cont(first_response_seconds, 0.5) AS median_first_response_seconds,
       quantile_cont(first_response_seconds, 0.9) AS p90_first_response_seconds
FROM ticket_facts
GROUP BY ALL;

-- 2. Full resolution time: creation to resolution (the last change of a resolved or closed
-- ticket), by the UTC day the ticket was resolved.
CREATE OR REPLACE VIEW resolution_daily AS
SELECT source, account, make_timestamp(epoch_us(resolved_at))::DATE AS day,
       count(*) AS resolved,
       avg(resolution_seconds) AS avg_resolution_seconds,
       quantile_cont(resolution_seconds, 0.5) AS median_resolution_seconds,
       quantile_cont(resolution_seconds, 0.9) AS p90_resolution_seconds
FROM ticket_facts
WHERE resolved_at IS NOT NULL
GROUP BY ALL;

-- 3. Backlog: tickets open at the end of each UTC day (created by then, not resolved by then),
-- every day from the account's first ticket to today.
CREATE OR REPLACE VIEW backlog_daily AS
WITH events AS (
    SELECT source, account, created_day AS day, 1 AS opened, 0 AS resolved FROM ticket_facts
    UNION ALL
    SELECT source, account, make_timestamp(epoch_us(resolved_at))::DATE, 0, 1 FROM ticket_facts
    WHERE resolved_at IS NOT NULL
),
spans AS (
    SELECT source, account, min(day) AS first_day, greatest(max(day), utc_today()) AS last_day
    FROM events GROUP BY ALL
),
calendar AS (
    SELECT source, account, unnest(generate_series(first_day::TIMESTAMP, last_day::TIMESTAMP, INTERVAL 1 DAY))::DATE AS day,
           0 AS opened, 0 AS resolved
    FROM spans
),
per_day AS (
    SELECT source, account, day, sum(opened) AS opened, sum(resolved) AS resolved
    FROM (SELECT * FROM events UNION ALL SELECT * FROM calendar)
    GROUP BY ALL
)
SELECT source, account, day, opened::BIGINT AS opened, resolved::BIGINT AS resolved,
       (sum(opened - resolved) OVER (PARTITION BY source, account ORDER BY day))::BIGINT AS open_at_end
FROM per_day;

-- 4. SLA met: of the tickets with a due time, how many got their first response by it.
CREATE OR REPLACE VIEW sla_daily AS
SELECT source, account, created_day AS day,
       count(sla_due_at) AS with_sla,
       count(*) FILTER (WHERE sla_met) AS met,
       round(100.0 * count(*) FILTER (WHERE sla_met) / nullif(count(sla_due_at), 0), 1) AS met_pct
FROM ticket_facts
GROUP BY ALL;

-- 5. Volume by channel and department.
CREATE OR REPLACE VIEW volume_daily AS
WITH v AS (
    SELECT source, account, created_day AS day, channel, department_id, count(*) AS tickets
    FROM ticket_facts GROUP BY ALL
)
SELECT v.source, v.account, v.day, v.channel, v.department_id,
       (SELECT any_value(d.name) FROM departments d
        WHERE d.source = v.source AND d.account = v.account AND d.department_id = v.department_id) AS department_name,
       v.tickets
FROM v;

-- 6. Agent workload: `agent_workload` (005/006), per agent and UTC day.
-- 7. Ratings: `agent_ratings` (005), per agent; only LiveAgent's API has customer ratings.

-- 8. Reopen rate: tickets where the customer wrote again after an agent's reply.
CREATE OR REPLACE VIEW reopen_daily AS
SELECT source, account, created_day AS day,
       count(*) AS tickets,
       count(*) FILTER (WHERE reopen_count > 0) AS reopened,
       round(100.0 * count(*) FILTER (WHERE reopen_count > 0) / count(*), 1) AS reopened_pct
FROM ticket_facts
GROUP BY ALL;

-- 9. Messages per ticket: public messages (not internal notes, not system lines) per ticket.
CREATE OR REPLACE VIEW messages_per_ticket_daily AS
WITH per_ticket AS (
    SELECT f.source, f.account, f.created_day AS day,
           (SELECT count(*) FROM messages m
            WHERE m.source = f.source AND m.account = f.account AND m.ticket_id = f.ticket_id
              AND NOT m.is_internal AND m.author_type <> 'system') AS messages
    FROM ticket_facts f
)
SELECT source, account, day, count(*) AS tickets, sum(messages)::BIGINT AS messages,
       avg(messages) AS avg_messages, max(messages) AS max_messages
FROM per_ticket
GROUP BY ALL;

-- 10. Response-time percentiles per UTC month of creation.
CREATE OR REPLACE VIEW response_percentiles_monthly AS
SELECT source, account, strftime(created_day, '%Y-%m') AS month,
       count(first_response_seconds) AS responded,
       quantile_cont(first_response_seconds, 0.5) AS p50_seconds,
       quantile_cont(first_response_seconds, 0.75) AS p75_seconds,
       quantile_cont(first_response_seconds, 0.9) AS p90_seconds,
       quantile_cont(first_response_seconds, 0.95) AS p95_seconds
FROM ticket_facts
WHERE first_response_seconds IS NOT NULL
GROUP BY ALL;
