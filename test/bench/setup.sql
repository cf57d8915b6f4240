--
-- test/bench/setup.sql: inputs, contenders and harness of the benchmark, in
-- schema bench of a throwaway database; the results tables of both parts.
--
-- psql variables: rows_100b, rows_2k, rows_190k (rows of each stored table:
-- every row is a separate stored copy, so each read detoasts its own value).
--
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION user_metadata;
CREATE EXTENSION pg_prewarm;
CREATE SCHEMA bench;

-- A deterministic document of nkeys root keys, nested objects and arrays.
-- Its strings draw words from a small vocabulary, so it compresses about
-- like real JSON (neither random bytes nor one repeated phrase).
CREATE FUNCTION bench.make_doc(nkeys int, nwords int) RETURNS jsonb
LANGUAGE sql AS $$
SELECT jsonb_object_agg(format('key_%s', lpad(i::text, 3, '0')),
	CASE i % 4
	WHEN 0 THEN to_jsonb(tok || ' ' || txt)
	WHEN 1 THEN jsonb_build_object('enabled', i % 2 = 0, 'level', i, 'note', txt, 'token', tok,
								   'seen', jsonb_build_array('2024-05-01T10:00:00Z', '2024-06-01T10:00:00Z'))
	WHEN 2 THEN jsonb_build_array(i, i * 2.5, 'item-' || i, txt, jsonb_build_object('id', i, 'ok', true, 'token', tok))
	ELSE jsonb_build_object('tags', jsonb_build_array('alpha', 'beta', 'gamma'), 'score', i * 1.25,
							'meta', jsonb_build_object('source', 'web', 'text', txt, 'token', tok))
	END)
FROM generate_series(1, nkeys) i,
	LATERAL (SELECT left(md5(i::text), 16) AS tok,
					(SELECT string_agg((ARRAY['the', 'user', 'prefers', 'dark', 'light', 'mode', 'email', 'sms',
											  'weekly', 'daily', 'digest', 'billing', 'plan', 'team', 'admin',
											  'viewer', 'editor', 'beta', 'feature', 'flag', 'onboarding', 'step',
											  'done', 'skipped', 'region', 'eu', 'us', 'locale', 'en', 'de', 'fr',
											  'timezone'])[get_byte(decode(md5(i || '/' || j), 'hex'), 0) % 32 + 1], ' ')
					 FROM generate_series(1, nwords) j) AS txt) s
$$;

-- Inputs as text, so that every query parses a fresh in-memory value.
-- Each patch sets one existing key, removes one existing key (null) and
-- adds one new key.
CREATE TABLE bench.input (ord int, name text PRIMARY KEY, doc text, patch text);
INSERT INTO bench.input VALUES
	(1, '100 B', '{"theme": "dark", "lang": "en-US", "tz": "Europe/Berlin", "beta": true, "visits": 42}',
	 '{"theme": "light", "beta": null, "plan": "pro"}'),
	(2, '2 KB', bench.make_doc(20, 1)::text,
	 '{"key_001": {"enabled": true, "level": 2}, "key_003": null, "zz_new": [1, 2, 3]}'),
	(3, '190 KB', bench.make_doc(500, 45)::text,
	 '{"key_001": {"enabled": true, "level": 2}, "key_003": null, "zz_new": [1, 2, 3]}');

