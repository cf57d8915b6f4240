--
-- test/pgtap/document_rules.sql: per-app document rules by role: who may
-- set and read them (PUBLIC not, a scoped admin only for its apps), the
-- rules table closed to everyone but its owner, a client role's direct
-- writes and write_custom_user_data held to them, each call's SQLSTATEs,
-- and one statement's rows each held to their own app's rules.
--
BEGIN;
SELECT plan(31);

CREATE ROLE um_dr_client;
CREATE ROLE um_dr_admin_a;
CREATE ROLE um_dr_full;
CREATE ROLE um_dr_stranger;
GRANT SELECT, INSERT, UPDATE, DELETE ON user_metadata.user_metadata TO um_dr_client;
GRANT EXECUTE ON FUNCTION user_metadata.custom_user_data() TO um_dr_client;
GRANT EXECUTE ON PROCEDURE user_metadata.write_custom_user_data(jsonb, jsonb) TO um_dr_client;
GRANT EXECUTE ON FUNCTION user_metadata.set_document_rules(text, jsonb), user_metadata.get_document_rules(text),
	user_metadata.update_user_metadata(text, jsonb, text)
TO um_dr_admin_a, um_dr_full;
INSERT INTO user_metadata.admin_scopes VALUES ('um_dr_admin_a', 'dr_a');

-- the catalog: admin API, not for PUBLIC; the table for its owner only
SELECT ok(NOT has_function_privilege('public', 'user_metadata.set_document_rules(text, jsonb)', 'EXECUTE'),
		  'PUBLIC cannot execute set_document_rules');
SELECT ok(NOT has_function_privilege('public', 'user_metadata.get_document_rules(text)', 'EXECUTE'),
		  'PUBLIC cannot execute get_document_rules');
