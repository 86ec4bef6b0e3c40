-- Pooled outcomes of the research network: every breakdown in ONE scan (GROUPING SETS).
--
-- Portable: the same text runs on DuckDB (over Parquet, or over rows copied from SQLite) and on
-- PostgreSQL (Citus too). The first stage is outcomes_cells.sql, put in the {cells} slot; only
-- the WHERE slot {where} there is filled by acuknee.research.analytics
-- from a fixed list of columns, with parameters ("?" on DuckDB, "%s" on PostgreSQL).
--
-- The OMERACT-OARSI verdict is the clinical core's, stored per course; nothing here re-judges
-- it. Responder rate = responders / evaluable courses, dropout = dropped out / courses, both with
-- Wilson 95% score intervals (z = 1.96) computed here. Per domain: n, mean improvement, SD (from
-- the sums of x and x squared, so every aggregate is a plain sum) and standard error; the t 95%
-- interval (df = n - 1) is finished in Python from n and se. Grouping is on the stored types
-- (integers, booleans); labels are made after aggregation, on the few result rows.
--
-- Two stages, so the one scan is a plain GROUP BY: "fine" sums every course into its cell of all
-- thirteen breakdowns at once (every aggregate is a sum, so cells add up exactly); the GROUPING
-- SETS then run over those cells (about 85,000 at 1M synthetic courses), not over the courses. On Citus the
-- first stage runs on the workers and only the cells reach the coordinator, where GROUPING SETS
-- (single-shard only on distributed tables) run on the materialized intermediate result.
WITH fine AS MATERIALIZED (
{cells}
),
g AS (
    SELECT
        CASE
            WHEN GROUPING(clinic_id) = 0 THEN 'clinic'
            WHEN GROUPING(region) = 0 THEN 'region'
            WHEN GROUPING(cause) = 0 THEN 'cause'
            WHEN GROUPING(severity_band) = 0 THEN 'severity_band'
            WHEN GROUPING(age_band) = 0 THEN 'age_band'
            WHEN GROUPING(sex) = 0 THEN 'sex'
            WHEN GROUPING(diabetes) = 0 THEN 'diabetes'
            WHEN GROUPING(anticoagulated) = 0 THEN 'anticoagulated'
            WHEN GROUPING(cardiac_device) = 0 THEN 'cardiac_device'
            WHEN GROUPING(knee_prosthesis) = 0 THEN 'knee_prosthesis'
            WHEN GROUPING(protocol) = 0 THEN 'protocol'
            WHEN GROUPING(method) = 0 THEN 'method'
            WHEN GROUPING(sessions_band) = 0 THEN 'sessions_band'
            ELSE 'all'
        END AS dimension,
        CASE
            WHEN GROUPING(clinic_id) = 0 THEN CAST(clinic_id AS TEXT)
            WHEN GROUPING(region) = 0 THEN region
            WHEN GROUPING(cause) = 0 THEN cause
            WHEN GROUPING(severity_band) = 0 THEN severity_band
            WHEN GROUPING(age_band) = 0 THEN age_band
            WHEN GROUPING(sex) = 0 THEN sex
            WHEN GROUPING(diabetes) = 0 THEN CASE WHEN diabetes THEN 'yes' ELSE 'no' END
            WHEN GROUPING(anticoagulated) = 0 THEN CASE WHEN anticoagulated THEN 'yes' ELSE 'no' END
            WHEN GROUPING(cardiac_device) = 0 THEN CASE WHEN cardiac_device THEN 'yes' ELSE 'no' END
            WHEN GROUPING(knee_prosthesis) = 0 THEN CASE WHEN knee_prosthesis THEN 'yes' ELSE 'no' END
            WHEN GROUPING(protocol) = 0 THEN protocol
            WHEN GROUPING(method) = 0 THEN method
            WHEN GROUPING(sessions_band) = 0 THEN CASE sessions_band WHEN 0 THEN '0' WHEN 1 THEN '1-4' WHEN 2 THEN '5-8' WHEN 3 THEN '9-12' ELSE '13+' END
            ELSE 'all'
        END AS level,
        SUM(n) AS n,
        SUM(evaluable) AS evaluable,
        SUM(responders) AS responders,
        SUM(dropped_out) AS dropped_out,
        SUM(completed) AS completed,
        SUM(sessions_planned) AS sessions_planned,
        SUM(sessions_attended) AS sessions_attended,
        SUM(adverse_events) AS adverse_events,
        SUM(pain_n) AS pain_n,
        SUM(pain_sum) AS pain_sum,
        SUM(pain_sumsq) AS pain_sumsq,
        SUM(pain_mic) AS pain_mic,
        SUM(function_n) AS function_n,
        SUM(function_sum) AS function_sum,
        SUM(function_sumsq) AS function_sumsq,
        SUM(function_mic) AS function_mic,
        SUM(inflammation_n) AS inflammation_n,
        SUM(inflammation_sum) AS inflammation_sum,
        SUM(inflammation_sumsq) AS inflammation_sumsq,
        SUM(inflammation_mic) AS inflammation_mic,
        SUM(relaxation_n) AS relaxation_n,
        SUM(relaxation_sum) AS relaxation_sum,
        SUM(relaxation_sumsq) AS relaxation_sumsq,
        SUM(relaxation_mic) AS relaxation_mic,
        SUM(skin_temperature_n) AS skin_temperature_n,
        SUM(skin_temperature_sum) AS skin_temperature_sum,
        SUM(skin_temperature_sumsq) AS skin_temperature_sumsq,
        SUM(skin_temperature_mic) AS skin_temperature_mic
    FROM fine
    GROUP BY GROUPING SETS (
        (), (clinic_id), (region), (cause), (severity_band), (age_band), (sex), (diabetes),
        (anticoagulated), (cardiac_device), (knee_prosthesis), (protocol), (method),
        (sessions_band)
    )
),
r AS (
    SELECT
        g.*,
        CAST(NULLIF(evaluable, 0) AS DOUBLE PRECISION) AS ev,
        CAST(NULLIF(n, 0) AS DOUBLE PRECISION) AS nn,
        CAST(responders AS DOUBLE PRECISION) / NULLIF(evaluable, 0) AS p_resp,
        CAST(dropped_out AS DOUBLE PRECISION) / NULLIF(n, 0) AS p_drop
    FROM g
)
SELECT
    dimension,
    level,
    n,
    evaluable,
    responders,
    p_resp AS responder_rate,
    (p_resp + 1.96 * 1.96 / (2 * ev)
        - 1.96 * SQRT(p_resp * (1 - p_resp) / ev + 1.96 * 1.96 / (4 * ev * ev)))
        / (1 + 1.96 * 1.96 / ev) AS responder_low,
    (p_resp + 1.96 * 1.96 / (2 * ev)
        + 1.96 * SQRT(p_resp * (1 - p_resp) / ev + 1.96 * 1.96 / (4 * ev * ev)))
        / (1 + 1.96 * 1.96 / ev) AS responder_high,
    dropped_out,
    p_drop AS dropout_rate,
    (p_drop + 1.96 * 1.96 / (2 * nn)
        - 1.96 * SQRT(p_drop * (1 - p_drop) / nn + 1.96 * 1.96 / (4 * nn * nn)))
        / (1 + 1.96 * 1.96 / nn) AS dropout_low,
    (p_drop + 1.96 * 1.96 / (2 * nn)
        + 1.96 * SQRT(p_drop * (1 - p_drop) / nn + 1.96 * 1.96 / (4 * nn * nn)))
        / (1 + 1.96 * 1.96 / nn) AS dropout_high,
    completed,
    sessions_planned,
    sessions_attended,
    CAST(sessions_attended AS DOUBLE PRECISION) / NULLIF(sessions_planned, 0) AS adherence,
    adverse_events,
    CAST(1000 * adverse_events AS DOUBLE PRECISION) / NULLIF(sessions_attended, 0)
        AS adverse_events_per_1000,
    pain_n,
    pain_sum / NULLIF(pain_n, 0) AS pain_mean,
    CASE WHEN pain_n > 1 THEN
        SQRT(GREATEST(pain_sumsq - pain_sum * pain_sum / pain_n, 0) / (pain_n - 1))
    END AS pain_sd,
    CASE WHEN pain_n > 1 THEN
        SQRT(GREATEST(pain_sumsq - pain_sum * pain_sum / pain_n, 0) / (pain_n - 1) / pain_n)
    END AS pain_se,
    pain_mic,
    function_n,
    function_sum / NULLIF(function_n, 0) AS function_mean,
    CASE WHEN function_n > 1 THEN
        SQRT(GREATEST(function_sumsq - function_sum * function_sum / function_n, 0) / (function_n - 1))
    END AS function_sd,
    CASE WHEN function_n > 1 THEN
        SQRT(GREATEST(function_sumsq - function_sum * function_sum / function_n, 0) / (function_n - 1) / function_n)
    END AS function_se,
    function_mic,
    inflammation_n,
    inflammation_sum / NULLIF(inflammation_n, 0) AS inflammation_mean,
    CASE WHEN inflammation_n > 1 THEN
        SQRT(GREATEST(inflammation_sumsq - inflammation_sum * inflammation_sum / inflammation_n, 0) / (inflammation_n - 1))
    END AS inflammation_sd,
    CASE WHEN inflammation_n > 1 THEN
        SQRT(GREATEST(inflammation_sumsq - inflammation_sum * inflammation_sum / inflammation_n, 0) / (inflammation_n - 1) / inflammation_n)
    END AS inflammation_se,
    inflammation_mic,
    relaxation_n,
    relaxation_sum / NULLIF(relaxation_n, 0) AS relaxation_mean,
    CASE WHEN relaxation_n > 1 THEN
        SQRT(GREATEST(relaxation_sumsq - relaxation_sum * relaxation_sum / relaxation_n, 0) / (relaxation_n - 1))
    END AS relaxation_sd,
    CASE WHEN relaxation_n > 1 THEN
        SQRT(GREATEST(relaxation_sumsq - relaxation_sum * relaxation_sum / relaxation_n, 0) / (relaxation_n - 1) / relaxation_n)
    END AS relaxation_se,
    relaxation_mic,
    skin_temperature_n,
    skin_temperature_sum / NULLIF(skin_temperature_n, 0) AS skin_temperature_mean,
    CASE WHEN skin_temperature_n > 1 THEN
        SQRT(GREATEST(skin_temperature_sumsq - skin_temperature_sum * skin_temperature_sum / skin_temperature_n, 0) / (skin_temperature_n - 1))
    END AS skin_temperature_sd,
    CASE WHEN skin_temperature_n > 1 THEN
        SQRT(GREATEST(skin_temperature_sumsq - skin_temperature_sum * skin_temperature_sum / skin_temperature_n, 0) / (skin_temperature_n - 1) / skin_temperature_n)
    END AS skin_temperature_se,
    skin_temperature_mic
FROM r
