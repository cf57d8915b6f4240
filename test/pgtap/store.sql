--
-- test/pgtap/store.sql: the per-user store: table shape, every function's
-- results, timestamps, bad input with its SQLSTATE leaving data unchanged,
-- the size limit, and privileges of the admin API.
--
BEGIN;
SELECT plan(55);
SET LOCAL search_path = user_metadata, public;

-- table
SELECT has_table('user_metadata', 'user_metadata', 'the store table exists');
SELECT col_is_pk('user_metadata', 'user_metadata', ARRAY['app_id', 'user_id'], 'keyed by (app_id, user_id)');
SELECT col_default_is('user_metadata', 'user_metadata', 'app_id', 'public', 'app_id defaults to public');
SELECT col_not_null('user_metadata', 'user_metadata', 'metadata', 'metadata is NOT NULL');
SELECT has_index('user_metadata', 'user_metadata', 'user_metadata_metadata_idx', 'the GIN index exists');
SELECT is((SELECT amname::text FROM pg_class c JOIN pg_am a ON a.oid = c.relam
		   WHERE c.oid = 'user_metadata.user_metadata_metadata_idx'::regclass), 'gin', 'the metadata index is GIN');
SELECT ok((SELECT 'user_metadata.user_metadata'::regclass = ANY (extconfig) FROM pg_extension WHERE extname = 'user_metadata'),
		  'pg_dump keeps the rows (pg_extension_config_dump)');

-- get, update, set, clear
SELECT is(get_user_metadata('t_alice'), '{}', 'nothing stored reads as {}');
SELECT is(update_user_metadata('t_alice', '{"a":1,"b":{"c":2},"gone":null}'), '{"a":1,"b":{"c":2}}',
		  'the first update creates the document without root nulls');
SELECT is(update_user_metadata('t_alice', '{"b":{"d":3},"a":null,"e":[1]}'), '{"b":{"d":3},"e":[1]}',
		  'an update merges at the root and removes null keys');
SELECT is(get_user_metadata('t_alice'), '{"b":{"d":3},"e":[1]}', 'get reads what update returned');
SELECT is(get_user_metadata('t_alice', 'other_app'), '{}', 'apps do not see each other''s documents');
SELECT is(set_user_metadata('t_alice', '{"only":true,"n":null}'), '{"only":true}', 'set replaces the whole document');
SELECT is(get_user_metadata('t_alice'), '{"only":true}', 'set is stored');
SELECT is(update_user_metadata('t_alice', '{}'), '{"only":true}', 'an empty patch changes nothing');
SELECT ok(clear_user_metadata('t_alice'), 'clear reports a removed document');
SELECT ok(NOT clear_user_metadata('t_alice'), 'clear reports when there was nothing');
SELECT is(get_user_metadata('t_alice'), '{}', 'a cleared user reads as {}');

-- timestamps belong to the table (test/pgtap/table_rules.sql covers the rest)
INSERT INTO user_metadata (user_id, metadata, created_at, updated_at)
VALUES ('t_time', '{"v":1}', now() - interval '2 days', now() - interval '1 day');
SELECT update_user_metadata('t_time', '{"v":2}');
SELECT is((SELECT updated_at FROM user_metadata WHERE user_id = 't_time'), now(), 'updated_at moves on update');
SELECT is((SELECT created_at FROM user_metadata WHERE user_id = 't_time'), now() - interval '2 days', 'created_at never moves');
INSERT INTO user_metadata (user_id, metadata, updated_at) VALUES ('t_time2', '{}', now() - interval '1 day');
SELECT set_user_metadata('t_time2', '{"v":3}');
SELECT is((SELECT updated_at FROM user_metadata WHERE user_id = 't_time2'), now(), 'updated_at moves on set');

-- bulk get and find
SELECT set_user_metadata('t_b', '{"plan":"pro","tier":1}');
SELECT set_user_metadata('t_c', '{"plan":"free"}');
SELECT set_user_metadata('t_d', '{"plan":"pro"}', 'other_app');
SELECT results_eq($$ SELECT user_id, metadata FROM user_metadata.get_user_metadata(ARRAY['t_c', 'unknown', 't_b', 't_c']) $$,
				  $$ VALUES ('t_c', '{"plan":"free"}'::jsonb), ('unknown', '{}'), ('t_b', '{"plan":"pro","tier":1}'), ('t_c', '{"plan":"free"}') $$,
				  'bulk get returns one row per id in the order given, {} for unknown ids');
