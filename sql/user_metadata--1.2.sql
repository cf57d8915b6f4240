/* user_metadata--1.2.sql: merge functions, the per-user store, identity,
 * Atlas-style custom user data, row-level security, the merge trigger and
 * change notifications */

\echo Use "CREATE EXTENSION user_metadata" to load this file. \quit

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
-- inside one INSERT ... ON CONFLICT statement.
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
		CHECK (pg_catalog.jsonb_typeof(metadata) OPERATOR(pg_catalog.=) 'object')
);

CREATE INDEX user_metadata_metadata_idx
	ON user_metadata.user_metadata USING gin (metadata jsonb_path_ops);

COMMENT ON TABLE user_metadata.user_metadata IS
'one JSON object of metadata per (app_id, user_id); write it through the user_metadata functions';

SELECT pg_catalog.pg_extension_config_dump('user_metadata.user_metadata', '');

REVOKE ALL ON TABLE user_metadata.user_metadata FROM PUBLIC;

-- Every write, through the functions or straight to the table, stores an
-- object without root nulls within user_metadata.max_document_bytes.
CREATE FUNCTION user_metadata.normalize_document()
RETURNS trigger
AS 'MODULE_PATHNAME', 'normalize_document'
LANGUAGE C;

REVOKE ALL ON FUNCTION user_metadata.normalize_document() FROM PUBLIC;

CREATE TRIGGER normalize_document
	BEFORE INSERT OR UPDATE OF metadata ON user_metadata.user_metadata
	FOR EACH ROW EXECUTE FUNCTION user_metadata.normalize_document();

-- The admin API takes any user id: SECURITY DEFINER with a pinned
-- search_path, and not executable by PUBLIC.
CREATE FUNCTION user_metadata.get_user_metadata(user_id text, app_id text DEFAULT 'public')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'get_user_metadata'
LANGUAGE C STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION user_metadata.get_user_metadata(user_ids text[], app_id text DEFAULT 'public')
RETURNS TABLE (user_id text, metadata jsonb)
AS 'MODULE_PATHNAME', 'get_many_user_metadata'
LANGUAGE C STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION user_metadata.update_user_metadata(user_id text, patch jsonb, app_id text DEFAULT 'public')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'update_user_metadata'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION user_metadata.set_user_metadata(user_id text, metadata jsonb, app_id text DEFAULT 'public')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'set_user_metadata'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION user_metadata.clear_user_metadata(user_id text, app_id text DEFAULT 'public')
RETURNS boolean
AS 'MODULE_PATHNAME', 'clear_user_metadata'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION user_metadata.find_users(filter jsonb, app_id text DEFAULT 'public')
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'find_users'
LANGUAGE C STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION user_metadata.get_user_metadata(text, text) IS
'the stored document of one user, {} when there is none';
COMMENT ON FUNCTION user_metadata.get_user_metadata(text[], text) IS
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
