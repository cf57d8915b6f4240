/* user_metadata--1.2.sql: merge functions, the per-user store, identity,
 * Atlas-style custom user data, row-level security, the merge trigger and
 * change notifications */

\echo Use "CREATE EXTENSION user_metadata" to load this file. \quit

/*
 * CREATE EXTENSION creates schema user_metadata when it is missing.  One
 * that already exists is used only if nobody but a superuser could have put
 * anything in it: empty, owned by a superuser, and no other role may create
 * in it (as pg_restore leaves it).  Otherwise a role with CREATE on the
 * database could have planted functions for the extension to call.
 */
DO $$
DECLARE
	nsp pg_catalog.oid := 'user_metadata'::pg_catalog.regnamespace;
BEGIN
	IF EXISTS (SELECT FROM pg_catalog.pg_depend
			   WHERE refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_namespace'::pg_catalog.regclass
				 AND refobjid OPERATOR(pg_catalog.=) nsp
				 AND NOT (classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
						  AND objid OPERATOR(pg_catalog.=) (SELECT oid FROM pg_catalog.pg_extension
														  WHERE extname OPERATOR(pg_catalog.=) 'user_metadata'::pg_catalog.name)))
	   OR NOT (SELECT r.rolsuper FROM pg_catalog.pg_namespace n
			   JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) n.nspowner
			   WHERE n.oid OPERATOR(pg_catalog.=) nsp)
	   OR EXISTS (SELECT FROM pg_catalog.pg_roles r
				  WHERE NOT r.rolsuper
					AND pg_catalog.has_schema_privilege(r.oid, nsp, 'CREATE'::pg_catalog.text))
	THEN
		RAISE EXCEPTION 'schema "user_metadata" already exists and was not made safe for the extension'
			USING ERRCODE = 'duplicate_schema',
				  DETAIL = 'It holds objects, is owned by a role that is not a superuser, or a role that is not a superuser may create objects in it.',
				  HINT = 'Drop or rename that schema (after checking what is in it), then run CREATE EXTENSION user_metadata again.';
	END IF;
END
$$;