SELECT is((SELECT count(*) FROM get_user_metadata((SELECT array_agg('many' || i) FROM generate_series(1, 5000) i))), 5000::bigint,
		  'bulk get takes any number of ids');
SELECT results_eq($$ SELECT * FROM user_metadata.find_users('{"plan":"pro"}') $$, ARRAY['t_b'], 'find_users matches by containment');
SELECT results_eq($$ SELECT * FROM user_metadata.find_users('{"plan":"pro"}', 'other_app') $$, ARRAY['t_d'], 'find_users stays in its app');
-- with enough rows and fresh statistics, the containment search uses the GIN index
INSERT INTO user_metadata (user_id, metadata) SELECT 'filler' || i, jsonb_build_object('n', i) FROM generate_series(1, 5000) i;
ANALYZE user_metadata;
CREATE TEMP TABLE scans AS SELECT pg_stat_get_xact_numscans('user_metadata.user_metadata_metadata_idx'::regclass) AS n;
SELECT * FROM find_users('{"tier":1}');
SELECT cmp_ok(pg_stat_get_xact_numscans('user_metadata.user_metadata_metadata_idx'::regclass), '>', (SELECT n FROM scans),
			  'find_users scans the GIN index');

-- bad input: SQLSTATE, and nothing stored changes
CREATE TEMP TABLE snapshot AS SELECT md5(string_agg(t::text, '|' ORDER BY app_id, user_id)) AS h FROM user_metadata t;
SELECT throws_ok($$ SELECT user_metadata.update_user_metadata(NULL, '{}') $$, '22004', NULL, 'NULL user_id is 22004');
SELECT throws_ok($$ SELECT user_metadata.update_user_metadata('', '{}') $$, '22023', NULL, 'empty user_id is 22023');
SELECT throws_ok($$ SELECT user_metadata.update_user_metadata('t_b', '{}', NULL) $$, '22004', NULL, 'NULL app_id is 22004');
SELECT throws_ok($$ SELECT user_metadata.update_user_metadata('t_b', '{}', '') $$, '22023', NULL, 'empty app_id is 22023');
SELECT throws_ok($$ SELECT user_metadata.update_user_metadata('t_b', NULL) $$, '22004', NULL, 'NULL patch is 22004');
SELECT throws_ok($$ SELECT user_metadata.update_user_metadata('t_b', '[{"plan":null}]') $$, '22023', NULL, 'array patch is 22023');
SELECT throws_ok($$ SELECT user_metadata.set_user_metadata('t_b', NULL) $$, '22004', NULL, 'NULL metadata is 22004');
SELECT throws_ok($$ SELECT user_metadata.set_user_metadata('t_b', '1') $$, '22023', NULL, 'number metadata is 22023');
SELECT throws_ok($$ SELECT * FROM user_metadata.get_user_metadata(ARRAY['a', NULL]) $$, '22004', NULL, 'a NULL id in the bulk get is 22004');
SELECT throws_ok($$ SELECT user_metadata.clear_user_metadata('t_b', '') $$, '22023', NULL, 'empty app_id to clear is 22023');
SELECT throws_ok($$ SELECT user_metadata.update_user_metadata(repeat('x', 513), '{}') $$, '23514', NULL,
				 'an id over 512 bytes is refused by the table');
-- the table's own CHECK constraints, which every writer meets (direct writes here)
SELECT lives_ok($$ INSERT INTO user_metadata.user_metadata (app_id, user_id, metadata)
				   VALUES (repeat('a', 512), repeat('é', 256), '{}') $$, 'ids of 512 bytes are stored');
SELECT throws_ok($$ INSERT INTO user_metadata.user_metadata (app_id, user_id, metadata) VALUES (repeat('a', 513), 'c1', '{}') $$,
				 '23514', 'new row for relation "user_metadata" violates check constraint "user_metadata_ids_valid"',
				 'an app id of 513 bytes is refused by user_metadata_ids_valid');
SELECT throws_ok($$ INSERT INTO user_metadata.user_metadata (app_id, user_id, metadata) VALUES ('a', repeat('é', 256) || 'x', '{}') $$,
				 '23514', NULL, 'a user id of 513 bytes (257 characters) is refused: bytes are counted');
