--
-- test/pgtap/history.sql: the change history's rights and SQLSTATEs.  Who
-- may call set_history, prune_history, forget_user, user_metadata_history
-- and get_user_metadata_as_of (a granted admin, a role scoped to one app, a
-- client, a stranger); row-level security of the history table; that every
-- writer's write is recorded with its role and identity and nobody writes
-- the history directly; the SQLSTATE of every refused call.
--
BEGIN;
SELECT plan(53);

CREATE ROLE um_h_admin;
CREATE ROLE um_h_scoped;
CREATE ROLE um_h_client;
CREATE ROLE um_h_stranger;
GRANT EXECUTE ON FUNCTION
	user_metadata.set_history(text, boolean, interval, integer),
	user_metadata.prune_history(text),
	user_metadata.forget_user(text, text),
	user_metadata.user_metadata_history(text, text),
	user_metadata.get_user_metadata_as_of(text, timestamptz, text),
	user_metadata.update_user_metadata(text, jsonb, text)
TO um_h_admin, um_h_scoped;
INSERT INTO user_metadata.admin_scopes VALUES ('um_h_scoped', 'h_a1');
-- the documented client privileges, and reading its own history
GRANT SELECT, INSERT, UPDATE, DELETE ON user_metadata.user_metadata TO um_h_client;
GRANT SELECT ON user_metadata.user_metadata_history TO um_h_client;

