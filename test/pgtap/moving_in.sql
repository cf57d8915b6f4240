--
-- test/pgtap/moving_in.sql: from_ejson's errors, the bulk writes (results,
-- every SQLSTATE, data unchanged after an error, the owner switch and per-app
-- admin scopes) and the SQL import calls (their errors and privileges).  The
-- import command and the SuperTokens call end to end: test/suites/import.sh.
--
BEGIN;
SELECT plan(43);

-- from_ejson: 22P02 for a malformed wrapper, for everyone
SELECT throws_ok($$ SELECT user_metadata.from_ejson('{"a": {"$numberLong": "x"}}') $$, '22P02',
				 'malformed Extended JSON $numberLong at $.a', 'a malformed wrapper is 22P02 with its path');
SELECT throws_ok($$ SELECT user_metadata.from_ejson('[0, {"d": {"$date": "yesterday"}}]') $$, '22P02',
				 'malformed Extended JSON $date at $[1].d', 'a malformed date is 22P02 with its path');
SELECT ok(has_function_privilege('public', 'user_metadata.from_ejson(jsonb)', 'EXECUTE'),
		  'from_ejson is executable by PUBLIC');

-- bulk writes
SELECT is(user_metadata.set_user_metadata_bulk(ARRAY['mi_a', 'mi_b'], ARRAY['{"a":1,"n":null}', '{"b":1}']::jsonb[], 'mi'),
		  2::bigint, 'set_user_metadata_bulk returns the number of users written');
SELECT is(user_metadata.get_user_metadata('mi_a', 'mi'), '{"a":1}', 'set_user_metadata_bulk stores without root nulls');
SELECT is(user_metadata.update_user_metadata_bulk(ARRAY['mi_a', 'mi_c'], ARRAY['{"a":null,"x":2}', '{"c":1}']::jsonb[], 'mi'),
		  2::bigint, 'update_user_metadata_bulk returns the number of users written');
SELECT is(user_metadata.get_user_metadata('mi_a', 'mi'), '{"x":2}', 'update_user_metadata_bulk merges at the root');
SELECT is(user_metadata.get_user_metadata('mi_c', 'mi'), '{"c":1}', 'update_user_metadata_bulk creates missing users');
SELECT is(user_metadata.insert_user_metadata_bulk(ARRAY['mi_a', 'mi_d', 'mi_d'], ARRAY['{"new":1}', '{"d":1}', '{"d":2}']::jsonb[], 'mi'),
		  1::bigint, 'insert_user_metadata_bulk counts only the users it stored');
SELECT is(user_metadata.get_user_metadata('mi_a', 'mi') || user_metadata.get_user_metadata('mi_d', 'mi'), '{"x":2,"d":1}',
		  'insert_user_metadata_bulk keeps existing documents; the first of a repeated id wins');
SELECT is(user_metadata.set_user_metadata_bulk('{}', '{}', 'mi'), 0::bigint, 'empty arrays write nothing');

CREATE TEMPORARY TABLE mi_before AS SELECT user_id, metadata FROM user_metadata.user_metadata WHERE app_id = 'mi';
SELECT throws_ok($$ SELECT user_metadata.set_user_metadata_bulk(NULL, ARRAY['{}']::jsonb[], 'mi') $$, '22004', NULL,
				 'NULL user_ids is 22004');
SELECT throws_ok($$ SELECT user_metadata.set_user_metadata_bulk(ARRAY['mi_a'], NULL, 'mi') $$, '22004', NULL,
				 'NULL documents is 22004');
SELECT throws_ok($$ SELECT user_metadata.update_user_metadata_bulk(ARRAY['mi_a', NULL], ARRAY['{}', '{}']::jsonb[], 'mi') $$,
				 '22004', NULL, 'a NULL id is 22004');
SELECT throws_ok($$ SELECT user_metadata.update_user_metadata_bulk(ARRAY['mi_a', 'mi_b'], ARRAY['{"z":1}', NULL]::jsonb[], 'mi') $$,
				 '22004', NULL, 'a NULL patch is 22004');
