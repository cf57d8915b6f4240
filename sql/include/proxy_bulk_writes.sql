-- Moving in: MongoDB Extended JSON, bulk writes, and imports of Atlas App
-- Services custom user data and SuperTokens user metadata, as on the store

CREATE FUNCTION user_metadata.from_ejson(doc jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'from_ejson'
LANGUAGE C IMMUTABLE PARALLEL SAFE STRICT;

COMMENT ON FUNCTION user_metadata.from_ejson(jsonb) IS
'MongoDB Extended JSON (relaxed or canonical) to plain JSON: $oid to its hex string, $date to an ISO 8601 UTC string, number wrappers to exact numbers';

-- The bulk writes: each partition writes its users' share of the arrays, in
-- the order given, and the counts are added up.  Each partition commits on
-- its own (PL/Proxy runs remote calls in autocommit): unlike on the store, a
-- call that fails on one partition may have written the others' users.  A
-- call the store rejects as a whole (a NULL, an empty id or app, a document
-- that is not an object, arrays of different lengths) goes whole to one
-- partition, so that the error is the store's own; so does an empty one.
CREATE FUNCTION user_metadata_remote.bulk_write_whole(user_ids text[], documents jsonb[], app_id text)
RETURNS boolean
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT user_ids IS NULL OR documents IS NULL OR app_id IS NULL OR app_id OPERATOR(pg_catalog.=) ''::pg_catalog.text
		OR pg_catalog.cardinality(user_ids) OPERATOR(pg_catalog.<>) pg_catalog.cardinality(documents)
		OR pg_catalog.cardinality(user_ids) OPERATOR(pg_catalog.=) 0
		OR pg_catalog.array_position(user_ids, NULL::pg_catalog.text) IS NOT NULL
		OR ''::pg_catalog.text OPERATOR(pg_catalog.=) ANY (user_ids)
		OR pg_catalog.array_position(documents, NULL::pg_catalog.jsonb) IS NOT NULL
		OR EXISTS (SELECT FROM pg_catalog.unnest(documents) AS d
				   WHERE pg_catalog.jsonb_typeof(d) OPERATOR(pg_catalog.<>) 'object'::pg_catalog.text)
$$;

CREATE FUNCTION user_metadata_remote.update_user_metadata_bulk_split(user_ids text[], patches jsonb[], app_id text)
RETURNS SETOF bigint
LANGUAGE plproxy VOLATILE
SET client_min_messages = warning
SET search_path = pg_catalog, pg_temp
AS $$
	CLUSTER 'user_metadata';
	SPLIT user_ids, patches;
	RUN ON user_metadata_remote.partition_hash(user_ids);
	TARGET user_metadata.update_user_metadata_bulk;
$$;

CREATE FUNCTION user_metadata_remote.update_user_metadata_bulk_whole(user_ids text[], patches jsonb[], app_id text)
RETURNS bigint
LANGUAGE plproxy VOLATILE
SET client_min_messages = warning
SET search_path = pg_catalog, pg_temp
AS $$
	CLUSTER 'user_metadata';
	RUN ON ANY;
	TARGET user_metadata.update_user_metadata_bulk;
$$;

CREATE FUNCTION user_metadata_remote.update_user_metadata_bulk(user_ids text[], patches jsonb[], app_id text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF user_metadata_remote.bulk_write_whole(user_ids, patches, app_id) THEN
		RETURN user_metadata_remote.update_user_metadata_bulk_whole(user_ids, patches, app_id);
	END IF;
	RETURN (SELECT pg_catalog.sum(n)::pg_catalog.int8
			FROM user_metadata_remote.update_user_metadata_bulk_split(user_ids, patches, app_id) AS n);
END
$$;

CREATE FUNCTION user_metadata_remote.set_user_metadata_bulk_split(user_ids text[], documents jsonb[], app_id text)
RETURNS SETOF bigint
LANGUAGE plproxy VOLATILE
SET client_min_messages = warning
SET search_path = pg_catalog, pg_temp
AS $$
	CLUSTER 'user_metadata';
	SPLIT user_ids, documents;
	RUN ON user_metadata_remote.partition_hash(user_ids);
	TARGET user_metadata.set_user_metadata_bulk;
$$;

CREATE FUNCTION user_metadata_remote.set_user_metadata_bulk_whole(user_ids text[], documents jsonb[], app_id text)
RETURNS bigint
LANGUAGE plproxy VOLATILE
SET client_min_messages = warning
SET search_path = pg_catalog, pg_temp
AS $$
	CLUSTER 'user_metadata';
	RUN ON ANY;
	TARGET user_metadata.set_user_metadata_bulk;
$$;

CREATE FUNCTION user_metadata_remote.set_user_metadata_bulk(user_ids text[], documents jsonb[], app_id text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF user_metadata_remote.bulk_write_whole(user_ids, documents, app_id) THEN
		RETURN user_metadata_remote.set_user_metadata_bulk_whole(user_ids, documents, app_id);
	END IF;
	RETURN (SELECT pg_catalog.sum(n)::pg_catalog.int8
			FROM user_metadata_remote.set_user_metadata_bulk_split(user_ids, documents, app_id) AS n);
END
$$;

CREATE FUNCTION user_metadata_remote.insert_user_metadata_bulk_split(user_ids text[], documents jsonb[], app_id text)
RETURNS SETOF bigint
LANGUAGE plproxy VOLATILE
SET client_min_messages = warning
SET search_path = pg_catalog, pg_temp
AS $$
	CLUSTER 'user_metadata';
	SPLIT user_ids, documents;
	RUN ON user_metadata_remote.partition_hash(user_ids);
	TARGET user_metadata.insert_user_metadata_bulk;
$$;

CREATE FUNCTION user_metadata_remote.insert_user_metadata_bulk_whole(user_ids text[], documents jsonb[], app_id text)
RETURNS bigint
LANGUAGE plproxy VOLATILE
SET client_min_messages = warning
SET search_path = pg_catalog, pg_temp
AS $$
	CLUSTER 'user_metadata';
	RUN ON ANY;
	TARGET user_metadata.insert_user_metadata_bulk;
$$;

CREATE FUNCTION user_metadata_remote.insert_user_metadata_bulk(user_ids text[], documents jsonb[], app_id text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF user_metadata_remote.bulk_write_whole(user_ids, documents, app_id) THEN
		RETURN user_metadata_remote.insert_user_metadata_bulk_whole(user_ids, documents, app_id);
	END IF;
	RETURN (SELECT pg_catalog.sum(n)::pg_catalog.int8
			FROM user_metadata_remote.insert_user_metadata_bulk_split(user_ids, documents, app_id) AS n);
END
$$;

REVOKE ALL ON FUNCTION
	user_metadata_remote.bulk_write_whole(text[], jsonb[], text),
	user_metadata_remote.update_user_metadata_bulk_split(text[], jsonb[], text),
	user_metadata_remote.update_user_metadata_bulk_whole(text[], jsonb[], text),
	user_metadata_remote.update_user_metadata_bulk(text[], jsonb[], text),
	user_metadata_remote.set_user_metadata_bulk_split(text[], jsonb[], text),
	user_metadata_remote.set_user_metadata_bulk_whole(text[], jsonb[], text),
	user_metadata_remote.set_user_metadata_bulk(text[], jsonb[], text),
	user_metadata_remote.insert_user_metadata_bulk_split(text[], jsonb[], text),
	user_metadata_remote.insert_user_metadata_bulk_whole(text[], jsonb[], text),
	user_metadata_remote.insert_user_metadata_bulk(text[], jsonb[], text)
FROM PUBLIC;

-- The API's bulk writes, as the other API functions (um_proxy_call)
CREATE FUNCTION user_metadata.update_user_metadata_bulk(user_ids text[], patches jsonb[], app_id text DEFAULT 'public'::text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'um_proxy_call'
LANGUAGE C VOLATILE;

CREATE FUNCTION user_metadata.set_user_metadata_bulk(user_ids text[], documents jsonb[], app_id text DEFAULT 'public'::text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'um_proxy_call'
LANGUAGE C VOLATILE;

CREATE FUNCTION user_metadata.insert_user_metadata_bulk(user_ids text[], documents jsonb[], app_id text DEFAULT 'public'::text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'um_proxy_call'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION user_metadata.update_user_metadata_bulk(text[], jsonb[], text) IS
'update_user_metadata for each user id and patch, in order, in one call, each partition its users; returns the number of writes';
COMMENT ON FUNCTION user_metadata.set_user_metadata_bulk(text[], jsonb[], text) IS
'set_user_metadata for each user id and document, in order, in one call, each partition its users; returns the number of writes';
COMMENT ON FUNCTION user_metadata.insert_user_metadata_bulk(text[], jsonb[], text) IS
'store each document for a user that has none, keep existing documents; returns the number stored';

REVOKE ALL ON FUNCTION
	user_metadata.update_user_metadata_bulk(text[], jsonb[], text),
	user_metadata.set_user_metadata_bulk(text[], jsonb[], text),
	user_metadata.insert_user_metadata_bulk(text[], jsonb[], text)
FROM PUBLIC;
