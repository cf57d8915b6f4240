/* user_metadata_proxy--1.1--1.2.sql: the owner's rights declared in the
 * catalogs (one SECURITY DEFINER function), as in user_metadata 1.3, admin
 * scopes no longer cached, and delete_user_metadata_key; partitions must
 * run user_metadata 1.3 first */

\echo Use "ALTER EXTENSION user_metadata_proxy UPDATE TO '1.2'" to load this file. \quit

-- The API functions stay SECURITY INVOKER, so that they can check their
-- caller's admin scope; then they call the partitions inside this one
-- SECURITY DEFINER function (src/admin_access.c), whose owner's user
-- mapping PL/Proxy connects with.  No SQL caller can pass it an internal
-- argument.
CREATE FUNCTION user_metadata.run_as_owner(internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'run_as_owner'
LANGUAGE C STRICT
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION user_metadata.run_as_owner(internal) IS
'internal: an API call''s remote work, with the extension owner''s rights, after the caller''s admin scope was checked';

REVOKE ALL ON FUNCTION user_metadata.run_as_owner(internal) FROM PUBLIC;

-- The scopes are read on every call: nothing to invalidate
DROP TRIGGER admin_scopes_changed ON user_metadata.admin_scopes;
DROP FUNCTION user_metadata.admin_scopes_changed();

-- delete_user_metadata_key, on the user's partition
CREATE FUNCTION user_metadata_remote.delete_user_metadata_key(user_id text, key text, app_id text)
RETURNS jsonb
LANGUAGE plproxy VOLATILE
SET client_min_messages = warning
SET search_path = pg_catalog, pg_temp
AS $$
	CLUSTER 'user_metadata';
	RUN ON user_metadata_remote.partition_hash(user_id);
	TARGET user_metadata.delete_user_metadata_key;
$$;

REVOKE ALL ON FUNCTION user_metadata_remote.delete_user_metadata_key(text, text, text) FROM PUBLIC;

CREATE FUNCTION user_metadata.delete_user_metadata_key(user_id text, key text, app_id text DEFAULT 'public'::text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'um_proxy_call'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION user_metadata.delete_user_metadata_key(text, text, text) IS
'atomically remove one root key from the user''s document on the user''s partition and return the document';

REVOKE ALL ON FUNCTION user_metadata.delete_user_metadata_key(text, text, text) FROM PUBLIC;