-- The floor: detoast both, allocate, copy the stored bytes (test/bench/floor)
CREATE FUNCTION bench.floor_copy(stored jsonb, patch jsonb) RETURNS jsonb
AS '$libdir/bench_floor', 'floor_copy' LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- The usual plpgsql merge: one || per set key, one - per null key
CREATE FUNCTION bench.merge_plpgsql(stored jsonb, patch jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
	k text;
	v jsonb;
BEGIN
	FOR k, v IN SELECT * FROM jsonb_each(patch) LOOP
		IF jsonb_typeof(v) = 'null' THEN
			stored := stored - k;
		ELSE
			stored := stored || jsonb_build_object(k, v);
		END IF;
	END LOOP;
	RETURN stored;
END
$$;

-- Contenders are expressions over a (stored) and b (patch), both columns,
-- so nothing can be folded to a constant or hoisted into an InitPlan.
-- exact: whether its result must equal jsonb_merge's on these inputs.
CREATE TABLE bench.contender (ord int, name text PRIMARY KEY, expr text, exact bool);
INSERT INTO bench.contender VALUES
	(0, 'loop', 'a', NULL),
	(1, 'floor (C copy)', 'bench.floor_copy(a, b)', NULL),
	(2, 'jsonb_merge', 'user_metadata.jsonb_merge(a, b)', true),
	(3, 'a || b', 'a || b', false),
	(4, '(a || b) - null keys', '(a || b) - ARRAY(SELECT key FROM jsonb_each(b) WHERE value = ''null'')', true),
	(5, 'jsonb_each + jsonb_object_agg',
	 '(SELECT coalesce(jsonb_object_agg(key, value), ''{}'') FROM (SELECT key, value FROM jsonb_each(a) WHERE NOT b ? key'
	 ' UNION ALL SELECT key, value FROM jsonb_each(b) WHERE value <> ''null'') s)', true),
	(6, 'plpgsql', 'bench.merge_plpgsql(a, b)', true);

-- Stored copies: one table per input and storage choice
CREATE TABLE bench.t_100b (doc jsonb);
CREATE TABLE bench.t_2k_pglz (doc jsonb);
CREATE TABLE bench.t_2k_lz4 (doc jsonb COMPRESSION lz4);
CREATE TABLE bench.t_2k_ext (doc jsonb);
ALTER TABLE bench.t_2k_ext ALTER COLUMN doc SET STORAGE EXTERNAL;
CREATE TABLE bench.t_190k_pglz (doc jsonb);
CREATE TABLE bench.t_190k_lz4 (doc jsonb COMPRESSION lz4);
CREATE TABLE bench.t_190k_ext (doc jsonb);
ALTER TABLE bench.t_190k_ext ALTER COLUMN doc SET STORAGE EXTERNAL;
INSERT INTO bench.t_100b SELECT doc::jsonb FROM bench.input, generate_series(1, :rows_100b) WHERE name = '100 B';
INSERT INTO bench.t_2k_pglz SELECT doc::jsonb FROM bench.input, generate_series(1, :rows_2k) WHERE name = '2 KB';
INSERT INTO bench.t_2k_lz4 SELECT doc::jsonb FROM bench.input, generate_series(1, :rows_2k) WHERE name = '2 KB';
INSERT INTO bench.t_2k_ext SELECT doc::jsonb FROM bench.input, generate_series(1, :rows_2k) WHERE name = '2 KB';
INSERT INTO bench.t_190k_pglz SELECT doc::jsonb FROM bench.input, generate_series(1, :rows_190k) WHERE name = '190 KB';
INSERT INTO bench.t_190k_lz4 SELECT doc::jsonb FROM bench.input, generate_series(1, :rows_190k) WHERE name = '190 KB';
INSERT INTO bench.t_190k_ext SELECT doc::jsonb FROM bench.input, generate_series(1, :rows_190k) WHERE name = '190 KB';
VACUUM ANALYZE;
SELECT pg_prewarm(oid) FROM pg_class
WHERE relnamespace = 'bench'::regnamespace AND relkind = 'r'
   OR oid IN (SELECT reltoastrelid FROM pg_class WHERE relnamespace = 'bench'::regnamespace) \g /dev/null

-- Where a and b come from.  from_sql is a FROM item yielding n rows (%s).
-- In memory: the parsed values sit in a materialized CTE, read by reference.
-- From a table: a is read (and detoasted by the contender) row by row; the
-- patch still comes from a CTE.
CREATE TABLE bench.source (ord int, setting text, input text, tbl regclass, max_n bigint, from_sql text,
						   PRIMARY KEY (setting, input));
INSERT INTO bench.source
SELECT i.ord, 'in memory', i.name, NULL, NULL,
	   format('(WITH d AS MATERIALIZED (SELECT doc::jsonb AS a, patch::jsonb AS b FROM bench.input WHERE name = %L)'
			  ' SELECT a, b FROM d CROSS JOIN generate_series(1, %%s)) s', i.name)
FROM bench.input i;
INSERT INTO bench.source
SELECT 10 * s.ord + i.ord, s.setting, i.name, s.tbl, s.max_n,
	   format('(WITH p AS MATERIALIZED (SELECT patch::jsonb AS b FROM bench.input WHERE name = %L)'
			  ' SELECT t.doc AS a, p.b FROM (SELECT doc FROM %s LIMIT %%s) t CROSS JOIN p) s', i.name, s.tbl)
FROM (VALUES (1, 'table, pglz (default)', '100 B', 'bench.t_100b'::regclass, :rows_100b),
			 (1, 'table, pglz (default)', '2 KB', 'bench.t_2k_pglz', :rows_2k),
			 (2, 'table, lz4', '2 KB', 'bench.t_2k_lz4', :rows_2k),
			 (3, 'table, external (no compression)', '2 KB', 'bench.t_2k_ext', :rows_2k),
			 (1, 'table, pglz (default)', '190 KB', 'bench.t_190k_pglz', :rows_190k),
			 (2, 'table, lz4', '190 KB', 'bench.t_190k_lz4', :rows_190k),
			 (3, 'table, external (no compression)', '190 KB', 'bench.t_190k_ext', :rows_190k))
	 s (ord, setting, input, tbl, max_n)
JOIN bench.input i ON i.name = s.input;

-- What each table keeps per row: pg_column_size does not detoast
CREATE TABLE bench.stored (setting text, input text, bytes numeric, compression text);
DO $$
DECLARE
	src bench.source;
BEGIN
	FOR src IN SELECT * FROM bench.source WHERE tbl IS NOT NULL LOOP
		EXECUTE format('INSERT INTO bench.stored SELECT %L, %L, round(avg(pg_column_size(doc))),'
					   ' max(pg_column_compression(doc)) FROM %s', src.setting, src.input, src.tbl);
	END LOOP;
END
$$;

-- The timed query: sum(pg_column_size(...)) needs every result value, so
-- the contender runs once per row and its output is consumed.
CREATE FUNCTION bench.query(src bench.source, c bench.contender, n bigint) RETURNS text
LANGUAGE sql AS $$ SELECT format('SELECT sum(pg_column_size(%s)) FROM %s', c.expr, format(src.from_sql, n)) $$;

-- One run of q: its wall time, the backend's CPU time (bench_clock, see
-- test/bench/floor), and from /proc/self/schedstat the time the backend was
-- ready to run but waited for a core.  Results use the CPU time: on a
-- machine that others share it barely moves when they take the cores, wall
-- time does.
CREATE FUNCTION bench.cpu_ns() RETURNS bigint
AS '$libdir/bench_clock', 'cpu_ns' LANGUAGE C VOLATILE;

