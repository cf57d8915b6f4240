--
-- test/bench/merge_memory.sql: 1,000,000 jsonb_merge calls on the 2 KB
-- document in one backend, twice (one query, one plpgsql loop), with the
-- backend's memory from /proc/<pg_backend_pid()>/status around them.
--
-- psql variable: calls.
--
\set ON_ERROR_STOP 1
CREATE TABLE bench.memory (ord serial, step text, rss_kb bigint, anon_kb bigint, hwm_kb bigint);
CREATE FUNCTION bench.note_memory(step text) RETURNS void
LANGUAGE sql AS $$
INSERT INTO bench.memory (step, rss_kb, anon_kb, hwm_kb)
SELECT step, substring(s FROM 'VmRSS:\s*(\d+)')::bigint, substring(s FROM 'RssAnon:\s*(\d+)')::bigint,
	   substring(s FROM 'VmHWM:\s*(\d+)')::bigint
FROM pg_read_file('/proc/' || pg_backend_pid() || '/status') s
$$;

-- warm-up: load the libraries and caches the measured part will use
WITH d AS MATERIALIZED (SELECT doc::jsonb AS a, patch::jsonb AS b FROM bench.input WHERE name = '2 KB')
SELECT sum(pg_column_size(user_metadata.jsonb_merge(a, b))) FROM d CROSS JOIN generate_series(1, 1000) \g /dev/null
SELECT bench.note_memory('after a warm-up of 1,000 merges') \g /dev/null

WITH d AS MATERIALIZED (SELECT doc::jsonb AS a, patch::jsonb AS b FROM bench.input WHERE name = '2 KB')
SELECT sum(pg_column_size(user_metadata.jsonb_merge(a, b))) FROM d CROSS JOIN generate_series(1, :calls) \g /dev/null
SELECT bench.note_memory(format('after %s merges in one query', to_char(:calls, 'FM9,999,999,999'))) \g /dev/null

-- psql does not substitute inside dollar quotes: pass calls as a setting
SET bench.calls = :calls;
DO $$
DECLARE
	a jsonb;
	b jsonb;
	r jsonb;
BEGIN
	SELECT doc::jsonb, patch::jsonb INTO a, b FROM bench.input WHERE name = '2 KB';
	FOR i IN 1..current_setting('bench.calls')::int LOOP
		r := user_metadata.jsonb_merge(a, b);
	END LOOP;
END
$$;
SELECT bench.note_memory(format('after %s more in a plpgsql loop', to_char(:calls, 'FM9,999,999,999'))) \g /dev/null