SELECT throws_ok($$ SELECT user_metadata.set_user_metadata_bulk(ARRAY['mi_a'], ARRAY['{}']::jsonb[], NULL) $$, '22004', NULL,
				 'NULL app_id is 22004');
SELECT throws_ok($$ SELECT user_metadata.set_user_metadata_bulk(ARRAY['mi_a', ''], ARRAY['{"z":1}', '{}']::jsonb[], 'mi') $$,
				 '22023', NULL, 'an empty id is 22023');
SELECT throws_ok($$ SELECT user_metadata.set_user_metadata_bulk(ARRAY['mi_a'], ARRAY['{}']::jsonb[], '') $$, '22023', NULL,
				 'an empty app_id is 22023');
SELECT throws_ok($$ SELECT user_metadata.update_user_metadata_bulk(ARRAY['mi_a', 'mi_b'], ARRAY['{"z":1}', '[1]']::jsonb[], 'mi') $$,
				 '22023', 'element 2 of argument "patches" must be a JSON object', 'a patch that is not an object is 22023');
SELECT throws_ok($$ SELECT user_metadata.set_user_metadata_bulk(ARRAY['mi_a', 'mi_b'], ARRAY['{"z":1}']::jsonb[], 'mi') $$,
				 '22023', 'arguments "user_ids" and "documents" must have the same length', 'arrays of different lengths are 22023');
SELECT throws_ok($$ SELECT user_metadata.set_user_metadata_bulk(ARRAY['mi_a', repeat('x', 513)], ARRAY['{"z":1}', '{}']::jsonb[], 'mi') $$,
				 '23514', NULL, 'an id longer than 512 bytes is 23514');
SET LOCAL user_metadata.max_document_bytes = 100;
SELECT throws_ok($$ SELECT user_metadata.set_user_metadata_bulk(ARRAY['mi_a', 'mi_b'], ARRAY['{"z":1}', jsonb_build_object('big', repeat('x', 200))], 'mi') $$,
				 '54000', NULL, 'set: a document over max_document_bytes is 54000');
SELECT throws_ok($$ SELECT user_metadata.update_user_metadata_bulk(ARRAY['mi_a', 'mi_b'], ARRAY['{"z":1}', jsonb_build_object('big', repeat('x', 200))], 'mi') $$,
				 '54000', NULL, 'update: a document over max_document_bytes is 54000');
SELECT throws_ok($$ SELECT user_metadata.insert_user_metadata_bulk(ARRAY['mi_e', 'mi_f'], ARRAY['{"z":1}', jsonb_build_object('big', repeat('x', 200))], 'mi') $$,
				 '54000', NULL, 'insert: a document over max_document_bytes is 54000');
RESET user_metadata.max_document_bytes;
SELECT set_eq($$ SELECT user_id, metadata FROM user_metadata.user_metadata WHERE app_id = 'mi' $$,
			  $$ SELECT user_id, metadata FROM mi_before $$, 'the failed bulk calls changed nothing');

-- admin API: not for PUBLIC; a granted role writes through the owner switch;
-- a role scoped to one app is refused the others
SELECT ok(NOT has_function_privilege('public', p, 'EXECUTE'), p || ' is not executable by PUBLIC')
FROM unnest(ARRAY['user_metadata.update_user_metadata_bulk(text[], jsonb[], text)',
				  'user_metadata.set_user_metadata_bulk(text[], jsonb[], text)',
				  'user_metadata.insert_user_metadata_bulk(text[], jsonb[], text)',
				  'user_metadata.import_atlas_custom_user_data(regclass, text, text, text, boolean)',
				  'user_metadata.import_supertokens(regclass, text, boolean)']) p;
CREATE ROLE um_mi_admin;
CREATE ROLE um_mi_stranger;
GRANT EXECUTE ON FUNCTION user_metadata.update_user_metadata_bulk(text[], jsonb[], text),
	user_metadata.set_user_metadata_bulk(text[], jsonb[], text) TO um_mi_admin;
