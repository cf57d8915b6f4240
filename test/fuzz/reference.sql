--
-- test/fuzz/reference.sql: the fuzzer's table, the RFC 7396 reference and the
-- per-batch comparison.  Loaded after sql/setup.sql, which provides the
-- jsonb-to-bytea cast and reference_merge, the plain SQL jsonb_merge.
--

-- one batch of cases at a time, as test/fuzz/gen.py writes them; values
-- over 2 KB are toasted, so the merges also see compressed and external
-- inputs (lz4 only because it is faster than pglz)
CREATE UNLOGGED TABLE fuzz_case (
	id			bigint NOT NULL,
	stored		jsonb COMPRESSION lz4,
	patch		jsonb COMPRESSION lz4
);

-- RFC 7396 section 2: a patch that is not an object replaces the target;
-- otherwise the target (as {} if it is not an object) keeps the names the
-- patch lacks, loses those the patch sets to null, and takes
-- MergePatch(Target[Name], Value) for the others.  SQL NULLs count as {}
-- like in the C code.  Set-based, as a loop of || is quadratic.
CREATE FUNCTION reference_merge_patch(target jsonb, patch jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	patch := coalesce(patch, '{}');
	IF jsonb_typeof(patch) <> 'object' THEN
		RETURN patch::text::jsonb;	-- a copy, not an input that may be compressed
	END IF;
	IF target IS NULL OR jsonb_typeof(target) <> 'object' THEN
		target := '{}';
	END IF;
	RETURN (SELECT coalesce(jsonb_object_agg(name, val), '{}')
			FROM (SELECT t.key, t.value
				  FROM jsonb_each(target) t
				  WHERE NOT patch ? t.key
				  UNION ALL
				  SELECT p.key, reference_merge_patch(target -> p.key, p.value)
				  FROM jsonb_each(patch) p
				  WHERE jsonb_typeof(p.value) <> 'null') AS s(name, val));
END $$;

-- every key of every object in j is found by -> (a binary search, which
-- relies on the keys being sorted) and gives the value iteration gives
CREATE FUNCTION lookups_match(j jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
	WITH RECURSIVE object(value) AS (
		SELECT j WHERE jsonb_typeof(j) = 'object'
		UNION ALL
		SELECT e.value
		FROM object o, jsonb_each(o.value) e
		WHERE jsonb_typeof(e.value) = 'object'
	)
	SELECT coalesce(bool_and(o.value -> e.key IS NOT DISTINCT FROM e.value), true)
	FROM object o, jsonb_each(o.value) e
$$;

-- Both merges and their references for every case in fuzz_case;
-- jsonb_merge only where it accepts the input (its errors are pgTAP's job).
CREATE FUNCTION fuzz_results(OUT fn text, OUT id bigint, OUT got jsonb, OUT expected jsonb)
RETURNS SETOF record LANGUAGE sql AS $$
	SELECT 'jsonb_merge', c.id, user_metadata.jsonb_merge(c.stored, c.patch),
		reference_merge(c.stored, c.patch)
	FROM fuzz_case c
	WHERE coalesce(jsonb_typeof(c.stored), 'null') IN ('object', 'null')
		AND coalesce(jsonb_typeof(c.patch), 'object') = 'object'
	UNION ALL
	SELECT 'jsonb_merge_patch', c.id, user_metadata.jsonb_merge_patch(c.stored, c.patch),
		reference_merge_patch(c.stored, c.patch)
	FROM fuzz_case c
$$;

-- The batch's one query.  Rows: ('tally', fn, check, cases, failures) for
-- every function and check, then ('fail', fn, checks, case id, got <> expected)
-- for the first failing cases.  The big values are compared once per result and
-- not carried further.  got and expected both come out of the tuplestore of
-- fuzz_results, where small values get short varlena headers alike, so their
-- sizes compare the stored form of the value.
CREATE FUNCTION fuzz_check(OUT kind text, OUT fn text, OUT check_name text,
						   OUT n bigint, OUT detail text)
RETURNS SETOF record LANGUAGE sql AS $$
	WITH checked AS (
		SELECT r.fn, r.id, c.ok,
			CASE WHEN true = ALL(c.ok) THEN NULL
				ELSE left(g.text, 200) || ' <> ' || left(r.expected::text, 200) END AS detail
		FROM fuzz_results() r,
			LATERAL (SELECT r.got::text AS text OFFSET 0) g,
			LATERAL (SELECT ARRAY[
				r.got = r.expected,
				g.text = r.expected::text,
				r.got::bytea = r.expected::bytea,
				pg_column_size(r.got) = pg_column_size(r.expected),
				lookups_match(r.got),
				g.text::jsonb = r.got] AS ok) c
	),
	each_check AS (
		SELECT checked.fn, checked.id, e.ok, e.name, e.ord, checked.detail
		FROM checked,
			unnest(checked.ok, ARRAY[	-- in the order of the ok array above
				'value equals the reference',
				'text equals the reference''s',
				'bytes equal the reference''s',
				'pg_column_size equals the reference''s',
				'every key is found by -> with its value',
				'text parses back to the same value'])
			WITH ORDINALITY e(ok, name, ord)
	)
	(SELECT 'tally', fn, name, count(*), count(*) FILTER (WHERE ok IS NOT TRUE)::text
	 FROM each_check GROUP BY fn, name ORDER BY fn, min(ord))
	UNION ALL
	(SELECT 'fail', fn, string_agg(name, '; ' ORDER BY ord), id, min(detail)
	 FROM each_check WHERE ok IS NOT TRUE GROUP BY fn, id ORDER BY id, fn LIMIT 10)
$$;
