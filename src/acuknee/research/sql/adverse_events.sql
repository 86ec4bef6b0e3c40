-- Adverse events per 1,000 sessions attended, by type, by severity and by both.
--
-- Portable (DuckDB, PostgreSQL); the first stage is adverse_events_cells.sql, put in the
-- {cells} slot, whose {where} is the same course filter as outcomes.sql. The denominator is
-- every session attended in the selected courses, with or without an event.
-- As in outcomes.sql, the scan is a plain GROUP BY (one row per type and severity) and the
-- GROUPING SETS run over that small materialized result, so Citus can run the scan on its
-- workers (GROUPING SETS over distributed tables are single-shard only there).
WITH cells AS MATERIALIZED (
{cells}
),
s AS (
    SELECT MAX(sessions) AS sessions FROM cells
),
g AS (
    SELECT
        CASE WHEN GROUPING(type) = 0 THEN type ELSE 'all' END AS type,
        CASE WHEN GROUPING(severity) = 0 THEN severity ELSE 'all' END AS severity,
        COALESCE(SUM(events), 0) AS events
    FROM cells
    WHERE events IS NOT NULL
    GROUP BY GROUPING SETS ((), (type), (severity), (type, severity))
)
SELECT
    g.type,
    g.severity,
    g.events,
    s.sessions,
    CAST(1000 * g.events AS DOUBLE PRECISION) / NULLIF(s.sessions, 0) AS per_1000_sessions
FROM g CROSS JOIN s
