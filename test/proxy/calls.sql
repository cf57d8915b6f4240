--
-- test/proxy/calls.sql: the API calls of sql/store.sql and
-- sql/custom_user_data.sql, plus bulk reads and searches that span every
-- partition.  test/suites/proxy.sh runs this file once in a database with
-- user_metadata and once in a proxy database with user_metadata_proxy; the
-- two outputs must be identical.  Every call that fails is followed by
-- \echo :LAST_ERROR_SQLSTATE (the suite counts them).
--
-- Left out, because they are not API calls: direct table access, EXPLAIN
-- and index counters, SET user_metadata.max_document_bytes (a partition
-- setting; the limit is tested at its default instead), and rollback of a
-- write (PL/Proxy commits each call on its partition, see the README).
--
\set VERBOSITY default
\set SHOW_CONTEXT never
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
SELECT * FROM get_user_metadata(ARRAY['nobody', 'bob', 'alice', 'bob']);
SELECT * FROM get_user_metadata(ARRAY[]::text[]);
SELECT * FROM get_user_metadata(ARRAY['alice'], 'billing');
-- containment search
SELECT update_user_metadata('carol', '{"plan":"pro","beta":true}');
SELECT update_user_metadata('dave', '{"plan":"pro"}', 'billing');
SELECT find_users('{"plan":"pro"}');
SELECT find_users('{"plan":"pro"}', 'billing');
SELECT find_users('{"plan":"enterprise"}');
-- 200 users: on every partition of the proxy
SELECT count(*) FROM (
	SELECT update_user_metadata('generated' || i, jsonb_build_object('plan', CASE WHEN i % 25 = 0 THEN 'pro' ELSE 'free' END, 'n', i))
	FROM generate_series(1, 200) i) AS written;
SELECT find_users('{"plan":"pro"}');
SELECT count(*) FROM find_users('{}');
SELECT * FROM get_user_metadata(ARRAY(SELECT 'generated' || i FROM generate_series(200, 1, -9) i)
								|| ARRAY['nobody', 'generated20', 'carol', 'generated20', 'nobody']);