CREATE FUNCTION bench.wait_ns() RETURNS bigint
LANGUAGE sql AS $$ SELECT split_part(pg_read_file('/proc/self/schedstat'), ' ', 2)::bigint $$;

CREATE FUNCTION bench.time_run(q text, OUT wall_ms float8, OUT cpu_ms float8, OUT wait_ms float8)
LANGUAGE plpgsql AS $$
DECLARE
	w0 bigint := bench.wait_ns();
	t0 timestamptz := clock_timestamp();
	c0 bigint := bench.cpu_ns();
BEGIN
	EXECUTE q;
	cpu_ms := (bench.cpu_ns() - c0) / 1e6;
	wall_ms := 1000 * extract(epoch FROM clock_timestamp() - t0);
	wait_ms := (bench.wait_ns() - w0) / 1e6;
END
$$;

CREATE TABLE bench.plan (setting text, input text, contender text, n bigint, PRIMARY KEY (setting, input, contender));
CREATE TABLE bench.merge_run (setting text, input text, contender text, n bigint, rep int,
							  wall_ms float8, cpu_ms float8, wait_ms float8);
CREATE TABLE bench.check_result (setting text, input text, contender text, n bigint, calls bigint, agrees bool);

-- Pick each case's n so that one run takes about target_ms: grow n until a
-- run takes a tenth of that, then scale (a table caps n at its row count).
CREATE PROCEDURE bench.calibrate(target_ms float8)
LANGUAGE plpgsql AS $$
DECLARE
	src bench.source;
	c bench.contender;
	n bigint;
	ms float8;
BEGIN
	FOR src IN SELECT * FROM bench.source ORDER BY input, ord LOOP
		FOR c IN SELECT * FROM bench.contender ORDER BY ord LOOP
			n := 16;
			LOOP
				ms := (bench.time_run(bench.query(src, c, n))).cpu_ms;
				EXIT WHEN ms >= target_ms / 10 OR n >= src.max_n;
				n := n * 4;
			END LOOP;
			n := greatest(1, least(src.max_n, round(n * target_ms / ms)));
			INSERT INTO bench.plan VALUES (src.setting, src.input, c.name, n);
		END LOOP;
		COMMIT;
	END LOOP;
END
$$;

-- Every case once per repetition, interleaved, so drift hits all alike
CREATE PROCEDURE bench.measure(reps int)
LANGUAGE plpgsql AS $$
DECLARE
	src bench.source;
	c bench.contender;
	n bigint;
BEGIN
	FOR rep IN 1..reps LOOP
		FOR src IN SELECT * FROM bench.source ORDER BY input, ord LOOP
			FOR c IN SELECT * FROM bench.contender ORDER BY ord LOOP
				SELECT p.n INTO n FROM bench.plan p
				WHERE (p.setting, p.input, p.contender) = (src.setting, src.input, c.name);
				INSERT INTO bench.merge_run
				SELECT src.setting, src.input, c.name, n, rep, t.* FROM bench.time_run(bench.query(src, c, n)) t;
			END LOOP;
			COMMIT;
		END LOOP;
		RAISE NOTICE 'merge: repetition % of % done', rep, reps;
	END LOOP;
