--
-- test/pgtap/security.sql: the privilege matrix.  Real roles (the owner, a
-- client role granted the documented client privileges, an unrelated role)
-- call every function and touch the table for their own user and for
-- another, each call either allowed or refused with 42501; then the owner
-- of the database, not a superuser, tries the paths to the owner's rights.
--
BEGIN;
SELECT plan(88);

CREATE ROLE um_test_client;
CREATE ROLE um_test_stranger;
-- the documented client privileges (README, "Per-user security")
GRANT SELECT, INSERT, UPDATE, DELETE ON user_metadata.user_metadata TO um_test_client;
GRANT EXECUTE ON FUNCTION user_metadata.custom_user_data() TO um_test_client;
GRANT EXECUTE ON PROCEDURE user_metadata.write_custom_user_data(jsonb, jsonb) TO um_test_client;

INSERT INTO user_metadata.user_metadata (user_id, metadata)
VALUES ('sec_me', '{"who":"me"}'), ('sec_them', '{"who":"them"}');

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
		IF stmt LIKE 'CALL %' THEN
			EXECUTE stmt;
			result := 'called';
		ELSE
			EXECUTE stmt INTO result;
			result := coalesce(result, '(no row)');
		END IF;
		RAISE EXCEPTION USING ERRCODE = 'UM001', MESSAGE = result;
	EXCEPTION WHEN OTHERS THEN
		IF SQLSTATE = 'UM001' THEN
			RETURN SQLERRM;
		END IF;
		RETURN 'error ' || SQLSTATE;
	END;
END $$;

-- role x statement x own/other: %s is the target user
CREATE TEMP TABLE matrix (stmt text, owner_own text, owner_other text, client_own text, client_other text,
						  stranger_own text, stranger_other text);
INSERT INTO matrix VALUES
	('SELECT user_metadata.get_user_metadata(%L)->>''who''', 'me', 'them', 'error 42501', 'error 42501', 'error 42501', 'error 42501'),
	('SELECT metadata->>''who'' FROM user_metadata.get_user_metadata(ARRAY[%L])', 'me', 'them', 'error 42501', 'error 42501', 'error 42501', 'error 42501'),
	('SELECT user_metadata.update_user_metadata(%L, ''{"x":1}'')->>''who''', 'me', 'them', 'error 42501', 'error 42501', 'error 42501', 'error 42501'),
	('SELECT user_metadata.set_user_metadata(%L, ''{"who":"new"}'')->>''who''', 'new', 'new', 'error 42501', 'error 42501', 'error 42501', 'error 42501'),
	('SELECT user_metadata.clear_user_metadata(%L)::text', 'true', 'true', 'error 42501', 'error 42501', 'error 42501', 'error 42501'),
	('SELECT string_agg(u, '','') FROM user_metadata.find_users(jsonb_build_object(''who'', right(%L, -4))) u', 'sec_me', 'sec_them', 'error 42501', 'error 42501', 'error 42501', 'error 42501'),
	('SELECT metadata->>''who'' FROM user_metadata.user_metadata WHERE user_id = %L', 'me', 'them', 'me', '(no row)', 'error 42501', 'error 42501'),
	('INSERT INTO user_metadata.user_metadata (user_id, metadata) VALUES (%L || ''_2'', ''{}'') RETURNING ''inserted''', 'inserted', 'inserted', 'error 42501', 'error 42501', 'error 42501', 'error 42501'),
	('UPDATE user_metadata.user_metadata SET metadata = ''{}'' WHERE user_id = %L RETURNING ''updated''', 'updated', 'updated', 'updated', '(no row)', 'error 42501', 'error 42501'),
	('DELETE FROM user_metadata.user_metadata WHERE user_id = %L RETURNING ''deleted''', 'deleted', 'deleted', 'deleted', '(no row)', 'error 42501', 'error 42501');

-- the client functions act for the current user; "other" names a user the
-- caller is not, so the result must still be the caller's own document
CREATE TEMP TABLE client_calls (stmt text, owner_result text, client_result text, stranger_result text);
INSERT INTO client_calls VALUES
	('SELECT user_metadata.custom_user_data()->>''who''', 'me', 'me', 'error 42501'),
	('CALL user_metadata.write_custom_user_data(''{"x":1}'')', 'called', 'called', 'error 42501'),
	('SELECT user_metadata.current_user_id()', 'sec_me', 'sec_me', 'sec_me'),
	('SELECT user_metadata.jsonb_merge(''{"a":1}'', ''{"b":2}'')::text', '{"a": 1, "b": 2}', '{"a": 1, "b": 2}', '{"a": 1, "b": 2}');

