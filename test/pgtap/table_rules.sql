--
-- test/pgtap/table_rules.sql: what the table and the admin API hold to
-- whoever writes: timestamps set by the table for every writer, triggers a
-- DBA adds (one that skips a write, changes it or refuses it), the bulk
-- read, and per-app admin scopes.
--
BEGIN;
SELECT plan(42);

CREATE ROLE um_rules_client;
GRANT SELECT, INSERT, UPDATE, DELETE ON user_metadata.user_metadata TO um_rules_client;
GRANT EXECUTE ON PROCEDURE user_metadata.write_custom_user_data(jsonb, jsonb) TO um_rules_client;

-- timestamps: now() is the transaction's start, the same all through this file
SET LOCAL ROLE um_rules_client;
SET LOCAL user_metadata.user_id = 'rules_client';
INSERT INTO user_metadata.user_metadata (user_id, metadata, created_at, updated_at)
VALUES ('rules_client', '{}', '1970-01-01', '2999-01-01');
RESET ROLE;
SELECT is((SELECT ARRAY[created_at, updated_at] FROM user_metadata.user_metadata WHERE user_id = 'rules_client'),
		  ARRAY[now(), now()], 'a client role''s INSERT gets the table''s timestamps, not its own');
UPDATE user_metadata.user_metadata SET created_at = now() - interval '2 days', updated_at = now() - interval '2 days'
WHERE user_id = 'rules_client';
SELECT is((SELECT ARRAY[created_at, updated_at] FROM user_metadata.user_metadata WHERE user_id = 'rules_client'),
		  ARRAY[now(), now()], 'an UPDATE of the timestamps alone, even by the owner, keeps created_at and sets updated_at');
INSERT INTO user_metadata.user_metadata (user_id, metadata, created_at, updated_at)
VALUES ('rules_old', '{"v":0}', now() - interval '2 days', now() - interval '1 day');
SELECT is((SELECT ARRAY[created_at, updated_at] FROM user_metadata.user_metadata WHERE user_id = 'rules_old'),
		  ARRAY[now() - interval '2 days', now() - interval '1 day'], 'the owner inserts rows with their timestamps (pg_restore, resharding)');
SET LOCAL ROLE um_rules_client;
SET LOCAL user_metadata.user_id = 'rules_old';
UPDATE user_metadata.user_metadata SET metadata = '{"v":1}', created_at = '1970-01-01', updated_at = '2999-01-01';
RESET ROLE;
SELECT is((SELECT ARRAY[created_at, updated_at] FROM user_metadata.user_metadata WHERE user_id = 'rules_old'),
		  ARRAY[now() - interval '2 days', now()], 'a client role''s UPDATE cannot move created_at or choose updated_at');

-- triggers a DBA adds: one that skips the write is an error, never a crash
CREATE TEMP TABLE before_triggers AS
	SELECT md5(string_agg(t::text, '|' ORDER BY app_id, user_id)) AS h FROM user_metadata.user_metadata t;
CREATE FUNCTION public.um_rules_skip() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER a_skip BEFORE INSERT OR UPDATE ON user_metadata.user_metadata
	FOR EACH ROW EXECUTE FUNCTION public.um_rules_skip();
SELECT throws_ok($$ SELECT user_metadata.update_user_metadata('rules_new', '{"a":1}') $$, '09000',
				 'the user metadata write was skipped by a trigger', 'update of a new user skipped by a trigger is 09000');
SELECT throws_ok($$ SELECT user_metadata.update_user_metadata('rules_old', '{"a":1}') $$, '09000',
				 'the user metadata write was skipped by a trigger', 'update of a stored user skipped by a trigger is 09000');
SELECT throws_ok($$ SELECT user_metadata.set_user_metadata('rules_old', '{"a":1}') $$, '09000',
				 'the user metadata write was skipped by a trigger', 'set skipped by a trigger is 09000');
SELECT throws_ok($$ CALL user_metadata.write_custom_user_data('{"a":1}') $$, '09000',
				 'the user metadata write was skipped by a trigger', 'write_custom_user_data skipped by a trigger is 09000');
DROP TRIGGER a_skip ON user_metadata.user_metadata;
-- a trigger that refuses a write with an error
CREATE FUNCTION public.um_rules_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit refuses' USING ERRCODE = 'UM042';
END $$;
CREATE TRIGGER a_refuse BEFORE INSERT OR UPDATE ON user_metadata.user_metadata
	FOR EACH ROW EXECUTE FUNCTION public.um_rules_refuse();
SELECT throws_ok($$ SELECT user_metadata.update_user_metadata('rules_old', '{"a":1}') $$, 'UM042', 'audit refuses',
				 'a trigger''s own error reaches the caller');
DROP TRIGGER a_refuse ON user_metadata.user_metadata;
SELECT is((SELECT md5(string_agg(t::text, '|' ORDER BY app_id, user_id)) FROM user_metadata.user_metadata t),
		  (SELECT h FROM before_triggers), 'skipped and refused writes changed no stored row');
