--
-- test/proxy/calls.sql: the calls that only a proxy makes interesting,
-- those that span partitions.  test/suites/proxy.sh runs the store's own
-- regression files (sql/store.sql, sql/custom_user_data.sql, less their
-- sections marked "not through the proxy") and then this file, once in a
-- database with user_metadata and once in a proxy database with
-- user_metadata_proxy; the two outputs must be identical.  Every call that
-- fails is followed by \echo :LAST_ERROR_SQLSTATE (the suite counts them).
--
\set VERBOSITY default
\set SHOW_CONTEXT never
SET search_path = user_metadata, public;
-- 200 users: on every partition of the proxy
SELECT count(*) FROM (
	SELECT update_user_metadata('generated' || i, jsonb_build_object('plan', CASE WHEN i % 25 = 0 THEN 'pro' ELSE 'free' END, 'n', i))
	FROM generate_series(1, 200) i) AS written;
SELECT find_users('{"plan":"pro"}');
SELECT count(*) FROM find_users('{}');
-- bulk reads gather every partition's share back into the order asked
SELECT * FROM get_user_metadata_bulk(ARRAY(SELECT 'generated' || i FROM generate_series(200, 1, -9) i)
									 || ARRAY['nobody', 'generated20', 'carol', 'generated20', 'nobody']);
SELECT count(*), bool_and(user_id = 'generated' || ord AND metadata ->> 'n' = ord::text) AS in_order
FROM get_user_metadata_bulk(ARRAY(SELECT 'generated' || i FROM generate_series(1, 200) i)) WITH ORDINALITY AS r (user_id, metadata, ord);
SELECT count(*), bool_and(user_id = 'generated' || ord AND metadata ->> 'n' = ord::text) AS in_order
FROM get_user_metadata(ARRAY(SELECT 'generated' || i FROM generate_series(1, 200) i)) WITH ORDINALITY AS r (user_id, metadata, ord);
SELECT clear_user_metadata('generated' || i) FROM generate_series(1, 200, 40) i;
SELECT count(*) FROM find_users('{}');
-- several bad ids, on different partitions: the first one is reported
SELECT * FROM get_user_metadata_bulk(ARRAY['generated1', '', 'generated2', NULL, 'generated3']);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM get_user_metadata_bulk(ARRAY['generated1', NULL, 'generated2', '', 'generated3']);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM get_user_metadata_bulk(ARRAY['generated1', 'generated2'], '');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM get_user_metadata_bulk(ARRAY['generated1', 'generated2'], NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM get_user_metadata_bulk(ARRAY[]::text[], NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM get_user_metadata_bulk(NULL, 'public');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM get_user_metadata(ARRAY['generated1', NULL, 'generated2', '', 'generated3']);
\echo :LAST_ERROR_SQLSTATE
-- bad ids of every other call, each sent to some partition
SELECT set_user_metadata(NULL, '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT get_user_metadata('');
\echo :LAST_ERROR_SQLSTATE
SELECT get_user_metadata('carol', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT find_users('{}', '');
\echo :LAST_ERROR_SQLSTATE
SELECT clear_user_metadata('carol', NULL);
\echo :LAST_ERROR_SQLSTATE
-- the size limit at its default, 1 MB: the write fails with 54000 and the stored document stays
SELECT update_user_metadata('carol', jsonb_build_object('essay', repeat('x', 1100000)));
\echo :LAST_ERROR_SQLSTATE
SELECT set_user_metadata('carol', jsonb_build_object('essay', repeat('x', 1100000)));
\echo :LAST_ERROR_SQLSTATE
BEGIN;
SET LOCAL user_metadata.user_id = 'atlas-user';
CALL write_custom_user_data(jsonb_build_object('essay', repeat('x', 1100000)));
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT get_user_metadata('carol'), get_user_metadata('atlas-user');
-- the current user unset: write_custom_user_data checks new_data first, as the store does
CALL write_custom_user_data('{"x":1}');
\echo :LAST_ERROR_SQLSTATE
CALL write_custom_user_data('[1]');
\echo :LAST_ERROR_SQLSTATE
BEGIN;
SET LOCAL user_metadata.user_id = 'atlas-user';
SET LOCAL user_metadata.app_id = '';
SELECT custom_user_data();
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- malformed input fails before any call
SELECT update_user_metadata('carol', '{"step":[}');
\echo :LAST_ERROR_SQLSTATE
-- the pure functions, local on the proxy
SELECT jsonb_merge('{"a":1,"b":{"c":1}}', '{"b":{"d":2},"a":null}'),
	   jsonb_merge_patch('{"a":1,"b":{"c":1}}', '{"b":{"d":2},"a":null}');
SELECT jsonb_merge('{}', '[1]');
\echo :LAST_ERROR_SQLSTATE
SELECT from_ejson('{"a": {"$numberLong": "1"}, "b": [{"$date": 0}]}');
SELECT from_ejson('{"a": {"$numberLong": "x"}}');
\echo :LAST_ERROR_SQLSTATE
-- bulk writes: each partition writes its users' share, the counts add up
SELECT set_user_metadata_bulk(ARRAY(SELECT 'bulk' || i FROM generate_series(1, 50) i),
							  ARRAY(SELECT jsonb_build_object('n', i, 'gone', NULL) FROM generate_series(1, 50) i));
SELECT update_user_metadata_bulk(ARRAY['bulk1', 'bulk2', 'bulk1'], ARRAY['{"a": 1}', '{"n": null}', '{"a": null, "b": 2}']::jsonb[]);
SELECT insert_user_metadata_bulk(ARRAY['bulk3', 'bulk51', 'bulk51'], ARRAY['{"kept": false}', '{"new": 1}', '{"new": 2}']::jsonb[]);
SELECT set_user_metadata_bulk(ARRAY['bulk4', 'bulk4'], ARRAY['{"first": 1}', '{"second": 2}']::jsonb[]);
SELECT * FROM get_user_metadata_bulk(ARRAY['bulk1', 'bulk2', 'bulk3', 'bulk4', 'bulk50', 'bulk51']);
SELECT set_user_metadata_bulk('{}', '{}');
-- calls the store rejects whole: the store's own error, nothing written
SELECT set_user_metadata_bulk(ARRAY['bulk1', ''], ARRAY['{}', '{}']::jsonb[]);
\echo :LAST_ERROR_SQLSTATE
SELECT update_user_metadata_bulk(ARRAY['bulk1', 'bulk2', 'bulk5'], ARRAY['{"x": 1}', '{"x": 1}', '[]']::jsonb[]);
\echo :LAST_ERROR_SQLSTATE
SELECT insert_user_metadata_bulk(ARRAY['bulk1', 'bulk2'], ARRAY['{"x": 1}']::jsonb[]);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM get_user_metadata_bulk(ARRAY['bulk1', 'bulk2', 'bulk5']);
-- an Atlas import through the bulk writes
CREATE TEMP TABLE atlas_lines (line bigint, document text);
INSERT INTO atlas_lines VALUES (1, '{"userId": "imported", "d": {"$date": 0}}'),
	(2, '{"userId": {"$oid": "64b7f0c2a1b2c3d4e5f60718"}, "v": 1}'), (3, '{"userId": "64b7f0c2a1b2c3d4e5f60718", "v": 2}');
SELECT * FROM import_atlas_custom_user_data('atlas_lines');
SELECT * FROM get_user_metadata_bulk(ARRAY['imported', '64b7f0c2a1b2c3d4e5f60718']);