SELECT is(pg_temp.run_as(r.role, 'sec_me', format(m.stmt, 'sec_' || r.target)),
		  CASE r.role || '/' || r.target
			  WHEN 'postgres/me' THEN m.owner_own WHEN 'postgres/them' THEN m.owner_other
			  WHEN 'um_test_client/me' THEN m.client_own WHEN 'um_test_client/them' THEN m.client_other
			  WHEN 'um_test_stranger/me' THEN m.stranger_own ELSE m.stranger_other END,
		  format('%s acting for sec_me, target %s: %s', r.role, r.target, format(m.stmt, 'sec_' || r.target)))
FROM matrix m,
	 (VALUES ('postgres', 'me'), ('postgres', 'them'), ('um_test_client', 'me'), ('um_test_client', 'them'),
			 ('um_test_stranger', 'me'), ('um_test_stranger', 'them')) AS r(role, target)
ORDER BY m.stmt, r.role, r.target;

SELECT is(pg_temp.run_as(r.role, 'sec_me', c.stmt),
		  CASE r.role WHEN 'postgres' THEN c.owner_result WHEN 'um_test_client' THEN c.client_result ELSE c.stranger_result END,
		  format('%s acting for sec_me: %s', r.role, c.stmt))
FROM client_calls c, (VALUES ('postgres'), ('um_test_client'), ('um_test_stranger')) AS r(role)
ORDER BY c.stmt, r.role;

-- whoever sets user_metadata.user_id is that user: only a trusted tier may
SELECT is(pg_temp.run_as('um_test_client', 'sec_them', 'SELECT user_metadata.custom_user_data()->>''who'''), 'them',
		  'with user_metadata.user_id set to another user, the client reads only that user (the trust boundary)');
SELECT is(pg_temp.run_as('um_test_client', 'sec_me',
						 'SELECT count(*)::text FROM user_metadata.user_metadata'), '1',
		  'row-level security: the client sees exactly one row, its own');
SELECT is(pg_temp.run_as('um_test_client', 'sec_me',
						 'UPDATE user_metadata.user_metadata SET user_id = ''sec_other'' WHERE user_id = ''sec_me'' RETURNING 1'),
		  'error 42501', 'row-level security: the client cannot move its row to another user');
SELECT is(pg_temp.run_as('um_test_client', '',
						 'SELECT count(*)::text FROM user_metadata.user_metadata'), 'error 28000',
		  'a client with no current user is refused with 28000');
-- The database's owner, not a superuser, against the extension's objects:
-- the owner's rights are reached only through run_as_owner, after a scope check
CREATE ROLE um_test_dbowner;
DO $$ BEGIN EXECUTE format('ALTER DATABASE %I OWNER TO um_test_dbowner', current_database()); END $$;
SELECT is(pg_temp.run_as('um_test_dbowner', 'sec_me', s.stmt), 'error 42501', 'the database owner ' || s.what)
FROM (VALUES
	('SELECT metadata::text FROM user_metadata.user_metadata', 'cannot read the table'),
	('SELECT user_metadata.get_user_metadata(''sec_them'')::text', 'cannot call the admin API'),
	('INSERT INTO user_metadata.admin_scopes VALUES (''um_test_dbowner'', ''x'') RETURNING 1', 'cannot write the scopes'),
	('DELETE FROM user_metadata.admin_scopes RETURNING 1', 'cannot remove a scope'),
	('ALTER FUNCTION user_metadata.run_as_owner(internal) RESET search_path', 'cannot change run_as_owner''s search path'),
	('CREATE FUNCTION user_metadata.get_user_metadata(text) RETURNS jsonb LANGUAGE sql AS ''SELECT NULL::jsonb''',
	 'cannot add an overload in the extension''s schema'),
	('CREATE TRIGGER t BEFORE INSERT ON user_metadata.user_metadata FOR EACH ROW EXECUTE FUNCTION user_metadata.merge_trigger()',
	 'cannot add a trigger to the table'),
	('ALTER TABLE user_metadata.user_metadata DISABLE ROW LEVEL SECURITY', 'cannot turn row-level security off')
) AS s (stmt, what)
ORDER BY s.what;
SELECT ok(NOT has_function_privilege('um_test_dbowner', 'user_metadata.run_as_owner(internal)', 'EXECUTE')
		  AND NOT has_function_privilege('public', 'user_metadata.run_as_owner(internal)', 'EXECUTE'),
		  'neither the database owner nor PUBLIC may execute run_as_owner');
SELECT is(pg_temp.run_as('um_test_dbowner', 'sec_me',
						 'SELECT string_agg(proname, '','') FROM pg_proc WHERE pronamespace = ''user_metadata''::regnamespace AND prosecdef'),
		  'run_as_owner', 'what the database owner sees: one SECURITY DEFINER function, run_as_owner');
SELECT is(user_metadata.get_user_metadata('sec_them'), '{"who":"them"}', 'nothing the roles tried changed another user''s row');
SELECT is(user_metadata.get_user_metadata('sec_me'), '{"who":"me"}', 'nothing the roles tried was kept');

SELECT * FROM finish();
ROLLBACK;