SELECT throws_ok($$ INSERT INTO user_metadata.user_metadata (app_id, user_id, metadata) VALUES ('', 'c1', '{}') $$,
				 '23514', NULL, 'an empty app id is refused by the table');
SELECT throws_ok($$ INSERT INTO user_metadata.user_metadata (app_id, user_id, metadata) VALUES ('a', '', '{}') $$,
				 '23514', NULL, 'an empty user id is refused by the table');
SELECT throws_ok($$ UPDATE user_metadata.user_metadata SET user_id = repeat('u', 513) WHERE app_id = repeat('a', 512) $$,
				 '23514', NULL, 'an update to a 513-byte id is refused by the table');
-- the trigger refuses a document that is not an object first (22023); with
-- triggers off (a restore, replication) the table still does
SET LOCAL session_replication_role = replica;
SELECT throws_ok($$ INSERT INTO user_metadata.user_metadata (app_id, user_id, metadata) VALUES ('a', 'c1', '[]') $$,
				 '23514', 'new row for relation "user_metadata" violates check constraint "user_metadata_metadata_is_object"',
				 'an array document is refused by user_metadata_metadata_is_object');
SELECT throws_ok($$ INSERT INTO user_metadata.user_metadata (app_id, user_id, metadata)
					SELECT 'a', 'c' || n, d FROM unnest(ARRAY['1', '"s"', 'null', 'true']::jsonb[]) WITH ORDINALITY u (d, n) $$,
				 '23514', NULL, 'scalar documents are refused by the table');
SELECT throws_ok($$ UPDATE user_metadata.user_metadata SET metadata = '[{}]' WHERE app_id = repeat('a', 512) $$,
				 '23514', NULL, 'an update to an array document is refused by the table');
RESET session_replication_role;
SELECT is((SELECT pg_get_constraintdef(oid) FROM pg_constraint
		   WHERE conrelid = 'user_metadata.user_metadata'::regclass AND conname = 'user_metadata_ids_valid'),
		  'CHECK (ids_valid(app_id, user_id))',
		  'each CHECK constraint is one call, cheap to rebuild for every statement');
DELETE FROM user_metadata.user_metadata WHERE app_id = repeat('a', 512);
SET LOCAL user_metadata.max_document_bytes = 100;
SELECT throws_ok($$ SELECT user_metadata.update_user_metadata('t_b', jsonb_build_object('big', repeat('x', 200))) $$,
				 '54000', 'user metadata document is too large', 'an update over max_document_bytes is 54000');
SELECT throws_ok($$ SELECT user_metadata.set_user_metadata('t_new', jsonb_build_object('big', repeat('x', 200))) $$,
				 '54000', 'user metadata document is too large', 'a set over max_document_bytes is 54000');
SELECT lives_ok($$ SELECT user_metadata.update_user_metadata('t_b', '{"big":null}') $$, 'a write under the limit still works');
RESET user_metadata.max_document_bytes;
SELECT is((SELECT md5(string_agg(t::text, '|' ORDER BY app_id, user_id)) FROM user_metadata t), (SELECT h FROM snapshot),
		  'failed calls left every stored row unchanged');

-- the admin API is not for PUBLIC
SELECT ok(NOT has_function_privilege('public', 'user_metadata.update_user_metadata(text,jsonb,text)', 'EXECUTE'),
		  'PUBLIC cannot run update_user_metadata');
SELECT ok(NOT has_table_privilege('public', 'user_metadata.user_metadata', 'SELECT'), 'PUBLIC cannot read the table');
SELECT is((SELECT array_agg(proname::text || ' ' || array_to_string(proconfig, ',')) FROM pg_proc
		   WHERE pronamespace = 'user_metadata'::regnamespace AND prosecdef),
		  ARRAY['run_as_owner search_path=pg_catalog, pg_temp'],
		  'the one SECURITY DEFINER function is run_as_owner, with its search path: the admin API checks its caller, then works in it');

-- one list: every function that takes user_id text first is a per-user
-- function, which distribute_on_citus delegates and the Citus guard checks
SELECT set_eq($$ SELECT oid::regprocedure FROM pg_proc WHERE pronamespace = 'user_metadata'::regnamespace
				 AND proargnames[1] = 'user_id' AND proargtypes[0] = 'text'::regtype $$,
			  $$ SELECT * FROM user_metadata.per_user_functions() $$,
			  'every function whose first argument is user_id is in per_user_functions()');

SELECT * FROM finish();
ROLLBACK;
