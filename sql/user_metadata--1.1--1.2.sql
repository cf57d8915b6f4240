/* user_metadata--1.1--1.2.sql: per-app admin scopes, the bulk read
 * get_user_metadata_bulk, timestamps kept by the table's trigger, and an
 * admin API that checks its caller instead of running SECURITY DEFINER */

\echo Use "ALTER EXTENSION user_metadata UPDATE TO '1.2'" to load this file. \quit

-- The trigger now fires for every UPDATE, so that it keeps created_at and
-- sets updated_at whatever columns a writer assigns.
DROP TRIGGER normalize_document ON user_metadata.user_metadata;
CREATE TRIGGER normalize_document
	BEFORE INSERT OR UPDATE ON user_metadata.user_metadata
	FOR EACH ROW EXECUTE FUNCTION user_metadata.normalize_document();

-- Per-app admin scopes: a role that has the privileges of a role listed
-- here may use the admin API only for the apps listed for it.
CREATE TABLE user_metadata.admin_scopes (
	role		pg_catalog.regrole NOT NULL,
	app_id		text NOT NULL,
	PRIMARY KEY (role, app_id)
);

COMMENT ON TABLE user_metadata.admin_scopes IS
'roles confined to some apps in the admin API: a role with the privileges of a listed role may act only for the apps listed for it';

SELECT pg_catalog.pg_extension_config_dump('user_metadata.admin_scopes', '');

REVOKE ALL ON TABLE user_metadata.admin_scopes FROM PUBLIC;

-- Each backend caches the scopes; a change invalidates every cache
CREATE FUNCTION user_metadata.admin_scopes_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'admin_scopes_changed'
LANGUAGE C;

REVOKE ALL ON FUNCTION user_metadata.admin_scopes_changed() FROM PUBLIC;

CREATE TRIGGER admin_scopes_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON user_metadata.admin_scopes
	FOR EACH STATEMENT EXECUTE FUNCTION user_metadata.admin_scopes_changed();

-- The admin API checks its caller's scopes and switches to its owner
-- itself (the C functions of 1.2); the statements pin their search path.
ALTER FUNCTION user_metadata.get_user_metadata(text, text) SECURITY INVOKER RESET search_path;
ALTER FUNCTION user_metadata.get_user_metadata(text[], text) SECURITY INVOKER RESET search_path;
ALTER FUNCTION user_metadata.update_user_metadata(text, jsonb, text) SECURITY INVOKER RESET search_path;
ALTER FUNCTION user_metadata.set_user_metadata(text, jsonb, text) SECURITY INVOKER RESET search_path;
ALTER FUNCTION user_metadata.clear_user_metadata(text, text) SECURITY INVOKER RESET search_path;
ALTER FUNCTION user_metadata.find_users(jsonb, text) SECURITY INVOKER RESET search_path;
ALTER FUNCTION user_metadata.custom_user_data() RESET search_path;
ALTER PROCEDURE user_metadata.write_custom_user_data(jsonb, jsonb) RESET search_path;

-- The bulk read under a name that drivers sending lists untyped cannot
-- confuse with get_user_metadata(text)
CREATE FUNCTION user_metadata.get_user_metadata_bulk(user_ids text[], app_id text DEFAULT 'public')
RETURNS TABLE (user_id text, metadata jsonb)
AS 'MODULE_PATHNAME', 'get_many_user_metadata'
LANGUAGE C STABLE PARALLEL RESTRICTED;

COMMENT ON FUNCTION user_metadata.get_user_metadata(text[], text) IS
'deprecated: use get_user_metadata_bulk, which drivers that send lists untyped cannot confuse with get_user_metadata(text)';
COMMENT ON FUNCTION user_metadata.get_user_metadata_bulk(text[], text) IS
'the documents of many users, one row per id in the order given, {} for unknown ids';

REVOKE ALL ON FUNCTION user_metadata.get_user_metadata_bulk(text[], text) FROM PUBLIC;
