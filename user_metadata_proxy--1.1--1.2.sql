/* user_metadata_proxy--1.1--1.2.sql: the owner's rights declared in the
 * catalogs (one SECURITY DEFINER function), as in user_metadata 1.3, and
 * admin scopes no longer cached */

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
