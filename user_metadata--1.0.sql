/* user_metadata--1.0.sql: merge functions and the per-user store */

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