SELECT ok(NOT has_table_privilege('public', 'user_metadata.document_rules', 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE'),
		  'PUBLIC has no privilege on user_metadata.document_rules');
SELECT is((SELECT prosecdef FROM pg_proc WHERE oid = 'user_metadata.set_document_rules(text, jsonb)'::regprocedure), false,
		  'set_document_rules is SECURITY INVOKER: it checks its caller, then works in run_as_owner');
SELECT ok('user_metadata.document_rules'::regclass::oid = ANY ((SELECT extconfig FROM pg_extension WHERE extname = 'user_metadata')::oid[]),
		  'pg_dump keeps the rules (pg_extension_config_dump)');

-- a role without EXECUTE
SET LOCAL ROLE um_dr_stranger;
SELECT throws_ok($$ SELECT user_metadata.set_document_rules('dr_a', '{}') $$, '42501', NULL,
				 'a role without EXECUTE cannot set rules');
SELECT throws_ok($$ SELECT user_metadata.get_document_rules('dr_a') $$, '42501', NULL,
				 'a role without EXECUTE cannot read rules');
SELECT throws_ok($$ SELECT * FROM user_metadata.document_rules $$, '42501', NULL,
				 'a role without privileges cannot read the rules table');
RESET ROLE;

-- a scoped admin: its apps only
SET LOCAL ROLE um_dr_admin_a;
SELECT lives_ok($$ SELECT user_metadata.set_document_rules('dr_a', '{"keys": {"age": "number"}}') $$,
				'a role scoped to dr_a sets the rules of dr_a');
SELECT is(user_metadata.get_document_rules('dr_a'), '{"keys": {"age": "number"}}', 'and reads them');
SELECT throws_ok($$ SELECT user_metadata.set_document_rules('dr_b', '{}') $$, '42501',
				 'permission denied for app "dr_b"', 'a role scoped to dr_a: set_document_rules for dr_b is 42501');
SELECT throws_ok($$ SELECT user_metadata.set_document_rules('dr_b', NULL) $$, '42501',
				 'permission denied for app "dr_b"', 'a role scoped to dr_a cannot remove the rules of dr_b');
SELECT throws_ok($$ SELECT user_metadata.get_document_rules('dr_b') $$, '42501',
				 'permission denied for app "dr_b"', 'a role scoped to dr_a: get_document_rules for dr_b is 42501');
SELECT throws_ok($$ SELECT * FROM user_metadata.document_rules $$, '42501', NULL,
				 'an admin reads the rules only through get_document_rules');
SELECT throws_ok($$ INSERT INTO user_metadata.document_rules VALUES ('dr_a', '{}') $$, '42501', NULL,
				 'an admin cannot write the rules table around set_document_rules');
SELECT throws_ok($$ SELECT user_metadata.update_user_metadata('u1', '{"age": "x"}', 'dr_a') $$, '23514',
				 'user metadata document breaks the rules of app "dr_a"', 'the admin API is held to the rules: 23514');
SELECT throws_ok($$ SELECT user_metadata.set_document_rules('dr_a', '{"max_keys": "x"}') $$, '22023',
				 'invalid document rules for app "dr_a"', 'rules that are not valid are 22023');
SELECT throws_ok($$ SELECT user_metadata.set_document_rules(NULL, '{}') $$, '22004', NULL, 'a NULL app_id is 22004');
RESET ROLE;

-- an unscoped admin acts for every app
SET LOCAL ROLE um_dr_full;
SELECT lives_ok($$ SELECT user_metadata.set_document_rules('dr_b', '{"other_keys": false, "keys": {"n": "number"}}') $$,
				'an unscoped admin sets the rules of any app');
RESET ROLE;

-- a client role's own writes pass the same check
SET LOCAL ROLE um_dr_client;
SET LOCAL user_metadata.user_id = 'dr_client';
SET LOCAL user_metadata.app_id = 'dr_b';
SELECT throws_ok($$ INSERT INTO user_metadata.user_metadata (app_id, user_id, metadata) VALUES ('dr_b', 'dr_client', '{"x": 1}') $$,
				 '23514', NULL, 'a client role''s direct INSERT that breaks a rule is 23514');
SELECT lives_ok($$ INSERT INTO user_metadata.user_metadata (app_id, user_id, metadata) VALUES ('dr_b', 'dr_client', '{"n": 1}') $$,
				'a client role''s direct INSERT that follows them is stored');
SELECT throws_ok($$ UPDATE user_metadata.user_metadata SET metadata = '{"n": "one"}' $$,
				 '23514', NULL, 'a client role''s direct UPDATE that breaks a rule is 23514');
SELECT throws_ok($$ CALL user_metadata.write_custom_user_data('{"y": true}') $$,
				 '23514', NULL, 'write_custom_user_data that breaks a rule is 23514');
SELECT is(user_metadata.custom_user_data(), '{"n": 1}', 'the client''s document is unchanged');
RESET ROLE;

-- rules that a stored document breaks are refused, the old ones kept
SELECT throws_ok($$ SELECT user_metadata.set_document_rules('dr_b', '{"keys": {"n": "string"}}') $$, '23514',
				 '1 stored document of app "dr_b" breaks the new rules', 'rules that stored documents break are 23514');
SELECT is(user_metadata.get_document_rules('dr_b'), '{"other_keys": false, "keys": {"n": "number"}}',
		  'and the app keeps its rules');

-- one statement writing rows of several apps: each row meets its own app's
-- rules, read once per statement and app (the trigger keeps the last read)
SELECT throws_ok($$ INSERT INTO user_metadata.user_metadata (app_id, user_id, metadata)
					VALUES ('dr_a', 'dr_m1', '{"x": 1}'), ('dr_b', 'dr_m1', '{"x": 1}') $$, '23514',
				 'user metadata document breaks the rules of app "dr_b"', 'a row of dr_b after one of dr_a meets the rules of dr_b');
SELECT throws_ok($$ INSERT INTO user_metadata.user_metadata (app_id, user_id, metadata)
					VALUES ('dr_a', 'dr_m2', '{"age": 1}'), ('dr_b', 'dr_m2', '{"n": 1}'), ('dr_a', 'dr_m3', '{"age": "x"}') $$, '23514',
				 'user metadata document breaks the rules of app "dr_a"', 'and back to dr_a, the rules of dr_a');
-- rules set by the writing statement itself hold for its later rows
SELECT throws_ok($$ INSERT INTO user_metadata.user_metadata (app_id, user_id, metadata)
					SELECT 'dr_c', 'dr_g' || g, CASE WHEN g = 1 THEN '{"x": 1}'::jsonb
						ELSE (SELECT '{"x": 1}'::jsonb FROM user_metadata.set_document_rules('dr_c', '{"keys": {"x": "string"}}')) END
					FROM generate_series(1, 2) g $$, '23514',
				 'user metadata document breaks the rules of app "dr_c"', 'rules set halfway through a statement hold for its next rows');
-- the upsert: its proposed row follows the rules, the merged row does not
INSERT INTO user_metadata.user_metadata (app_id, user_id, metadata) VALUES ('dr_b', 'dr_m4', '{"n": 1}');
SELECT throws_ok($$ INSERT INTO user_metadata.user_metadata AS t (app_id, user_id, metadata) VALUES ('dr_b', 'dr_m4', '{"n": 2}')
					ON CONFLICT (app_id, user_id) DO UPDATE SET metadata = t.metadata OPERATOR(pg_catalog.||) '{"x": 1}' $$, '23514',
				 'user metadata document breaks the rules of app "dr_b"', 'an upsert''s update is checked after its proposed row');
SELECT is((SELECT metadata FROM user_metadata.user_metadata WHERE app_id = 'dr_b' AND user_id = 'dr_m4'), '{"n": 1}',
		  'and the document is unchanged');

SELECT * FROM finish();
ROLLBACK;
