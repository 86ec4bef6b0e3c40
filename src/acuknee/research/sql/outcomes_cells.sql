-- The first stage of outcomes.sql: every selected course summed into its cell of all thirteen
-- breakdowns, one plain GROUP BY (every aggregate a sum or a count, so cells add up exactly).
--
-- outcomes.sql takes this text in its {cells} slot. On SQLite (the app's default database) it
-- runs by itself in SQLite, which has no GROUPING SETS: only the cells (tens of thousands at
-- 100,000 courses) leave the database, and DuckDB runs the rest of outcomes.sql over them.
-- Portable: SQLite, DuckDB, PostgreSQL; {where} is filled as in outcomes.sql.
WITH ae AS (
    SELECT course_id, COUNT(*) AS n_ae
    FROM research_adverse_event
    GROUP BY course_id
),
c AS (
    SELECT
        rc.clinic_id AS clinic_id,
        rc.clinic_region AS clinic_region,
        rc.cause AS cause,
        rc.severity_band AS severity_stored,
        rc.age_band AS age_band,
        rc.sex AS sex,
        rc.diabetes AS diabetes,
        rc.anticoagulated AS anticoagulated,
        rc.cardiac_device AS cardiac_device,
        rc.knee_prosthesis AS knee_prosthesis,
        rc.protocol_id AS protocol,
        rc.method AS method,
        CASE
            WHEN rc.sessions_attended <= 0 THEN 0
            WHEN rc.sessions_attended <= 4 THEN 1
            WHEN rc.sessions_attended <= 8 THEN 2
            WHEN rc.sessions_attended <= 12 THEN 3
            ELSE 4
        END AS sessions_band,
        CASE WHEN rc.verdict = 'not_evaluable' THEN 0 ELSE 1 END AS evaluable,
        CASE WHEN rc.verdict = 'responder' THEN 1 ELSE 0 END AS responder,
        CASE WHEN rc.dropped_out THEN 1 ELSE 0 END AS dropped_out,
        CASE WHEN rc.completed THEN 1 ELSE 0 END AS completed,
        rc.sessions_planned AS sessions_planned,
        rc.sessions_attended AS sessions_attended,
        COALESCE(ae.n_ae, 0) AS n_ae,
        rc.pain_improvement AS pain_x,
        rc.function_improvement AS function_x,
        rc.inflammation_improvement AS inflammation_x,
        rc.relaxation_improvement AS relaxation_x,
        rc.skin_temperature_improvement AS skin_temperature_x,
        CASE WHEN rc.pain_mic_reached THEN 1 ELSE 0 END AS pain_mic,
        CASE WHEN rc.function_mic_reached THEN 1 ELSE 0 END AS function_mic,
        CASE WHEN rc.inflammation_mic_reached THEN 1 ELSE 0 END AS inflammation_mic,
        CASE WHEN rc.relaxation_mic_reached THEN 1 ELSE 0 END AS relaxation_mic,
        CASE WHEN rc.skin_temperature_mic_reached THEN 1 ELSE 0 END AS skin_temperature_mic
    FROM research_course rc
    LEFT JOIN ae ON ae.course_id = rc.course_id
    {where}
)
    SELECT
        clinic_id,
        COALESCE(NULLIF(clinic_region, ''), 'unknown') AS region,
        cause,
        COALESCE(severity_stored, 'unknown') AS severity_band,
        age_band, sex, diabetes, anticoagulated, cardiac_device, knee_prosthesis, protocol, method, sessions_band,
        COUNT(*) AS n,
        SUM(evaluable) AS evaluable,
        SUM(responder) AS responders,
        SUM(dropped_out) AS dropped_out,
        SUM(completed) AS completed,
        SUM(sessions_planned) AS sessions_planned,
        SUM(sessions_attended) AS sessions_attended,
        SUM(n_ae) AS adverse_events,
        COUNT(pain_x) AS pain_n,
        SUM(pain_x) AS pain_sum,
        SUM(pain_x * pain_x) AS pain_sumsq,
        SUM(pain_mic) AS pain_mic,
        COUNT(function_x) AS function_n,
        SUM(function_x) AS function_sum,
        SUM(function_x * function_x) AS function_sumsq,
        SUM(function_mic) AS function_mic,
        COUNT(inflammation_x) AS inflammation_n,
        SUM(inflammation_x) AS inflammation_sum,
        SUM(inflammation_x * inflammation_x) AS inflammation_sumsq,
        SUM(inflammation_mic) AS inflammation_mic,
        COUNT(relaxation_x) AS relaxation_n,
        SUM(relaxation_x) AS relaxation_sum,
        SUM(relaxation_x * relaxation_x) AS relaxation_sumsq,
        SUM(relaxation_mic) AS relaxation_mic,
        COUNT(skin_temperature_x) AS skin_temperature_n,
        SUM(skin_temperature_x) AS skin_temperature_sum,
        SUM(skin_temperature_x * skin_temperature_x) AS skin_temperature_sumsq,
        SUM(skin_temperature_mic) AS skin_temperature_mic
    FROM c
    GROUP BY
        clinic_id, clinic_region, cause, severity_stored, age_band, sex,
        diabetes, anticoagulated, cardiac_device, knee_prosthesis, protocol, method, sessions_band