CREATE FUNCTION user_metadata.jsonb_merge(stored jsonb, patch jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'jsonb_merge'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION user_metadata.jsonb_merge(jsonb, jsonb) IS
'root-level merge: each root key of patch replaces the stored one, root nulls are removed';

CREATE FUNCTION user_metadata.jsonb_merge_patch(target jsonb, patch jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'jsonb_merge_patch'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION user_metadata.jsonb_merge_patch(jsonb, jsonb) IS
'RFC 7396 JSON Merge Patch: objects merge recursively, a null removes the key at any depth';

-- The per-user store.  Writes go through the functions below, which merge
-- inside one INSERT ... ON CONFLICT statement; the trigger normalize_document
-- holds every write to the document rules and keeps the timestamps.
CREATE TABLE user_metadata.user_metadata (
	app_id		text NOT NULL DEFAULT 'public',
	user_id		text NOT NULL,
	metadata	jsonb NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	updated_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (app_id, user_id),
	CONSTRAINT user_metadata_ids_valid
		CHECK (pg_catalog.octet_length(app_id) BETWEEN 1 AND 512
			   AND pg_catalog.octet_length(user_id) BETWEEN 1 AND 512),
	CONSTRAINT user_metadata_metadata_is_object
		CHECK (pg_catalog.jsonb_typeof(metadata) OPERATOR(pg_catalog.=) 'object'::pg_catalog.text)
);

CREATE INDEX user_metadata_metadata_idx
	ON user_metadata.user_metadata USING gin (metadata jsonb_path_ops);

COMMENT ON TABLE user_metadata.user_metadata IS
'one JSON object of metadata per (app_id, user_id); write it through the user_metadata functions';

SELECT pg_catalog.pg_extension_config_dump('user_metadata.user_metadata', '');

REVOKE ALL ON TABLE user_metadata.user_metadata FROM PUBLIC;

-- Every write, through the functions or straight to the table, stores an
-- object without root nulls within user_metadata.max_document_bytes, and
-- sets created_at on insert and updated_at on every write.
CREATE FUNCTION user_metadata.normalize_document()
RETURNS trigger
AS 'MODULE_PATHNAME', 'normalize_document'
LANGUAGE C;

REVOKE ALL ON FUNCTION user_metadata.normalize_document() FROM PUBLIC;

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

-- The admin API takes any user id and is not executable by PUBLIC.  Each
-- call checks the caller's admin scopes, then runs its statements as the
-- function's owner with pg_catalog alone as the search path.
CREATE FUNCTION user_metadata.get_user_metadata(user_id text, app_id text DEFAULT 'public')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'get_user_metadata'
LANGUAGE C STABLE PARALLEL RESTRICTED;

CREATE FUNCTION user_metadata.get_user_metadata(user_ids text[], app_id text DEFAULT 'public')
RETURNS TABLE (user_id text, metadata jsonb)
AS 'MODULE_PATHNAME', 'get_many_user_metadata'
LANGUAGE C STABLE PARALLEL RESTRICTED;

CREATE FUNCTION user_metadata.get_user_metadata_bulk(user_ids text[], app_id text DEFAULT 'public')
RETURNS TABLE (user_id text, metadata jsonb)
AS 'MODULE_PATHNAME', 'get_many_user_metadata'
LANGUAGE C STABLE PARALLEL RESTRICTED;

CREATE FUNCTION user_metadata.update_user_metadata(user_id text, patch jsonb, app_id text DEFAULT 'public')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'update_user_metadata'
LANGUAGE C VOLATILE;

CREATE FUNCTION user_metadata.set_user_metadata(user_id text, metadata jsonb, app_id text DEFAULT 'public')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'set_user_metadata'
LANGUAGE C VOLATILE;

CREATE FUNCTION user_metadata.clear_user_metadata(user_id text, app_id text DEFAULT 'public')
RETURNS boolean
AS 'MODULE_PATHNAME', 'clear_user_metadata'
LANGUAGE C VOLATILE;

CREATE FUNCTION user_metadata.find_users(filter jsonb, app_id text DEFAULT 'public')
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'find_users'
LANGUAGE C STABLE PARALLEL RESTRICTED;

COMMENT ON FUNCTION user_metadata.get_user_metadata(text, text) IS
'the stored document of one user, {} when there is none';
COMMENT ON FUNCTION user_metadata.get_user_metadata(text[], text) IS
'deprecated: use get_user_metadata_bulk, which drivers that send lists untyped cannot confuse with get_user_metadata(text)';
COMMENT ON FUNCTION user_metadata.get_user_metadata_bulk(text[], text) IS
'the documents of many users, one row per id in the order given, {} for unknown ids';
COMMENT ON FUNCTION user_metadata.update_user_metadata(text, jsonb, text) IS
'atomically merge patch into the user''s document (root keys replace, root nulls remove) and return it';
COMMENT ON FUNCTION user_metadata.set_user_metadata(text, jsonb, text) IS
'atomically replace the user''s whole document (root nulls removed) and return it';
COMMENT ON FUNCTION user_metadata.clear_user_metadata(text, text) IS
'remove the user''s document; true if there was one';
COMMENT ON FUNCTION user_metadata.find_users(jsonb, text) IS
'ids of the users whose document contains filter (@>), served by the GIN index';

REVOKE ALL ON FUNCTION
	user_metadata.get_user_metadata(text, text),
	user_metadata.get_user_metadata(text[], text),
	user_metadata.get_user_metadata_bulk(text[], text),
	user_metadata.update_user_metadata(text, jsonb, text),
	user_metadata.set_user_metadata(text, jsonb, text),
	user_metadata.clear_user_metadata(text, text),
	user_metadata.find_users(jsonb, text)
FROM PUBLIC;

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
LANGUAGE C STABLE PARALLEL RESTRICTED;

CREATE PROCEDURE user_metadata.write_custom_user_data(new_data jsonb, INOUT custom_data jsonb DEFAULT NULL)
AS 'MODULE_PATHNAME', 'write_custom_user_data'
LANGUAGE C;

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

-- Moving in: Atlas App Services and SuperTokens imports, bulk writes

CREATE FUNCTION user_metadata.from_ejson(doc jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'from_ejson'
LANGUAGE C IMMUTABLE PARALLEL SAFE STRICT;

COMMENT ON FUNCTION user_metadata.from_ejson(jsonb) IS
'MongoDB Extended JSON (relaxed or canonical) to plain JSON: $oid to its hex string, $date to an ISO 8601 UTC string, number wrappers to exact numbers';