-- a trigger that changes the row (named to fire after normalize_document)
CREATE FUNCTION public.um_rules_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	NEW.metadata := NEW.metadata || '{"audited": true}';
	RETURN NEW;
END $$;
CREATE TRIGGER z_stamp BEFORE INSERT OR UPDATE ON user_metadata.user_metadata
	FOR EACH ROW EXECUTE FUNCTION public.um_rules_stamp();
SELECT is(user_metadata.update_user_metadata('rules_old', '{"a":1}'), '{"v":1,"a":1,"audited":true}',
		  'update returns the row a changing trigger stored');
SELECT is(user_metadata.set_user_metadata('rules_stamped', '{"b":2}'), '{"b":2,"audited":true}',
		  'set returns the row a changing trigger stored');
DROP TRIGGER z_stamp ON user_metadata.user_metadata;

-- the bulk read
SELECT user_metadata.set_user_metadata('rules_b1', '{"n":1}'), user_metadata.set_user_metadata('rules_b2', '{"n":2}');
SELECT results_eq($$ SELECT * FROM user_metadata.get_user_metadata_bulk(ARRAY['rules_b2', 'unknown', 'rules_b1', 'rules_b2']) $$,
				  $$ VALUES ('rules_b2', '{"n":2}'::jsonb), ('unknown', '{}'), ('rules_b1', '{"n":1}'), ('rules_b2', '{"n":2}') $$,
				  'bulk read: one row per id asked, in order, duplicates repeated, {} for unknown ids');
SELECT is_empty($$ SELECT * FROM user_metadata.get_user_metadata_bulk('{}') $$, 'bulk read of no ids is empty');
SELECT results_eq($$ SELECT * FROM user_metadata.get_user_metadata_bulk(ARRAY['rules_b1'], 'other') $$,
				  $$ VALUES ('rules_b1', '{}'::jsonb) $$, 'bulk read stays in its app');
SELECT results_eq($$ SELECT * FROM user_metadata.get_user_metadata(ARRAY['rules_b1', 'rules_b2']) $$,
				  $$ SELECT * FROM user_metadata.get_user_metadata_bulk(ARRAY['rules_b1', 'rules_b2']) $$,
				  'the deprecated array overload answers as the bulk read');
SELECT throws_ok($$ SELECT * FROM user_metadata.get_user_metadata_bulk(NULL) $$, '22004', NULL, 'bulk read of NULL is 22004');
SELECT throws_ok($$ SELECT * FROM user_metadata.get_user_metadata_bulk(ARRAY['a', NULL]) $$, '22004', NULL,
				 'bulk read with a NULL id is 22004');
SELECT throws_ok($$ SELECT * FROM user_metadata.get_user_metadata_bulk(ARRAY['a', '']) $$, '22023', NULL,
				 'bulk read with an empty id is 22023');
SELECT throws_ok($$ SELECT * FROM user_metadata.get_user_metadata_bulk(ARRAY['a'], '') $$, '22023', NULL,
				 'bulk read with an empty app_id is 22023');
-- ids and documents come as flat lists: more dimensions are 2202E, as hstore has it
SELECT throws_ok($$ SELECT * FROM user_metadata.get_user_metadata_bulk(ARRAY[['rules_b1', 'rules_b2'], ['c', 'd']]) $$,
				 '2202E', 'argument "user_ids" must be a one-dimensional array', 'bulk read of a two-dimensional array is 2202E');
SELECT throws_ok($$ SELECT * FROM user_metadata.get_user_metadata(ARRAY[['rules_b1'], ['rules_b2']]) $$,
				 '2202E', NULL, 'the deprecated array read of a two-dimensional array is 2202E');
SELECT throws_ok($$ SELECT user_metadata.set_user_metadata_bulk(ARRAY[['md_a'], ['md_b']], ARRAY['{}', '{}']::jsonb[]) $$,
				 '2202E', 'argument "user_ids" must be a one-dimensional array', 'bulk write of two-dimensional ids is 2202E');
SELECT throws_ok($$ SELECT user_metadata.update_user_metadata_bulk(ARRAY['md_a', 'md_b'], ARRAY[['{}'], ['{}']]::jsonb[]) $$,
				 '2202E', 'argument "patches" must be a one-dimensional array', 'bulk update of two-dimensional patches is 2202E');
SELECT is((SELECT count(*) FROM user_metadata.user_metadata WHERE user_id IN ('md_a', 'md_b')), 0::bigint,
		  'the refused two-dimensional writes stored nothing');
-- long lists probe the primary key: never a scan of the whole table
INSERT INTO user_metadata.user_metadata (user_id, metadata) SELECT 'rules_f' || i, '{}' FROM generate_series(1, 20000) i;
ANALYZE user_metadata.user_metadata;
CREATE TEMP TABLE seq_scans AS SELECT pg_stat_get_xact_numscans('user_metadata.user_metadata'::regclass) AS n;
SELECT is((SELECT count(*) FROM user_metadata.get_user_metadata_bulk(
			(SELECT array_agg('rules_f' || i) FROM generate_series(1, 10000) i))), 10000::bigint,
		  'bulk read of 10 000 ids');
