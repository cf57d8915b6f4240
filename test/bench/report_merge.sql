--
-- test/bench/report_merge.sql: the merge sections of results.md (markdown on
-- stdout) and the chart data merge_mem.dat and merge_table.dat.
--
-- psql variables: datdir (where the .dat files go), calls (of the memory test).
--
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset footer off

-- Column order and labels: inputs in size order, then storage choices
CREATE TEMP VIEW col AS
SELECT s.setting, s.input, row_number() OVER (ORDER BY i.ord, s.ord) AS pos,
	   CASE WHEN s.setting = 'in memory' THEN s.input
			ELSE s.input || ' ' || split_part(split_part(s.setting, ', ', 2), ' ', 1) END AS label
FROM bench.source s JOIN bench.input i ON i.name = s.input;

-- One markdown table: a row per contender (but those in skip), a column per
-- source of the in-memory or the from-table setting; cell is an SQL
-- expression over bench.result r.
CREATE FUNCTION pg_temp.md_table(mem bool, cell text, skip text[] DEFAULT '{}') RETURNS SETOF text
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY
	SELECT '| contender | ' || string_agg(label, ' | ' ORDER BY pos) || E' |\n|---|'
		   || string_agg('---:', '|') || '|'
	FROM col WHERE (setting = 'in memory') = mem;
	RETURN QUERY EXECUTE format(
		'SELECT ''| '' || CASE WHEN r.contender = ''loop'' THEN ''loop itself (subtracted from the rows below)'''
		' ELSE replace(r.contender, ''|'', ''\|'') END'
		' || '' | '' || string_agg(%s, '' | '' ORDER BY c.pos) || '' |'''
		' FROM bench.result r JOIN col c USING (setting, input)'
		' WHERE (r.setting = ''in memory'') = %L AND r.contender <> ALL (%L)'
		' GROUP BY r.contender, r.contender_ord ORDER BY r.contender_ord', cell, mem, skip);
END
$$;

\qecho '### Inputs'
\qecho
\qecho 'Each patch has 3 root keys: one replaces a stored key, one is `null` for a stored key (so it is removed), one is new. "Stored per row" is `pg_column_size` of the value as the table keeps it (inline or in TOAST, compressed or not).'
\qecho
\qecho '| input | root keys | JSON text, bytes | jsonb, bytes | stored per row: pglz (default) | lz4 | external |'
\qecho '|---|---:|---:|---:|---:|---:|---:|'
SELECT format('| %s | %s | %s | %s | %s |', i.name, (SELECT count(*) FROM jsonb_object_keys(i.doc::jsonb)),
			  octet_length(i.doc::jsonb::text), pg_column_size(i.doc::jsonb),
			  string_agg(format('%s (%s)', st.bytes, coalesce(st.compression, 'not compressed')), ' | '
						 ORDER BY s.ord))