-- Run stmt as role acting for user_id; the first column as text, '(no row)',
-- or 'error SQLSTATE'.  Everything it did is rolled back.
CREATE FUNCTION pg_temp.run_as(role name, user_id text, stmt text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	result text;
BEGIN
	BEGIN
		EXECUTE format('SET LOCAL ROLE %I', role);
		PERFORM set_config('user_metadata.user_id', user_id, true);
		EXECUTE stmt INTO result;
		RAISE EXCEPTION USING ERRCODE = 'UM001', MESSAGE = coalesce(result, '(no row)');
	EXCEPTION WHEN OTHERS THEN
		IF SQLSTATE = 'UM001' THEN
			RETURN SQLERRM;
		END IF;
		RETURN 'error ' || SQLSTATE;
	END;
END $$;

-- The SQLSTATE of stmt after setup, 00000 if it passed; both rolled back
CREATE FUNCTION pg_temp.state_after(setup text, stmt text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	BEGIN
		EXECUTE setup;
		EXECUTE stmt;
		RAISE EXCEPTION USING ERRCODE = 'UM001';
	EXCEPTION WHEN OTHERS THEN
		RETURN CASE WHEN SQLSTATE = 'UM001' THEN '00000' ELSE SQLSTATE END;
	END;
END $$;

-- nothing of the history is for PUBLIC
SELECT is((SELECT count(*) FROM pg_proc WHERE pronamespace = 'user_metadata'::regnamespace
		   AND proname IN ('set_history', 'prune_history', 'forget_user', 'user_metadata_history',
						   'get_user_metadata_as_of', 'record_history')
		   AND has_function_privilege('public', oid, 'EXECUTE')), 0::bigint,
	'PUBLIC may execute none of the history functions');
SELECT is(has_table_privilege('public', 'user_metadata.user_metadata_history', 'SELECT'), false,
	'PUBLIC cannot read the history table');
SELECT is(has_table_privilege('public', 'user_metadata.history_settings', 'SELECT'), false,
	'PUBLIC cannot read the settings');
SELECT is((SELECT relrowsecurity FROM pg_class WHERE oid = 'user_metadata.user_metadata_history'::regclass), true,
	'the history table has row-level security');
SELECT is((SELECT prosecdef FROM pg_proc WHERE oid = 'user_metadata.record_history()'::regprocedure), false,
	'the trigger is not SECURITY DEFINER: it records through run_as_owner');

-- set_history: admins, the scoped admin for its app only
SELECT is(pg_temp.run_as('um_h_admin', '', $$SELECT user_metadata.set_history('h_a2', true)::text$$), '',
	'a granted admin turns history on for any app');
SELECT is(pg_temp.run_as('um_h_scoped', '', $$SELECT user_metadata.set_history('h_a1', true)::text$$), '',
	'a scoped admin turns history on for its app');
SELECT is(pg_temp.run_as('um_h_scoped', '', $$SELECT user_metadata.set_history('h_a2', false)::text$$), 'error 42501',
	'a scoped admin cannot turn history off for another app (42501)');
SELECT is(pg_temp.run_as('um_h_client', 'c1', $$SELECT user_metadata.set_history('h_a1', false)::text$$), 'error 42501',
	'a client cannot call set_history (42501)');
SELECT is(pg_temp.run_as('um_h_stranger', '', $$SELECT user_metadata.set_history('h_a1', false)::text$$), 'error 42501',
	'a stranger cannot call set_history (42501)');
SELECT is(pg_temp.run_as('um_h_client', 'c1', $$INSERT INTO user_metadata.history_settings VALUES ('h_a1', false) RETURNING 1$$),
	'error 42501', 'a client cannot write the settings (42501)');

SELECT user_metadata.set_history('h_a1', true);
SELECT user_metadata.set_history('h_a2', true);
SELECT user_metadata.set_history('public', true);
SELECT user_metadata.update_user_metadata('c1', '{"a":1}', 'h_a1');
SELECT user_metadata.update_user_metadata('c1', '{"b":2}', 'h_a2');
SELECT user_metadata.update_user_metadata('c2', '{"other":1}');

-- a client's direct writes are recorded with its role and identity
SET LOCAL ROLE um_h_client;
SET LOCAL user_metadata.user_id = 'c1';
INSERT INTO user_metadata.user_metadata (user_id, metadata) VALUES ('c1', '{"mine":1}');
UPDATE user_metadata.user_metadata SET metadata = '{"mine":2}' WHERE user_id = 'c1';
RESET ROLE;
RESET user_metadata.user_id;
SELECT is((SELECT string_agg(changed_by || '/' || changed_by_user_id || '/' || metadata::text, ' ' ORDER BY changed_at)
		   FROM user_metadata.user_metadata_history('c1')),
	'um_h_client/c1/{"mine": 1} um_h_client/c1/{"mine": 2}',
	'a client''s direct writes are recorded with its role and user id');
-- and with run_as_owner's own search path: it is not the owner, so the trigger still switches
SET LOCAL ROLE um_h_client;
SET LOCAL user_metadata.user_id = 'c9';
SET LOCAL search_path = pg_catalog, pg_temp;
INSERT INTO user_metadata.user_metadata (user_id, metadata) VALUES ('c9', '{"pinned":1}');
RESET ROLE;
RESET user_metadata.user_id;
RESET search_path;
SELECT is((SELECT string_agg(changed_by || '/' || metadata::text, ' ') FROM user_metadata.user_metadata_history('c9')),
	'um_h_client/{"pinned": 1}', 'a client''s direct write with the owner''s search path is recorded too');

-- the reads: admins, the scoped admin for its app only
SELECT is(pg_temp.run_as('um_h_admin', '', $$SELECT count(*)::text FROM user_metadata.user_metadata_history('c1', 'h_a2')$$), '1',
	'a granted admin reads any app''s history');
SELECT is(pg_temp.run_as('um_h_scoped', '', $$SELECT count(*)::text FROM user_metadata.user_metadata_history('c1', 'h_a1')$$), '1',
	'a scoped admin reads its app''s history');
SELECT is(pg_temp.run_as('um_h_scoped', '', $$SELECT count(*)::text FROM user_metadata.user_metadata_history('c1', 'h_a2')$$), 'error 42501',
	'a scoped admin cannot read another app''s history (42501)');
SELECT is(pg_temp.run_as('um_h_scoped', '', $$SELECT user_metadata.get_user_metadata_as_of('c1', 'infinity', 'h_a1')::text$$), '{"a": 1}',
	'a scoped admin reads its app''s document as of a moment');
SELECT is(pg_temp.run_as('um_h_scoped', '', $$SELECT user_metadata.get_user_metadata_as_of('c1', now(), 'h_a2')::text$$), 'error 42501',
	'a scoped admin cannot read another app''s past documents (42501)');
SELECT is(pg_temp.run_as('um_h_scoped', '', $$SELECT user_metadata.prune_history('h_a2')::text$$), 'error 42501',
	'a scoped admin cannot prune another app (42501)');
SELECT is(pg_temp.run_as('um_h_scoped', '', $$SELECT user_metadata.forget_user('c1', 'h_a2')::text$$), 'error 42501',
	'a scoped admin cannot forget a user of another app (42501)');
SELECT is(pg_temp.run_as('um_h_scoped', '', $$SELECT user_metadata.forget_user('c1', 'h_a1')::text$$), 'true',
	'a scoped admin forgets a user of its app');
SELECT is(pg_temp.run_as('um_h_client', 'c1', $$SELECT count(*)::text FROM user_metadata.user_metadata_history('c1')$$), 'error 42501',
	'a client cannot call user_metadata_history (42501)');
SELECT is(pg_temp.run_as('um_h_client', 'c1', $$SELECT user_metadata.get_user_metadata_as_of('c1', now())::text$$), 'error 42501',
	'a client cannot call get_user_metadata_as_of (42501)');
SELECT is(pg_temp.run_as('um_h_client', 'c1', $$SELECT user_metadata.forget_user('c1')::text$$), 'error 42501',
	'a client cannot call forget_user (42501)');
SELECT is(pg_temp.run_as('um_h_stranger', '', $$SELECT count(*)::text FROM user_metadata.user_metadata_history('c1')$$), 'error 42501',
	'a stranger cannot read the history (42501)');

-- the table: a client granted SELECT sees only its own rows of its app
SELECT is(pg_temp.run_as('um_h_client', 'c1', $$SELECT string_agg(user_id || '@' || app_id, ',') FROM user_metadata.user_metadata_history$$),
	'c1@public,c1@public', 'a client sees only its own history rows, of its app');
SELECT is(pg_temp.run_as('um_h_client', 'c2', $$SELECT count(*)::text FROM user_metadata.user_metadata_history WHERE user_id = 'c1'$$),
	'0', 'a client sees none of another user''s rows');
SELECT is(pg_temp.run_as('um_h_client', 'c1', $$UPDATE user_metadata.user_metadata_history SET patch = NULL RETURNING 1$$),
	'error 42501', 'a client cannot rewrite its history (42501)');
SELECT is(pg_temp.run_as('um_h_client', 'c1', $$DELETE FROM user_metadata.user_metadata_history RETURNING 1$$),
	'error 42501', 'a client cannot delete its history (42501)');
SELECT is(pg_temp.run_as('um_h_client', 'c1',
	$$INSERT INTO user_metadata.user_metadata_history (app_id, user_id, changed_at, changed_by, doc_hash, since_full) VALUES ('public', 'c1', now(), 'x', 0, 0) RETURNING 1$$),
	'error 42501', 'a client cannot forge a history row (42501)');
SELECT is(pg_temp.run_as('um_h_stranger', 'c1', $$SELECT count(*)::text FROM user_metadata.user_metadata_history$$),
	'error 42501', 'a stranger cannot read the table (42501)');

-- the SQLSTATEs of the arguments
SELECT throws_ok($$SELECT user_metadata.set_history(NULL, true)$$, '22004', NULL, 'set_history: a NULL app id is 22004');
SELECT throws_ok($$SELECT user_metadata.set_history('', true)$$, '22023', NULL, 'set_history: an empty app id is 22023');
SELECT throws_ok($$SELECT user_metadata.set_history('public', NULL)$$, '22004', NULL, 'set_history: a NULL enabled is 22004');
SELECT throws_ok($$SELECT user_metadata.set_history('public', true, '0 s'::interval)$$, '22023', NULL, 'set_history: keep not positive is 22023');
SELECT throws_ok($$SELECT user_metadata.set_history('public', true, NULL, 0)$$, '22023', NULL, 'set_history: keep_count below 1 is 22023');
SELECT throws_ok($$SELECT user_metadata.get_user_metadata_as_of('c1', NULL)$$, '22004', NULL, 'get_user_metadata_as_of: a NULL moment is 22004');
SELECT throws_ok($$SELECT * FROM user_metadata.user_metadata_history(NULL)$$, '22004', NULL, 'user_metadata_history: a NULL user id is 22004');
SELECT throws_ok($$SELECT user_metadata.forget_user('c1', '')$$, '22023', NULL, 'forget_user: an empty app id is 22023');
SELECT throws_ok($$SELECT user_metadata.prune_history(NULL)$$, '22004', NULL, 'prune_history: a NULL app id is 22004');
SELECT throws_ok($$INSERT INTO user_metadata.history_settings VALUES ('bad', true, NULL, 0)$$, '23514', NULL,
	'the settings table refuses a count limit below 1 (23514)');

-- what a DBA does to the tables: clear errors, never a write without its history
SELECT is(pg_temp.state_after($$ALTER TABLE user_metadata.history_settings RENAME TO settings_elsewhere$$,
	$$SELECT user_metadata.update_user_metadata('c3', '{"x":1}')$$), '42P01',
	'without the settings table every write fails (42P01)');
SELECT is(pg_temp.state_after($$ALTER TABLE user_metadata.history_settings ALTER COLUMN keep_max_count TYPE bigint$$,
	$$SELECT user_metadata.update_user_metadata('c3', '{"x":1}')$$), '42804',
	'a retyped settings column fails every write (42804)');
SELECT is(pg_temp.state_after($$ALTER TABLE user_metadata.user_metadata_history RENAME TO history_elsewhere$$,
	$$SELECT user_metadata.update_user_metadata('c3', '{"x":1}')$$), '42P01',
	'without the history table a write of an app with history on fails (42P01)');
SELECT is(pg_temp.state_after($$ALTER TABLE user_metadata.user_metadata_history ALTER COLUMN since_full TYPE bigint$$,
	$$SELECT user_metadata.update_user_metadata('c3', '{"x":1}')$$), '42804',
	'a retyped history column a write reads fails the writes of an app with history on (42804)');
SELECT is(pg_temp.state_after($$ALTER TABLE user_metadata.user_metadata_history DROP CONSTRAINT user_metadata_history_pkey$$,
	$$SELECT user_metadata.update_user_metadata('c3', '{"x":1}')$$), '55000',
	'without its primary key, by which a write finds the last history row, the write fails (55000)');
-- What a DBA adds to the history table applies to the rows the writes
-- record: a row goes straight into the heap only when nothing added needs
-- the executor (history.c, plain_history_table).  probe's first column
-- after setup and stmt, or 'error SQLSTATE'; everything is rolled back.
CREATE FUNCTION pg_temp.probe_after(setup text, stmt text, probe text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	result text;
BEGIN
	BEGIN
		EXECUTE setup;
		EXECUTE stmt;
		EXECUTE probe INTO result;
		RAISE EXCEPTION USING ERRCODE = 'UM001', MESSAGE = coalesce(result, '(no row)');
	EXCEPTION WHEN OTHERS THEN
		RETURN CASE WHEN SQLSTATE = 'UM001' THEN SQLERRM ELSE 'error ' || SQLSTATE END;
	END;
END $$;
CREATE FUNCTION pg_temp.mark_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	NEW.changed_by := 'marked by a trigger';
	RETURN NEW;
END $$;
SELECT is(pg_temp.probe_after(
	$$CREATE TRIGGER mark BEFORE INSERT ON user_metadata.user_metadata_history FOR EACH ROW EXECUTE FUNCTION pg_temp.mark_row()$$,
	$$SELECT user_metadata.update_user_metadata('c4', '{"x":1}')$$,
	$$SELECT changed_by FROM user_metadata.user_metadata_history WHERE user_id = 'c4' ORDER BY seq DESC LIMIT 1$$),
	'marked by a trigger', 'a DBA''s BEFORE INSERT trigger on the history table changes the recorded row');
SELECT is(pg_temp.probe_after(
	$$ALTER TABLE user_metadata.user_metadata_history ADD COLUMN note text DEFAULT 'the default'$$,
	$$SELECT user_metadata.update_user_metadata('c4', '{"x":2}')$$,
	$$SELECT note FROM user_metadata.user_metadata_history WHERE user_id = 'c4' ORDER BY seq DESC LIMIT 1$$),
	'the default', 'a column a DBA added to the history table gets its default in every recorded row');
SELECT is(pg_temp.probe_after(
	$$CREATE TABLE public.um_h_log (user_id text);
	  CREATE RULE logged AS ON INSERT TO user_metadata.user_metadata_history DO ALSO INSERT INTO public.um_h_log VALUES (NEW.user_id)$$,
	$$SELECT user_metadata.update_user_metadata('c4', '{"x":3}')$$,
	$$SELECT string_agg(user_id, ',') FROM public.um_h_log$$),
	'c4', 'a DBA''s rule on the history table runs for every recorded row');
SELECT is(pg_temp.probe_after(
	$$ALTER TABLE user_metadata.user_metadata_history ADD CONSTRAINT no_secret CHECK (patch IS NULL OR NOT patch ? 'secret')$$,
	$$SELECT user_metadata.update_user_metadata('c4', '{"secret":1}')$$,
	$$SELECT 'recorded'$$),
	'error 23514', 'a DBA''s CHECK constraint on the history table refuses the write whose row breaks it (23514)');
SELECT is(pg_temp.probe_after(
	$$CREATE UNIQUE INDEX once ON user_metadata.user_metadata_history (app_id, user_id) WHERE patch ? 'once'$$,
	$$SELECT user_metadata.update_user_metadata('c4', '{"once":1}'); SELECT user_metadata.update_user_metadata('c4', '{"once":2}')$$,
	$$SELECT 'recorded twice'$$),
	'error 23505', 'a DBA''s unique index on the history table gets every recorded row: the second write it forbids fails (23505)');
SELECT is(pg_temp.probe_after(
	$$CREATE INDEX by_patch ON user_metadata.user_metadata_history USING gin (patch); SET LOCAL enable_seqscan = off$$,
	$$SELECT user_metadata.update_user_metadata('c4', '{"found":1}')$$,
	$$SELECT count(*) FROM user_metadata.user_metadata_history WHERE patch @> '{"found":1}'$$),
	'1', 'a DBA''s index on the history table finds the row a write recorded');
CREATE TABLE pg_temp.other (x int);
CREATE TRIGGER wrong BEFORE INSERT ON pg_temp.other FOR EACH ROW EXECUTE FUNCTION user_metadata.record_history();
SELECT throws_ok($$INSERT INTO pg_temp.other VALUES (1)$$, '39P01', NULL,
	'record_history fired other than AFTER ... FOR EACH ROW is 39P01');

SELECT * FROM finish();
ROLLBACK;