END
$$;

-- Proof that each query calls the contender once per row (track_functions
-- counts C and plpgsql calls; operators are not counted) and that the exact
-- contenders agree with jsonb_merge.
CREATE PROCEDURE bench.check(n_calls bigint)
LANGUAGE plpgsql AS $$
DECLARE
	src bench.source;
	c bench.contender;
	fn text;
	n bigint;
	calls0 bigint;
	calls1 bigint;
	same bool;
BEGIN
	SET LOCAL track_functions = 'all';
	FOR src IN SELECT * FROM bench.source ORDER BY input, ord LOOP
		n := least(n_calls, coalesce(src.max_n, n_calls));
		FOR c IN SELECT * FROM bench.contender WHERE name <> 'loop' ORDER BY ord LOOP
			fn := substring(c.expr FROM '^[a-z_]+\.([a-z_]+)\(');
			calls0 := (SELECT sum(s.calls) FROM pg_stat_xact_user_functions s WHERE s.funcname = fn);
			PERFORM bench.time_run(bench.query(src, c, n));
			calls1 := (SELECT sum(s.calls) FROM pg_stat_xact_user_functions s WHERE s.funcname = fn);
			same := NULL;
			IF c.exact IS NOT NULL THEN
				EXECUTE format('SELECT bool_and((%s) = user_metadata.jsonb_merge(a, b)) FROM %s',
							   c.expr, format(src.from_sql, 1)) INTO same;
			END IF;
			INSERT INTO bench.check_result
			VALUES (src.setting, src.input, c.name, n, calls1 - coalesce(calls0, 0), same);
		END LOOP;
	END LOOP;
END
$$;

-- Medians of CPU time per case; us is per call with the loop's own per-row cost taken
-- off (for the loop itself: its raw per-row cost); merge_us is jsonb_merge's
-- us on the same source, for ratios.
CREATE VIEW bench.result AS
WITH med AS (
	SELECT setting, input, contender, n, count(*) AS reps,
		   percentile_cont(0.5) WITHIN GROUP (ORDER BY cpu_ms) AS ms, min(cpu_ms) AS min_ms, max(cpu_ms) AS max_ms,
		   percentile_cont(0.5) WITHIN GROUP (ORDER BY wall_ms) AS wall_ms, sum(wait_ms) / sum(wall_ms) AS wait_share
	FROM bench.merge_run GROUP BY setting, input, contender, n
), net AS (
	SELECT m.*, c.ord AS contender_ord, (m.max_ms - m.min_ms) / m.ms AS spread, 1000 * m.ms / m.n AS raw_us,
		   CASE WHEN m.contender = 'loop' THEN 1000 * m.ms / m.n ELSE 1000 * m.ms / m.n - 1000 * l.ms / l.n END AS us
	FROM med m
	JOIN med l ON (l.setting, l.input, l.contender) = (m.setting, m.input, 'loop')
	JOIN bench.contender c ON c.name = m.contender
)
SELECT net.*, max(us) FILTER (WHERE contender = 'jsonb_merge') OVER (PARTITION BY setting, input) AS merge_us
FROM net;

-- Three significant digits, enough for medians whose spread is a few percent
CREATE FUNCTION bench.fmt(x float8) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
SELECT CASE WHEN x IS NULL THEN '–'
			WHEN abs(x) >= 100 THEN to_char(round(x), 'FM999,999,990')
			WHEN abs(x) >= 10 THEN to_char(x, 'FM990.0')
			WHEN abs(x) >= 1 THEN to_char(x, 'FM0.00')
			ELSE to_char(x, 'FM0.000') END
$$;

-- Upsert part: one row per pgbench run (filled in by test/bench/run)
CREATE TABLE bench.upsert_contender (ord int, name text PRIMARY KEY, script text);
INSERT INTO bench.upsert_contender VALUES
	(1, 'update_user_metadata', 'update_user_metadata'),
	(2, 'read-lock-write (client merge)', 'read_lock_write'),
	(3, 'SQL upsert with ||', 'sql_upsert'),
	(4, 'plain UPDATE (floor)', 'plain_update'),
	(5, 'plain UPDATE … RETURNING (floor returning the document)', 'plain_update_returning');
CREATE TABLE bench.upsert_run (fsync text, contender text, users int, clients int, rep int, seconds int,
							   tps float8, latency_ms float8, transactions bigint, failed bigint, foreign_pct float8,
							   attempts int, cpu_s float8);