FROM bench.input i
JOIN bench.source s ON s.input = i.name AND s.tbl IS NOT NULL
JOIN bench.stored st USING (setting, input)
GROUP BY i.ord, i.name, i.doc
ORDER BY i.ord;
\qecho
\qecho 'The 100 B input is only stored with the default: values that small are never compressed or moved to TOAST.'
\qecho
\qecho '### In memory: µs per call'
\qecho
SELECT pg_temp.md_table(true, 'bench.fmt(r.us)');
\qecho
\qecho '### In memory: time per call relative to jsonb_merge'
\qecho
SELECT pg_temp.md_table(true, '''×'' || bench.fmt(r.us / r.merge_us)', '{loop,jsonb_merge}');
\qecho
\qecho '### From a table: µs per call, detoasting included'
\qecho
\qecho 'Each row is a separate stored document, read by a sequential scan of a table held in shared buffers; the loop only reads the stored (possibly still compressed or external) value, so reading the rows is subtracted but detoasting is not: every contender pays it.'
\qecho
SELECT pg_temp.md_table(false, 'bench.fmt(r.us)');
\qecho
\qecho '### From a table: time per call relative to jsonb_merge'
\qecho
SELECT pg_temp.md_table(false, '''×'' || bench.fmt(r.us / r.merge_us)', '{loop,jsonb_merge}');
\qecho

\qecho '### Targets (in memory)'
\qecho
\qecho '| target | measured | met |'
\qecho '|---|---:|---|'
SELECT format('| jsonb_merge ≥ 30× faster than `a \|\| b` on the 2 KB document | %s× | %s |',
			  bench.fmt(us / merge_us), CASE WHEN us / merge_us >= 30 THEN 'yes' ELSE '**no**' END)
FROM bench.result WHERE setting = 'in memory' AND input = '2 KB' AND contender = 'a || b';
SELECT format('| jsonb_merge ≤ 2× the floor on the 190 KB document | %s× | %s |',
			  bench.fmt(merge_us / us), CASE WHEN merge_us / us <= 2 THEN 'yes' ELSE '**no**' END)
FROM bench.result WHERE setting = 'in memory' AND input = '190 KB' AND contender = 'floor (C copy)';
\qecho
\qecho '### Checks'
\qecho
SELECT format('- Evaluated once per row: with `track_functions = all`, the calls counted for the function contenders (floor, jsonb_merge, plpgsql) equal the rows read in %s of %s cases%s. The operator and SQL contenders run in the same query shape.',
			  count(*) FILTER (WHERE calls = n), count(*),
			  coalesce(': mismatches ' || string_agg(format('%s/%s/%s: %s calls for %s rows', setting, input, contender, calls, n), '; ')
					   FILTER (WHERE calls IS DISTINCT FROM n), ''))
FROM bench.check_result WHERE calls IS NOT NULL;
SELECT format('- Same result as jsonb_merge (jsonb `=`) for the exact contenders in %s of %s cases%s; `a || b` differs in %s of %s (it keeps the `null` key, as expected).',
			  count(*) FILTER (WHERE agrees AND contender <> 'a || b'), count(*) FILTER (WHERE contender <> 'a || b'),
			  coalesce(': mismatches ' || string_agg(format('%s/%s/%s', setting, input, contender), '; ')
					   FILTER (WHERE NOT agrees AND contender <> 'a || b'), ''),
			  count(*) FILTER (WHERE NOT agrees AND contender = 'a || b'), count(*) FILTER (WHERE contender = 'a || b'))
FROM bench.check_result WHERE agrees IS NOT NULL;
\qecho
\qecho '### Memory: one backend, 2 KB document'
\qecho
\qecho 'From `/proc/<pg_backend_pid()>/status` of the backend doing the merges. RssAnon is its private memory; VmRSS also counts the shared buffers it touched.'
\qecho
\qecho '| step | VmRSS, kB | RssAnon, kB | peak VmHWM, kB |'
\qecho '|---|---:|---:|---:|'
SELECT format('| %s | %s | %s | %s |', step, rss_kb, anon_kb, hwm_kb) FROM bench.memory ORDER BY ord;
\qecho
SELECT format('Growth over all %s merges: VmRSS %s kB, RssAnon %s kB.', to_char(2 * :calls, 'FM9,999,999,999'),
			  last.rss_kb - first.rss_kb, last.anon_kb - first.anon_kb)
FROM (SELECT * FROM bench.memory ORDER BY ord LIMIT 1) first, (SELECT * FROM bench.memory ORDER BY ord DESC LIMIT 1) last;
\qecho
\qecho '<details><summary>Every merge case: rows per run, run time, spread</summary>'
\qecho
\qecho 'CPU is the backend''s on-CPU time per run (what the tables use), wall the elapsed time, waiting the share of wall time the backend was ready to run but had no core (other processes had them). Spread is (slowest − fastest CPU time) / median; raw is per row before the loop is subtracted.'
\qecho
\qecho '| setting | input | contender | rows per run | runs | median CPU, ms | median wall, ms | waiting | spread | raw µs per row | µs per call |'
\qecho '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|'
SELECT format('| %s | %s | %s | %s | %s | %s | %s | %s%% | %s%% | %s | %s |', r.setting, r.input, replace(r.contender, '|', '\|'),
			  r.n, r.reps, bench.fmt(r.ms), bench.fmt(r.wall_ms), round((100 * r.wait_share)::numeric, 1),
			  round((100 * r.spread)::numeric, 1), bench.fmt(r.raw_us), bench.fmt(r.us))
FROM bench.result r JOIN col c USING (setting, input)
ORDER BY c.pos, r.contender_ord;
\qecho
\qecho '</details>'
\qecho

-- Chart data: a row per source, a column per contender (but the loop)
\pset fieldsep '\t'
\o :datdir/merge_mem.dat
SELECT 'source', string_agg(format('"%s"', name), E'\t' ORDER BY ord) FROM bench.contender WHERE name <> 'loop';
SELECT format('"%s"', c.label), string_agg(CASE WHEN r.us > 0 THEN r.us::text ELSE 'NaN' END, E'\t'
										   ORDER BY r.contender_ord)
FROM bench.result r JOIN col c USING (setting, input)
WHERE r.setting = 'in memory' AND r.contender <> 'loop'
GROUP BY c.label, c.pos ORDER BY c.pos;
\o :datdir/merge_table.dat
SELECT 'source', string_agg(format('"%s"', name), E'\t' ORDER BY ord) FROM bench.contender WHERE name <> 'loop';
SELECT format('"%s"', c.label), string_agg(CASE WHEN r.us > 0 THEN r.us::text ELSE 'NaN' END, E'\t'
										   ORDER BY r.contender_ord)
FROM bench.result r JOIN col c USING (setting, input)
WHERE r.setting <> 'in memory' AND r.contender <> 'loop'
GROUP BY c.label, c.pos ORDER BY c.pos;
\o
