--
-- test/bench/report_upsert.sql: the upsert sections of results.md (markdown
-- on stdout) and the chart data upsert_uniform.dat and upsert_hot.dat.
--
-- psql variables: datdir (where the .dat files go), users (of the uniform
-- case; the hot case has 1).
--
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset footer off

-- Median TPS per case
CREATE TEMP VIEW med AS
SELECT r.fsync, r.contender, c.ord, r.users, r.clients, count(*) AS runs,
	   percentile_cont(0.5) WITHIN GROUP (ORDER BY r.tps) AS tps, min(r.tps) AS min_tps, max(r.tps) AS max_tps,
	   percentile_cont(0.5) WITHIN GROUP (ORDER BY r.latency_ms) AS latency_ms, sum(r.failed) AS failed,
	   percentile_cont(0.5) WITHIN GROUP (ORDER BY r.foreign_pct) AS foreign_pct, sum(r.attempts - 1) AS redone,
	   percentile_cont(0.5) WITHIN GROUP (ORDER BY 1e6 * r.cpu_s / r.transactions) AS cpu_us
FROM bench.upsert_run r JOIN bench.upsert_contender c ON c.name = r.contender
GROUP BY r.fsync, r.contender, c.ord, r.users, r.clients;

-- update_user_metadata against read-lock-write and against the plain UPDATE,
-- by TPS and by the CPU each transaction costs (the other's ÷ ours)
CREATE TEMP VIEW ratio AS
SELECT p.fsync, p.users, p.clients, p.tps / w.tps AS vs_rlw, p.tps / f.tps AS vs_floor,
	   w.cpu_us / p.cpu_us AS cpu_vs_rlw, f.cpu_us / p.cpu_us AS cpu_vs_floor,
	   p.tps / r.tps AS vs_returning, r.cpu_us / p.cpu_us AS cpu_vs_returning
FROM med p
JOIN med w ON (w.fsync, w.users, w.clients, w.contender) = (p.fsync, p.users, p.clients, 'read-lock-write (client merge)')
JOIN med f ON (f.fsync, f.users, f.clients, f.contender) = (p.fsync, p.users, p.clients, 'plain UPDATE (floor)')
LEFT JOIN med r ON (r.fsync, r.users, r.clients, r.contender) = (p.fsync, p.users, p.clients, 'plain UPDATE … RETURNING (floor returning the document)')
WHERE p.contender = 'update_user_metadata';

CREATE FUNCTION pg_temp.clients_header(first text, f text) RETURNS text
LANGUAGE sql AS $$
SELECT format('| %s | %s |', first, string_agg(clients || CASE clients WHEN 1 THEN ' client' ELSE ' clients' END, ' | ' ORDER BY clients))
	   || E'\n|---|' || string_agg('---:|', '')
FROM (SELECT DISTINCT clients FROM med WHERE fsync = f) d
$$;

-- A row per contender, a column per client count; cell is an expression over med
CREATE FUNCTION pg_temp.med_table(f text, u int, cell text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
BEGIN
	RETURN NEXT pg_temp.clients_header('contender', f);
	RETURN QUERY EXECUTE format(
		'SELECT format(''| %%s | %%s |'', replace(contender, ''|'', ''\|''), string_agg(%s, '' | '' ORDER BY clients))'
		' FROM med WHERE fsync = %L AND users = %s GROUP BY contender, ord ORDER BY ord', cell, f, u);
END
$$;

SELECT format('During the runs that count, other processes used a median %s%% (at most %s%%) of the machine''s CPU; %s of %s runs were redone for being disturbed. The machine''s tick counts (/proc/stat) and the processes'' own CPU times are kept by different kernel clocks, so shares within a few percent of zero, negative ones too, mean no other load.',
			  round(percentile_cont(0.5) WITHIN GROUP (ORDER BY foreign_pct)::numeric, 1), round(max(foreign_pct)::numeric, 1),
			  sum(sign(attempts - 1)), count(*))
FROM bench.upsert_run;
\qecho
SELECT format('### TPS, %s users, uniform (median of %s runs)', to_char(:users, 'FM999,999'), max(runs))
FROM med WHERE fsync = 'off' AND users = :users;
\qecho
SELECT pg_temp.med_table('off', :users, 'to_char(round(tps), ''FM999,990'')');
\qecho
SELECT format('### TPS, one hot user (median of %s runs)', max(runs)) FROM med WHERE fsync = 'off' AND users = 1;
\qecho
SELECT pg_temp.med_table('off', 1, 'to_char(round(tps), ''FM999,990'')');
\qecho
\qecho '### CPU per transaction, µs (servers and pgbench together, median)'
\qecho
\qecho 'What a transaction costs in CPU time of our processes, however busy the machine was: TPS drops when other processes take the cores, this does not (much). On these 2 cores, a CPU-bound run does at most 2,000,000 / (µs per transaction) TPS.'
\qecho
SELECT format('%s users, uniform:', to_char(:users, 'FM999,999'));
\qecho
SELECT pg_temp.med_table('off', :users, 'bench.fmt(cpu_us)');
\qecho
\qecho 'One hot user:'
\qecho
SELECT pg_temp.med_table('off', 1, 'bench.fmt(cpu_us)');
\qecho
\qecho '### update_user_metadata relative to the others (TPS and CPU-cost ratios)'
\qecho
SELECT pg_temp.clients_header('ratio', 'off');
SELECT format('| ÷ read-lock-write, %s | %s |', CASE WHEN users = 1 THEN 'hot user' ELSE to_char(users, 'FM999,999') || ' users' END,
			  string_agg(bench.fmt(vs_rlw) || '×', ' | ' ORDER BY clients))
FROM ratio WHERE fsync = 'off' GROUP BY users ORDER BY users DESC;
SELECT format('| ÷ plain UPDATE, %s | %s |', CASE WHEN users = 1 THEN 'hot user' ELSE to_char(users, 'FM999,999') || ' users' END,
			  string_agg(bench.fmt(vs_floor) || '×', ' | ' ORDER BY clients))
FROM ratio WHERE fsync = 'off' GROUP BY users ORDER BY users DESC;
SELECT format('| ÷ plain UPDATE … RETURNING, %s | %s |', CASE WHEN users = 1 THEN 'hot user' ELSE to_char(users, 'FM999,999') || ' users' END,
			  string_agg(bench.fmt(vs_returning) || '×', ' | ' ORDER BY clients))
FROM ratio WHERE fsync = 'off' AND vs_returning IS NOT NULL GROUP BY users ORDER BY users DESC;
SELECT format('| CPU per transaction of read-lock-write ÷ ours, %s | %s |', CASE WHEN users = 1 THEN 'hot user' ELSE to_char(users, 'FM999,999') || ' users' END,
			  string_agg(bench.fmt(cpu_vs_rlw) || '×', ' | ' ORDER BY clients))
FROM ratio WHERE fsync = 'off' GROUP BY users ORDER BY users DESC;
SELECT format('| CPU per transaction of plain UPDATE ÷ ours, %s | %s |', CASE WHEN users = 1 THEN 'hot user' ELSE to_char(users, 'FM999,999') || ' users' END,
			  string_agg(bench.fmt(cpu_vs_floor) || '×', ' | ' ORDER BY clients))
FROM ratio WHERE fsync = 'off' GROUP BY users ORDER BY users DESC;
\qecho
\qecho '### Targets (8 clients)'
\qecho
\qecho 'Met or not by TPS, as the targets are stated; the CPU-cost ratio (the other contender''s CPU per transaction ÷ ours) is the same comparison with the machine''s other load taken out.'
\qecho
\qecho '| target | workload | by TPS | met | by CPU per transaction |'
\qecho '|---|---|---:|---|---:|'
SELECT format('| update_user_metadata ≥ 2× read-lock-write | %s | %s× | %s | %s× |',
			  CASE WHEN users = 1 THEN 'hot user' ELSE to_char(users, 'FM999,999') || ' users' END,
			  bench.fmt(vs_rlw), CASE WHEN vs_rlw >= 2 THEN 'yes' ELSE '**no**' END, bench.fmt(cpu_vs_rlw))
FROM ratio WHERE fsync = 'off' AND clients = 8 ORDER BY users DESC;
SELECT format('| update_user_metadata ≥ 0.9× plain UPDATE | %s | %s× | %s | %s× |',
			  CASE WHEN users = 1 THEN 'hot user' ELSE to_char(users, 'FM999,999') || ' users' END,
			  bench.fmt(vs_floor), CASE WHEN vs_floor >= 0.9 THEN 'yes' ELSE '**no**' END, bench.fmt(cpu_vs_floor))
FROM ratio WHERE fsync = 'off' AND clients = 8 ORDER BY users DESC;
SELECT format('| update_user_metadata ≥ 0.95× plain UPDATE (1.3) | %s | %s× | %s | %s× |',
			  CASE WHEN users = 1 THEN 'hot user' ELSE to_char(users, 'FM999,999') || ' users' END,
			  bench.fmt(vs_floor), CASE WHEN vs_floor >= 0.95 THEN 'yes' ELSE '**no**' END, bench.fmt(cpu_vs_floor))
FROM ratio WHERE fsync = 'off' AND clients = 8 ORDER BY users DESC;
SELECT format('| (no 8-client runs: targets not measured) | | | | |') WHERE NOT EXISTS (SELECT FROM ratio WHERE clients = 8);
\qecho
SELECT format(E'### With fsync on\n\n%s users, uniform, %s (median of %s runs).\n\n| contender | TPS, fsync on | TPS, fsync off | on ÷ off |\n|---|---:|---:|---:|',
			  to_char(:users, 'FM999,999'), string_agg(DISTINCT clients || ' clients', ', '), max(runs))
FROM med WHERE fsync = 'on' HAVING count(*) > 0;
SELECT format('| %s | %s | %s | %s× |', replace(n.contender, '|', '\|'), to_char(round(n.tps), 'FM999,990'),
			  to_char(round(f.tps), 'FM999,990'), bench.fmt(n.tps / f.tps))
FROM med n JOIN med f ON (f.fsync, f.contender, f.users, f.clients) = ('off', n.contender, n.users, n.clients)
WHERE n.fsync = 'on' ORDER BY n.ord;
SELECT '' FROM med WHERE fsync = 'on' LIMIT 1;
\qecho '<details><summary>Every upsert case: runs, TPS range, latency, failed transactions</summary>'
\qecho
\qecho 'Other processes: the median share of the machine''s CPU that processes other than the clusters and pgbench used during the runs; redone: runs repeated because that share was too high.'
\qecho
\qecho '| fsync | users | clients | contender | runs | median TPS | min–max TPS | median latency, ms | CPU µs per transaction | failed | other processes | redone |'
\qecho '|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|'
SELECT format('| %s | %s | %s | %s | %s | %s | %s–%s | %s | %s | %s | %s%% | %s |', fsync, users, clients, replace(contender, '|', '\|'),
			  runs, round(tps), round(min_tps), round(max_tps), bench.fmt(latency_ms), bench.fmt(cpu_us), failed,
			  round(foreign_pct::numeric, 1), redone)
FROM med ORDER BY fsync, users DESC, clients, ord;
\qecho
\qecho '</details>'
\qecho

-- Chart data: a row per client count, a column per contender
\pset fieldsep '\t'
\o :datdir/upsert_uniform.dat
SELECT 'clients', string_agg(format('"%s"', name), E'\t' ORDER BY ord) FROM bench.upsert_contender;
SELECT clients, string_agg(coalesce(tps::text, 'NaN'), E'\t' ORDER BY ord) FROM med WHERE fsync = 'off' AND users = :users
GROUP BY clients ORDER BY clients;
\o :datdir/upsert_hot.dat
SELECT 'clients', string_agg(format('"%s"', name), E'\t' ORDER BY ord) FROM bench.upsert_contender;
SELECT clients, string_agg(coalesce(tps::text, 'NaN'), E'\t' ORDER BY ord) FROM med WHERE fsync = 'off' AND users = 1
GROUP BY clients ORDER BY clients;
\o
