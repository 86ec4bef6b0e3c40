-- The first stage of adverse_events.sql: the selected courses' sessions attended, and their
-- events counted by type and severity (a plain GROUP BY: a few rows), one row each with the
-- sessions repeated (a single row of NULL events when no course had any).
--
-- adverse_events.sql takes this text in its {cells} slot; on SQLite it runs by itself in
-- SQLite, which has no GROUPING SETS, and DuckDB runs the rest over its few rows.
-- Portable: SQLite, DuckDB, PostgreSQL; {where} is the same course filter as outcomes.sql,
-- written twice (its parameters are passed twice): the events are read from their own table
-- and each looks up its course by key, rather than every course looking for its events
-- (SQLite: 0.03 s instead of 0.11 s at 100,000 courses; DuckDB the same either way).
WITH s AS (
    SELECT SUM(rc.sessions_attended) AS sessions
    FROM research_course rc
    {where}
),
e AS (
    SELECT
        COALESCE(a.type, 'unknown') AS type,
        COALESCE(a.severity, 'unknown') AS severity,
        COUNT(*) AS events
    FROM research_adverse_event a
    JOIN research_course rc ON rc.course_id = a.course_id
    {where}
    GROUP BY COALESCE(a.type, 'unknown'), COALESCE(a.severity, 'unknown')
)
SELECT e.type, e.severity, e.events, s.sessions
FROM s LEFT JOIN e ON 1 = 1
