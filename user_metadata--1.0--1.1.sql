/* user_metadata--1.0--1.1.sql: identity, Atlas-style custom user data,
 * row-level security, the merge trigger and change notifications */

\echo Use "ALTER EXTENSION user_metadata UPDATE TO '1.1'" to load this file. \quit

-- Pure functions are for everyone; the table and the admin API stay private.
GRANT USAGE ON SCHEMA user_metadata TO PUBLIC;

-- Identity set by a trusted tier (see README, "Trust boundary")
CREATE FUNCTION user_metadata.current_user_id()
RETURNS text
AS 'MODULE_PATHNAME', 'current_user_id'
LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION user_metadata.current_app_id()
RETURNS text
AS 'MODULE_PATHNAME', 'current_app_id'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION user_metadata.current_user_id() IS
'the calling user: setting user_metadata.user_id, else the sub claim of request.jwt.claims';
COMMENT ON FUNCTION user_metadata.current_app_id() IS
'the calling app: setting user_metadata.app_id (default public)';

-- A client role sees and writes only the current user's document.
ALTER TABLE user_metadata.user_metadata ENABLE ROW LEVEL SECURITY;
CREATE POLICY current_user_only ON user_metadata.user_metadata
	USING (user_id OPERATOR(pg_catalog.=) user_metadata.current_user_id()
		   AND app_id OPERATOR(pg_catalog.=) user_metadata.current_app_id())
	WITH CHECK (user_id OPERATOR(pg_catalog.=) user_metadata.current_user_id()
				AND app_id OPERATOR(pg_catalog.=) user_metadata.current_app_id());

-- Atlas App Services' custom user data, with the caller's rights
CREATE FUNCTION user_metadata.custom_user_data()
RETURNS jsonb
AS 'MODULE_PATHNAME', 'custom_user_data'
LANGUAGE C STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;

CREATE PROCEDURE user_metadata.write_custom_user_data(new_data jsonb, INOUT custom_data jsonb DEFAULT NULL)
AS 'MODULE_PATHNAME', 'write_custom_user_data'
LANGUAGE C
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION user_metadata.custom_user_data() IS
'the current user''s document, {} if none (Atlas refreshCustomData)';
COMMENT ON PROCEDURE user_metadata.write_custom_user_data(jsonb, jsonb) IS
'merge new_data into the current user''s document and return it in custom_data (Atlas writeCustomUserData)';

REVOKE ALL ON FUNCTION user_metadata.custom_user_data() FROM PUBLIC;
REVOKE ALL ON PROCEDURE user_metadata.write_custom_user_data(jsonb, jsonb) FROM PUBLIC;

-- A trigger any table can use to make plain writes of jsonb columns merge
CREATE FUNCTION user_metadata.merge_trigger()
RETURNS trigger
AS 'MODULE_PATHNAME', 'merge_trigger'
LANGUAGE C;

COMMENT ON FUNCTION user_metadata.merge_trigger() IS
'BEFORE INSERT OR UPDATE row trigger: each jsonb column named in its arguments becomes jsonb_merge(OLD, NEW)';

-- Change notifications, sent when user_metadata.notify is on
CREATE FUNCTION user_metadata.notify_change()
RETURNS trigger
AS 'MODULE_PATHNAME', 'notify_change'
LANGUAGE C;

REVOKE ALL ON FUNCTION user_metadata.notify_change() FROM PUBLIC;

CREATE TRIGGER notify_change
	AFTER INSERT OR UPDATE OR DELETE ON user_metadata.user_metadata
	FOR EACH ROW EXECUTE FUNCTION user_metadata.notify_change();