SELECT is(pg_stat_get_xact_numscans('user_metadata.user_metadata'::regclass), (SELECT n FROM seq_scans),
		  'bulk read of 10 000 ids does not scan the table sequentially');

-- per-app admin scopes
CREATE ROLE um_rules_admin_a;
CREATE ROLE um_rules_member;
CREATE ROLE um_rules_full;
GRANT um_rules_admin_a TO um_rules_member;
GRANT EXECUTE ON FUNCTION
	user_metadata.get_user_metadata(text, text), user_metadata.get_user_metadata(text[], text),
	user_metadata.get_user_metadata_bulk(text[], text), user_metadata.update_user_metadata(text, jsonb, text),
	user_metadata.set_user_metadata(text, jsonb, text), user_metadata.clear_user_metadata(text, text),
	user_metadata.find_users(jsonb, text)
TO um_rules_admin_a, um_rules_full;
INSERT INTO user_metadata.admin_scopes VALUES ('um_rules_admin_a', 'app_a');
SELECT user_metadata.set_user_metadata('scoped', '{"x":1}', 'app_a'), user_metadata.set_user_metadata('scoped', '{"x":2}', 'app_b');

SET LOCAL ROLE um_rules_admin_a;
SELECT is(user_metadata.get_user_metadata('scoped', 'app_a'), '{"x":1}', 'a role scoped to app_a reads app_a');
SELECT throws_ok($$ SELECT user_metadata.get_user_metadata('scoped', 'app_b') $$, '42501',
				 'permission denied for app "app_b"', 'a role scoped to app_a: get for app_b is 42501');
SELECT throws_ok($$ SELECT * FROM user_metadata.get_user_metadata_bulk(ARRAY['scoped'], 'app_b') $$, '42501', NULL,
				 'a role scoped to app_a: bulk read for app_b is 42501');
SELECT throws_ok($$ SELECT * FROM user_metadata.get_user_metadata(ARRAY['scoped'], 'app_b') $$, '42501', NULL,
				 'a role scoped to app_a: the array overload for app_b is 42501');
SELECT throws_ok($$ SELECT user_metadata.update_user_metadata('scoped', '{"y":1}', 'app_b') $$, '42501', NULL,
				 'a role scoped to app_a: update for app_b is 42501');
SELECT throws_ok($$ SELECT user_metadata.set_user_metadata('scoped', '{}', 'app_b') $$, '42501', NULL,
				 'a role scoped to app_a: set for app_b is 42501');
SELECT throws_ok($$ SELECT user_metadata.clear_user_metadata('scoped', 'app_b') $$, '42501', NULL,
				 'a role scoped to app_a: clear for app_b is 42501');
SELECT throws_ok($$ SELECT * FROM user_metadata.find_users('{}', 'app_b') $$, '42501', NULL,
				 'a role scoped to app_a: find_users for app_b is 42501');
SET LOCAL ROLE um_rules_member;
SELECT throws_ok($$ SELECT user_metadata.get_user_metadata('scoped', 'app_b') $$, '42501', NULL,
				 'a member of a scoped role is confined with it');
SELECT is(user_metadata.update_user_metadata('scoped', '{"y":1}', 'app_a'), '{"x":1,"y":1}',
		  'a member of a scoped role writes in its app');
SET LOCAL ROLE um_rules_full;
SELECT is(user_metadata.get_user_metadata('scoped', 'app_b'), '{"x":2}', 'a role granted the API with no scope acts for every app');
RESET ROLE;
SELECT is((SELECT metadata FROM user_metadata.user_metadata WHERE app_id = 'app_b' AND user_id = 'scoped'), '{"x":2}',
		  'refused calls changed nothing in app_b');
DELETE FROM user_metadata.admin_scopes WHERE role = 'um_rules_admin_a'::regrole;
SET LOCAL ROLE um_rules_admin_a;
SELECT is(user_metadata.get_user_metadata('scoped', 'app_b'), '{"x":2}', 'removing the scope takes effect at once');
RESET ROLE;
-- without the table of scopes, every role but a superuser is refused
ALTER EXTENSION user_metadata DROP TABLE user_metadata.admin_scopes;
DROP TABLE user_metadata.admin_scopes;
SET LOCAL ROLE um_rules_full;
SELECT throws_ok($$ SELECT user_metadata.get_user_metadata('scoped', 'app_a') $$, '42P01',
				 'table user_metadata.admin_scopes does not exist',
				 'admin_scopes dropped: an unscoped role is refused with 42P01 (the check fails closed)');
RESET ROLE;
SELECT is(user_metadata.get_user_metadata('scoped', 'app_a'), '{"x":1,"y":1}', 'admin_scopes dropped: a superuser still acts');

SELECT * FROM finish();
ROLLBACK;
