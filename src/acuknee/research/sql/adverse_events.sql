-- Adverse events per 1,000 sessions attended, by type, by severity and by both.
--
-- Portable (DuckDB, PostgreSQL); {where} is the same course filter as outcomes.sql. The
-- denominator is every session attended in the selected courses, with or without an event.
-- As in outcomes.sql, the scan is a plain GROUP BY (one row per type and severity) and the
-- GROUPING SETS run over that small materialized result, so Citus can run the scan on its
-- workers (GROUPING SETS over distributed tables are single-shard only there).
WITH c AS (
    SELECT rc.course_id, rc.sessions_attended
    FROM research_course rc
    {where}
),
s AS (
    SELECT SUM(sessions_attended) AS sessions FROM c
),
cells AS MATERIALIZED (
    SELECT
        COALESCE(a.type, 'unknown') AS type,
        COALESCE(a.severity, 'unknown') AS severity,
        COUNT(*) AS events
    FROM research_adverse_event a
    JOIN c ON c.course_id = a.course_id
    GROUP BY COALESCE(a.type, 'unknown'), COALESCE(a.severity, 'unknown')
),
g AS (
    SELECT
        CASE WHEN GROUPING(type) = 0 THEN type ELSE 'all' END AS type,
        CASE WHEN GROUPING(severity) = 0 THEN severity ELSE 'all' END AS severity,
        COALESCE(SUM(events), 0) AS events
    FROM cells
    GROUP BY GROUPING SETS ((), (type), (severity), (type, severity))
)
SELECT
    g.type,
    g.severity,
    g.events,
    s.sessions,
    CAST(1000 * g.events AS DOUBLE PRECISION) / NULLIF(s.sessions, 0) AS per_1000_sessions
FROM g CROSS JOIN s
