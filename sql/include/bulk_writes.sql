-- Moving in: MongoDB Extended JSON, bulk writes, and imports of Atlas App
-- Services custom user data and SuperTokens user metadata

CREATE FUNCTION user_metadata.from_ejson(doc jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'from_ejson'
LANGUAGE C IMMUTABLE PARALLEL SAFE STRICT;

COMMENT ON FUNCTION user_metadata.from_ejson(jsonb) IS
'MongoDB Extended JSON (relaxed or canonical) to plain JSON: $oid to its hex string, $date to an ISO 8601 UTC string, number wrappers to exact numbers';

-- Bulk writes belong to the admin API: not executable by PUBLIC; like the
-- single calls they check the caller's admin scope and run as their owner.
CREATE FUNCTION user_metadata.update_user_metadata_bulk(user_ids text[], patches jsonb[], app_id text DEFAULT 'public')
RETURNS bigint
AS 'MODULE_PATHNAME', 'update_user_metadata_bulk'
LANGUAGE C VOLATILE;

CREATE FUNCTION user_metadata.set_user_metadata_bulk(user_ids text[], documents jsonb[], app_id text DEFAULT 'public')
RETURNS bigint
AS 'MODULE_PATHNAME', 'set_user_metadata_bulk'
LANGUAGE C VOLATILE;

CREATE FUNCTION user_metadata.insert_user_metadata_bulk(user_ids text[], documents jsonb[], app_id text DEFAULT 'public')
RETURNS bigint
AS 'MODULE_PATHNAME', 'insert_user_metadata_bulk'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION user_metadata.update_user_metadata_bulk(text[], jsonb[], text) IS
'update_user_metadata for each user id and patch, in order, in one call; returns the number of writes';
COMMENT ON FUNCTION user_metadata.set_user_metadata_bulk(text[], jsonb[], text) IS
'set_user_metadata for each user id and document, in order, in one call; returns the number of writes';
COMMENT ON FUNCTION user_metadata.insert_user_metadata_bulk(text[], jsonb[], text) IS
'store each document for a user that has none, keep existing documents; returns the number stored';

REVOKE ALL ON FUNCTION
	user_metadata.update_user_metadata_bulk(text[], jsonb[], text),
	user_metadata.set_user_metadata_bulk(text[], jsonb[], text),
	user_metadata.insert_user_metadata_bulk(text[], jsonb[], text)
FROM PUBLIC;
