--
-- store: the per-user table and its functions.
--
SET search_path = user_metadata, public;
-- nothing stored: {}
SELECT get_user_metadata('alice');
-- first write creates the row; root nulls never reach the table
SELECT update_user_metadata('alice', '{"preferences":{"theme":"dark"},"notifications":{"email":true},"todos":["use-text-notifs"],"gone":null}');
-- the SuperTokens seed update
SELECT update_user_metadata('alice', '{"notifications":{"sms":true},"todos":null}');
SELECT get_user_metadata('alice');
-- apps are separate namespaces
SELECT update_user_metadata('alice', '{"plan":"pro"}', 'billing');
SELECT get_user_metadata('alice', 'billing'), get_user_metadata('alice', 'public');
-- set replaces the whole document in one call
SELECT set_user_metadata('alice', '{"fresh":true,"x":null}');
SELECT get_user_metadata('alice');
-- bulk read: one row per id, in the order given, {} for unknown ids, duplicates kept
SELECT update_user_metadata('bob', '{"plan":"free"}');
SELECT * FROM get_user_metadata_bulk(ARRAY['nobody', 'bob', 'alice', 'bob']);
SELECT * FROM get_user_metadata_bulk(ARRAY[]::text[]);
-- drivers send a list as an untyped parameter: the bulk read's own name
-- resolves it to text[], while get_user_metadata($1) would take the scalar
-- overload and answer for one user named '{bob,alice}'
PREPARE bulk_read AS SELECT * FROM get_user_metadata_bulk($1);
EXECUTE bulk_read('{bob,alice}');
PREPARE scalar_trap AS SELECT * FROM get_user_metadata($1);
EXECUTE scalar_trap('{bob,alice}');
-- the deprecated array overload, for typed callers, answers the same
SELECT * FROM get_user_metadata(ARRAY['nobody', 'bob']);
-- containment search
SELECT update_user_metadata('carol', '{"plan":"pro","beta":true}');
SELECT update_user_metadata('dave', '{"plan":"pro"}', 'billing');
SELECT find_users('{"plan":"pro"}');
SELECT find_users('{"plan":"pro"}', 'billing');
SELECT find_users('{"plan":"enterprise"}');
-- not through the proxy: the table and its index
-- the search is served by the GIN index: the plan of find_users' query, and
-- the index's scan counter moving when find_users runs
INSERT INTO user_metadata (user_id, metadata)
SELECT 'generated' || i, jsonb_build_object('plan', CASE WHEN i % 500 = 0 THEN 'pro' ELSE 'free' END, 'n', i)
FROM generate_series(1, 2000) i;
VACUUM ANALYZE user_metadata;
EXPLAIN (COSTS OFF) SELECT user_id FROM user_metadata.user_metadata
WHERE app_id = 'public' AND metadata @> '{"plan":"pro"}' ORDER BY user_id;
BEGIN;
SELECT pg_stat_get_xact_numscans('user_metadata_metadata_idx'::regclass) AS scans_before;
SELECT count(*) FROM find_users('{"plan":"pro"}');
SELECT pg_stat_get_xact_numscans('user_metadata_metadata_idx'::regclass) AS scans_after;
COMMIT;
DELETE FROM user_metadata WHERE user_id LIKE 'generated%';
-- clear: true once, then false
SELECT clear_user_metadata('bob'), clear_user_metadata('bob');
SELECT get_user_metadata('bob');
-- delete_user_metadata_key: that root key goes, nested keys of the same
-- name and the other root keys stay; an absent key is no error
SELECT update_user_metadata('erin', '{"theme":"dark","beta":true,"nested":{"theme":1}}');
SELECT delete_user_metadata_key('erin', 'theme');
SELECT delete_user_metadata_key('erin', 'absent');
SELECT delete_user_metadata_key('erin', 'nested');
SELECT get_user_metadata('erin');
-- like update_user_metadata, a user with no document gets {}
SELECT delete_user_metadata_key('erin', 'beta', 'billing');
SELECT delete_user_metadata_key('erin', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT delete_user_metadata_key(NULL, 'beta');
\echo :LAST_ERROR_SQLSTATE
SELECT delete_user_metadata_key('erin', 'beta', '');
\echo :LAST_ERROR_SQLSTATE
SELECT clear_user_metadata('erin'), clear_user_metadata('erin', 'billing');
-- not through the proxy: the table
-- updated_at moves on every write, created_at never
SELECT created_at = updated_at AS untouched FROM user_metadata WHERE user_id = 'carol';
CREATE TEMP TABLE carol_before AS SELECT created_at, updated_at FROM user_metadata WHERE user_id = 'carol';
SELECT update_user_metadata('carol', '{"beta":null}');
SELECT u.created_at = b.created_at AS created_kept, u.updated_at > b.updated_at AS updated_moved
FROM user_metadata u, carol_before b WHERE u.user_id = 'carol';
-- bad input: the documented SQLSTATE, nothing changed
SELECT update_user_metadata(NULL, '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT update_user_metadata('', '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT update_user_metadata('carol', '{}', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT update_user_metadata('carol', '{}', '');
\echo :LAST_ERROR_SQLSTATE
SELECT update_user_metadata('carol', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT update_user_metadata('carol', '[1]');
\echo :LAST_ERROR_SQLSTATE
SELECT set_user_metadata('carol', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT set_user_metadata('carol', '"text"');
\echo :LAST_ERROR_SQLSTATE
SELECT get_user_metadata(NULL::text);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM get_user_metadata(NULL::text[]);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM get_user_metadata(ARRAY['a', NULL]);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM get_user_metadata(ARRAY['a', '']);
\echo :LAST_ERROR_SQLSTATE
SELECT find_users(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT find_users('[]');
\echo :LAST_ERROR_SQLSTATE
SELECT clear_user_metadata('');
\echo :LAST_ERROR_SQLSTATE
-- ids longer than 512 bytes are refused by the table's check constraint
\set VERBOSITY terse
SELECT update_user_metadata(repeat('x', 513), '{}');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
-- not through the proxy: a session setting the partitions do not see
-- the size limit: the write fails with 54000 and the stored document stays
SET user_metadata.max_document_bytes = 200;
SELECT update_user_metadata('carol', jsonb_build_object('essay', repeat('x', 300)));
\echo :LAST_ERROR_SQLSTATE
SELECT set_user_metadata('carol', jsonb_build_object('essay', repeat('x', 300)));
\echo :LAST_ERROR_SQLSTATE
RESET user_metadata.max_document_bytes;
SHOW user_metadata.max_document_bytes;
SELECT get_user_metadata('carol');
-- not through the proxy: each proxied call commits on its partition
-- a failing call inside a transaction leaves earlier work of that transaction to the caller
BEGIN;
SELECT update_user_metadata('carol', '{"step":1}');
SAVEPOINT s;
SELECT update_user_metadata('carol', '{"step":[}');
ROLLBACK TO s;
SELECT get_user_metadata('carol');
ROLLBACK;
SELECT get_user_metadata('carol');
-- not through the proxy: the store's catalog
-- declared properties: nothing SECURITY DEFINER or with a SET clause, the admin API not for PUBLIC
SELECT p.oid::regprocedure AS function, p.prosecdef, p.proconfig,
	   has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute
FROM pg_proc p WHERE p.pronamespace = 'user_metadata'::regnamespace AND p.proname NOT LIKE 'jsonb_merge%'
ORDER BY p.oid::regprocedure::text;
SELECT has_table_privilege('public', 'user_metadata.user_metadata', 'SELECT') AS public_select;
-- not through the proxy: the store's catalog
-- pg_dump keeps the rows
SELECT extconfig::regclass[] FROM pg_extension WHERE extname = 'user_metadata';