INSERT INTO user_metadata.admin_scopes VALUES ('um_mi_admin', 'mi');
SET LOCAL ROLE um_mi_admin;
SELECT is(user_metadata.set_user_metadata_bulk(ARRAY['mi_g'], ARRAY['{"g":1}']::jsonb[], 'mi'), 1::bigint,
		  'a role granted the bulk write writes its app without any table privilege');
SELECT throws_ok($$ SELECT user_metadata.set_user_metadata_bulk(ARRAY['mi_g'], ARRAY['{"g":2}']::jsonb[], 'other') $$,
				 '42501', 'permission denied for app "other"', 'a role scoped to one app: a bulk write for another is 42501');
SELECT throws_ok($$ SELECT user_metadata.update_user_metadata_bulk(ARRAY['mi_g'], ARRAY['{"g":2}']::jsonb[], 'other') $$,
				 '42501', 'permission denied for app "other"', 'a role scoped to one app: a bulk update for another is 42501');
RESET ROLE;
GRANT EXECUTE ON FUNCTION user_metadata.import_atlas_custom_user_data(regclass, text, text, text, boolean) TO um_mi_admin;
CREATE TEMPORARY TABLE mi_admin_lines (line bigint, document text);
INSERT INTO mi_admin_lines VALUES (1, '{"userId": {"$oid": "64b7f0c2a1b2c3d4e5f6aaaa"}, "n": {"$numberLong": "7"}}');
GRANT SELECT ON mi_admin_lines TO um_mi_admin;
SET LOCAL ROLE um_mi_admin;
SELECT is((SELECT detail FROM user_metadata.import_atlas_custom_user_data('mi_admin_lines', 'mi') WHERE outcome = 'summary'),
		  '1 imported, 0 kept, 0 duplicates, 0 bad', 'a role granted the import and the bulk write imports into its app');
SELECT throws_ok($$ SELECT * FROM user_metadata.import_atlas_custom_user_data('mi_admin_lines', 'other') $$,
				 '42501', 'permission denied for app "other"', 'a role scoped to one app: an import into another is 42501');
SET LOCAL ROLE um_mi_stranger;
SELECT throws_ok($$ SELECT user_metadata.set_user_metadata_bulk(ARRAY['mi_g'], ARRAY['{"g":3}']::jsonb[], 'mi') $$,
				 '42501', NULL, 'a role without the grant cannot call the bulk write');
RESET ROLE;
SELECT is(user_metadata.get_user_metadata('mi_g', 'mi'), '{"g":1}', 'the refused calls changed nothing');

-- import calls: argument errors
CREATE TEMPORARY TABLE mi_lines (line bigint, document text);
INSERT INTO mi_lines VALUES (1, '{"userId": "mi_h", "n": {"$numberInt": "1"}}');
SELECT throws_ok($$ SELECT * FROM user_metadata.import_atlas_custom_user_data('mi_lines', 'mi', 'userId', 'overwrite') $$,
				 '22023', 'invalid on_conflict rule ''overwrite''', 'an unknown conflict rule is 22023');
SELECT throws_ok($$ SELECT * FROM user_metadata.import_atlas_custom_user_data('mi_lines', NULL) $$, '22004', NULL,
				 'a NULL app_id is 22004');
SELECT throws_ok($$ SELECT * FROM user_metadata.import_atlas_custom_user_data('mi_lines', '') $$, '22023', NULL,
				 'an empty app_id is 22023');
SELECT throws_ok($$ SELECT * FROM user_metadata.import_supertokens('mi_lines', NULL) $$, '22004', NULL,
				 'a NULL conflict rule is 22004');
INSERT INTO mi_lines VALUES (2, '{"userId": "mi_i", "n": {"$numberInt": "x"}}');
SELECT throws_ok($$ SELECT * FROM user_metadata.import_atlas_custom_user_data('mi_lines', 'mi') $$, '22P02',
				 '1 bad rows in the import; nothing was imported', 'a bad line is 22P02');
SELECT is(user_metadata.get_user_metadata('mi_h', 'mi'), '{}', 'a bad line imports nothing');

SELECT * FROM finish();
ROLLBACK;
