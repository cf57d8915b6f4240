--
-- custom_user_data: identity and the Atlas-style server functions.
--
SET search_path = user_metadata, public;
-- no identity: 28000 with a hint naming the setting
SELECT current_user_id();
\echo :LAST_ERROR_SQLSTATE
SELECT custom_user_data();
\echo :LAST_ERROR_SQLSTATE
-- the trusted tier names the user per transaction
BEGIN;
SET LOCAL user_metadata.user_id = 'atlas-user';
SELECT current_user_id(), current_app_id();
-- writeCustomUserData: upsert for the current user, root-level merge
CALL write_custom_user_data('{"userId":"atlas-user","favoriteFood":"pizza","lastUpdated":1700000000000}');
CALL write_custom_user_data('{"favoriteFood":"tacos","lastUpdated":null}');
-- refreshCustomData
SELECT custom_user_data();
COMMIT;
-- SET LOCAL ended with the transaction
SELECT current_user_id();
\echo :LAST_ERROR_SQLSTATE
-- the same document through the admin API
SELECT get_user_metadata('atlas-user');
-- PostgREST: the sub claim of the verified JWT when user_metadata.user_id is empty
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
-- apps: user_metadata.app_id names the caller's app
BEGIN;
SET LOCAL user_metadata.user_id = 'atlas-user';
SET LOCAL user_metadata.app_id = 'second-app';
CALL write_custom_user_data('{"other":"app"}');
SELECT custom_user_data();
SET LOCAL user_metadata.app_id = '';
SELECT current_app_id();
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- bad input to the procedure
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
SELECT get_user_metadata('atlas-user');
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