SELECT count(*), bool_and(user_id = 'generated' || ord AND metadata ->> 'n' = ord::text) AS in_order
FROM get_user_metadata(ARRAY(SELECT 'generated' || i FROM generate_series(1, 200) i)) WITH ORDINALITY AS r (user_id, metadata, ord);
SELECT clear_user_metadata('generated' || i) FROM generate_series(1, 200, 40) i;
SELECT count(*) FROM find_users('{}');
-- clear: true once, then false
SELECT clear_user_metadata('bob'), clear_user_metadata('bob');
SELECT get_user_metadata('bob');
SELECT update_user_metadata('carol', '{"beta":null}');
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
SELECT set_user_metadata(NULL, '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT get_user_metadata(NULL::text);
\echo :LAST_ERROR_SQLSTATE
SELECT get_user_metadata('');
\echo :LAST_ERROR_SQLSTATE
SELECT get_user_metadata('carol', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM get_user_metadata(NULL::text[]);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM get_user_metadata(ARRAY['a', NULL]);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM get_user_metadata(ARRAY['a', '']);
\echo :LAST_ERROR_SQLSTATE
-- several bad ids, on different partitions: the first one is reported
SELECT * FROM get_user_metadata(ARRAY['generated1', '', 'generated2', NULL, 'generated3']);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM get_user_metadata(ARRAY['generated1', NULL, 'generated2', '', 'generated3']);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM get_user_metadata(ARRAY['generated1', 'generated2'], '');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM get_user_metadata(ARRAY[]::text[], NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT find_users(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT find_users('[]');
\echo :LAST_ERROR_SQLSTATE
SELECT find_users('{}', '');
\echo :LAST_ERROR_SQLSTATE
SELECT clear_user_metadata('');
\echo :LAST_ERROR_SQLSTATE
SELECT clear_user_metadata('carol', NULL);
\echo :LAST_ERROR_SQLSTATE
-- ids longer than 512 bytes are refused by the table's check constraint
\set VERBOSITY terse
SELECT update_user_metadata(repeat('x', 513), '{}');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
-- the size limit at its default, 1 MB: the write fails with 54000 and the stored document stays
SELECT update_user_metadata('carol', jsonb_build_object('essay', repeat('x', 1100000)));
\echo :LAST_ERROR_SQLSTATE
SELECT set_user_metadata('carol', jsonb_build_object('essay', repeat('x', 1100000)));
\echo :LAST_ERROR_SQLSTATE
SELECT get_user_metadata('carol');
-- malformed input fails before any call
SELECT update_user_metadata('carol', '{"step":[}');
\echo :LAST_ERROR_SQLSTATE
SELECT get_user_metadata('carol');
-- the pure functions
SELECT jsonb_merge('{"a":1,"b":{"c":1}}', '{"b":{"d":2},"a":null}'),
	   jsonb_merge_patch('{"a":1,"b":{"c":1}}', '{"b":{"d":2},"a":null}');
SELECT jsonb_merge('{}', '[1]');
\echo :LAST_ERROR_SQLSTATE
--
-- identity and the Atlas-style calls, as in sql/custom_user_data.sql
--
SELECT current_user_id();
\echo :LAST_ERROR_SQLSTATE
SELECT custom_user_data();
\echo :LAST_ERROR_SQLSTATE
CALL write_custom_user_data('{"x":1}');
\echo :LAST_ERROR_SQLSTATE
BEGIN;
SET LOCAL user_metadata.user_id = 'atlas-user';
SELECT current_user_id(), current_app_id();
CALL write_custom_user_data('{"userId":"atlas-user","favoriteFood":"pizza","lastUpdated":1700000000000}');
CALL write_custom_user_data('{"favoriteFood":"tacos","lastUpdated":null}');
SELECT custom_user_data();
COMMIT;
SELECT current_user_id();
\echo :LAST_ERROR_SQLSTATE
SELECT get_user_metadata('atlas-user');
BEGIN;
SET LOCAL request.jwt.claims = '{"sub":"jwt-user","role":"authenticated"}';
SELECT current_user_id();
CALL write_custom_user_data('{"from":"postgrest"}');
SET LOCAL user_metadata.user_id = 'explicit-user';
SELECT current_user_id();
COMMIT;
SELECT get_user_metadata('jwt-user');
BEGIN;
SET LOCAL request.jwt.claims = '{"role":"anon"}';
SELECT current_user_id();
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL user_metadata.user_id = 'atlas-user';
SET LOCAL user_metadata.app_id = 'second-app';
CALL write_custom_user_data('{"other":"app"}');
SELECT custom_user_data();
COMMIT;
BEGIN;
SET LOCAL user_metadata.app_id = '';
SELECT current_app_id();
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL user_metadata.user_id = 'atlas-user';
SET LOCAL user_metadata.app_id = '';
SELECT custom_user_data();
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL user_metadata.user_id = 'atlas-user';
CALL write_custom_user_data(NULL);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL user_metadata.user_id = 'atlas-user';
CALL write_custom_user_data('["not", "an", "object"]');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL user_metadata.user_id = 'atlas-user';
CALL write_custom_user_data(jsonb_build_object('essay', repeat('x', 1100000)));
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT get_user_metadata('atlas-user'), get_user_metadata('atlas-user', 'second-app');
-- a server function written as a plpgsql procedure, Atlas-style
CREATE PROCEDURE record_login(INOUT custom_data jsonb DEFAULT NULL)
LANGUAGE plpgsql AS $$
BEGIN
	CALL user_metadata.write_custom_user_data(
		jsonb_build_object('logins', coalesce((user_metadata.custom_user_data() ->> 'logins')::int, 0) + 1),
		custom_data);
END $$;
BEGIN;
SET LOCAL user_metadata.user_id = 'atlas-user';
CALL record_login();
CALL record_login();
COMMIT;
DROP PROCEDURE record_login;
-- the API and who may call it
SELECT p.oid::regprocedure AS function, p.prokind,
	   has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute
FROM pg_proc p
WHERE p.pronamespace = 'user_metadata'::regnamespace AND p.prorettype <> 'trigger'::regtype
ORDER BY p.oid::regprocedure::text;
SELECT has_schema_privilege('public', 'user_metadata', 'USAGE') AS public_usage;
