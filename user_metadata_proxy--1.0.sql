/* user_metadata_proxy--1.0.sql: the user_metadata API of a proxy
 * database, routed with PL/Proxy to partition databases running user_metadata */

\echo Use "CREATE EXTENSION user_metadata_proxy" to load this file. \quit

-- Both extensions define the same functions in schema user_metadata: the
-- proxy database holds no documents, the partitions do.
DO $$
BEGIN
	IF EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'user_metadata') THEN
		RAISE EXCEPTION 'user_metadata_proxy cannot be installed in a database that has user_metadata'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'Install user_metadata in the partition databases and user_metadata_proxy in a separate proxy database.';
	END IF;
END
$$;

GRANT USAGE ON SCHEMA user_metadata TO PUBLIC;

-- Local, from the store's own C library: pure functions and the caller's
-- identity, which lives in this session's settings.
CREATE FUNCTION user_metadata.jsonb_merge(stored jsonb, patch jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'jsonb_merge'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION user_metadata.jsonb_merge_patch(target jsonb, patch jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'jsonb_merge_patch'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION user_metadata.current_user_id()
RETURNS text
AS 'MODULE_PATHNAME', 'current_user_id'
LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION user_metadata.current_app_id()
RETURNS text
AS 'MODULE_PATHNAME', 'current_app_id'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION user_metadata.jsonb_merge(jsonb, jsonb) IS
'root-level merge: each root key of patch replaces the stored one, root nulls are removed';
COMMENT ON FUNCTION user_metadata.jsonb_merge_patch(jsonb, jsonb) IS
'RFC 7396 JSON Merge Patch: objects merge recursively, a null removes the key at any depth';
COMMENT ON FUNCTION user_metadata.current_user_id() IS
'the calling user: setting user_metadata.user_id, else the sub claim of request.jwt.claims';
COMMENT ON FUNCTION user_metadata.current_app_id() IS
'the calling app: setting user_metadata.app_id (default public)';

-- Internals: the PL/Proxy calls and their helpers, for the API functions
-- below only.  PL/Proxy connects with the SQL/MED user mapping of the
-- current user, who is the owner of the SECURITY DEFINER API functions.
CREATE SCHEMA user_metadata_remote;
REVOKE ALL ON SCHEMA user_metadata_remote FROM PUBLIC;
COMMENT ON SCHEMA user_metadata_remote IS
'user_metadata_proxy internals: PL/Proxy calls to the partitions of server user_metadata';

-- A user's home is partition hashtext(user_id) & (partitions - 1): PL/Proxy
-- masks this hash.  Only the user id is hashed, so all of a user's apps live
-- on one partition.  A NULL id goes to partition 0, which rejects it.
CREATE FUNCTION user_metadata_remote.partition_hash(user_id text)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT coalesce(pg_catalog.hashtext(user_id), 0) $$;

-- PL/Proxy requires VOLATILE.  Its "dropping stale conn" NOTICE, sent when
-- it replaces the connection an earlier remote error left behind, is kept
-- from callers.
CREATE FUNCTION user_metadata_remote.get_user_metadata(user_id text, app_id text)
RETURNS jsonb
LANGUAGE plproxy VOLATILE
SET client_min_messages = warning
AS $$
	CLUSTER 'user_metadata';
	RUN ON user_metadata_remote.partition_hash(user_id);
	TARGET user_metadata.get_user_metadata;
$$;

CREATE FUNCTION user_metadata_remote.update_user_metadata(user_id text, patch jsonb, app_id text)
RETURNS jsonb
LANGUAGE plproxy VOLATILE
SET client_min_messages = warning
AS $$
	CLUSTER 'user_metadata';
	RUN ON user_metadata_remote.partition_hash(user_id);
	TARGET user_metadata.update_user_metadata;
$$;

CREATE FUNCTION user_metadata_remote.set_user_metadata(user_id text, metadata jsonb, app_id text)
RETURNS jsonb
LANGUAGE plproxy VOLATILE
SET client_min_messages = warning
AS $$
	CLUSTER 'user_metadata';
	RUN ON user_metadata_remote.partition_hash(user_id);
	TARGET user_metadata.set_user_metadata;
$$;

CREATE FUNCTION user_metadata_remote.clear_user_metadata(user_id text, app_id text)
RETURNS boolean
LANGUAGE plproxy VOLATILE
SET client_min_messages = warning
AS $$
	CLUSTER 'user_metadata';
	RUN ON user_metadata_remote.partition_hash(user_id);
	TARGET user_metadata.clear_user_metadata;
$$;

-- Each partition gets the ids that live there; rows come back in no order
CREATE FUNCTION user_metadata_remote.get_user_metadata_split(user_ids text[], app_id text)
RETURNS TABLE (user_id text, metadata jsonb)
LANGUAGE plproxy VOLATILE
SET client_min_messages = warning
AS $$
	CLUSTER 'user_metadata';
	SPLIT user_ids;
	RUN ON user_metadata_remote.partition_hash(user_ids);
	TARGET user_metadata.get_user_metadata;
$$;

-- The whole call on one partition: for calls with nothing to split, and to
-- have the store check a call a partition rejected
CREATE FUNCTION user_metadata_remote.get_user_metadata_whole(user_ids text[], app_id text)
RETURNS TABLE (user_id text, metadata jsonb)
LANGUAGE plproxy VOLATILE
SET client_min_messages = warning
AS $$
	CLUSTER 'user_metadata';
	RUN ON ANY;
	TARGET user_metadata.get_user_metadata;
$$;

CREATE FUNCTION user_metadata_remote.find_users(filter jsonb, app_id text)
RETURNS SETOF text
LANGUAGE plproxy VOLATILE
SET client_min_messages = warning
AS $$
	CLUSTER 'user_metadata';
	RUN ON ALL;
	TARGET user_metadata.find_users;
$$;

/*
 * Raise an error caught from a PL/Proxy call.  PL/Proxy keeps a partition's
 * SQLSTATE but decorates its text: "<function>(<nargs>): [<database>] REMOTE
 * ERROR: <message>", "Remote detail: ...", "Remote hint: ...".  Undecorated,
 * the caller gets exactly the store's error.  PL/Proxy reports a partition it
 * cannot reach as XX000 (internal error); that becomes 08006 (connection
 * failure), message unchanged.  Anything else is raised as it came.
 */
CREATE FUNCTION user_metadata_remote.raise_error(state text, message text, detail text, hint text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	store_message text := regexp_replace(message, '^user_metadata_remote\.\w+\(\d+\): \[[^]]*\] REMOTE ERROR: ', '');
BEGIN
	IF store_message <> message THEN
		message := store_message;
		detail := regexp_replace(detail, '^Remote detail: ', '');
		hint := regexp_replace(hint, '^Remote hint: ', '');
	ELSIF state = 'XX000'
		AND message ~ '^PL/Proxy function user_metadata_remote\.\w+\(\d+\): (\[[^]]*\] PQ|connect timeout)' THEN
		state := '08006';
	END IF;

	-- an empty DETAIL or HINT would still be sent
	IF detail = '' AND hint = '' THEN
		RAISE EXCEPTION USING ERRCODE = state, MESSAGE = message;
	ELSIF hint = '' THEN
		RAISE EXCEPTION USING ERRCODE = state, MESSAGE = message, DETAIL = detail;
	ELSIF detail = '' THEN
		RAISE EXCEPTION USING ERRCODE = state, MESSAGE = message, HINT = hint;
	ELSE
		RAISE EXCEPTION USING ERRCODE = state, MESSAGE = message, DETAIL = detail, HINT = hint;
	END IF;
END
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA user_metadata_remote FROM PUBLIC;

/*
 * The API: the store's signatures, each call sent to the partition of its
 * user.  SECURITY DEFINER so that callers need no rights on the internals or
 * on the server; a PL/pgSQL exception block hands partition errors on as the
 * store raised them.  Reads keep the store's STABLE: they only read.
 */
CREATE FUNCTION user_metadata.get_user_metadata(user_id text, app_id text DEFAULT 'public')
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	e_state text;
	e_message text;
	e_detail text;
	e_hint text;
BEGIN
	RETURN user_metadata_remote.get_user_metadata(user_id, app_id);
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_message = MESSAGE_TEXT,
		e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
	PERFORM user_metadata_remote.raise_error(e_state, e_message, e_detail, e_hint);
END
$$;

-- PL/Proxy's SPLIT sends each partition its ids and returns rows in no
-- order; the join puts them back in the order asked for, one row per id
-- asked, duplicates included, which is why each distinct id is asked once.
CREATE FUNCTION user_metadata.get_user_metadata(user_ids text[], app_id text DEFAULT 'public')
RETURNS TABLE (user_id text, metadata jsonb)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	e_state text;
	e_message text;
	e_detail text;
	e_hint text;
BEGIN
	IF coalesce(cardinality(user_ids), 0) = 0 THEN
		-- nothing to split: one partition answers, or rejects the call
		RETURN QUERY SELECT * FROM user_metadata_remote.get_user_metadata_whole(user_ids, app_id);
		RETURN;
	END IF;
	RETURN QUERY
		SELECT ids.id, answer.metadata
		FROM unnest(user_ids) WITH ORDINALITY AS ids (id, ord)
			JOIN user_metadata_remote.get_user_metadata_split(
				ARRAY(SELECT DISTINCT asked FROM unnest(user_ids) AS asked), app_id) AS answer
			ON answer.user_id = ids.id
		ORDER BY ids.ord;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_message = MESSAGE_TEXT,
		e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
	-- Each partition checked only its share of the ids: have one check the
	-- whole call, so that the error is the first the store finds.  If the
	-- whole call passes, the partition's failure stands.
	IF cardinality(user_ids) > 0 THEN
		BEGIN
			PERFORM FROM user_metadata_remote.get_user_metadata_whole(user_ids, app_id);
		EXCEPTION WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_message = MESSAGE_TEXT,
				e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
		END;
	END IF;
	PERFORM user_metadata_remote.raise_error(e_state, e_message, e_detail, e_hint);
END
$$;

CREATE FUNCTION user_metadata.update_user_metadata(user_id text, patch jsonb, app_id text DEFAULT 'public')
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	e_state text;
	e_message text;
	e_detail text;
	e_hint text;
BEGIN
	RETURN user_metadata_remote.update_user_metadata(user_id, patch, app_id);
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_message = MESSAGE_TEXT,
		e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
	PERFORM user_metadata_remote.raise_error(e_state, e_message, e_detail, e_hint);
END
$$;

CREATE FUNCTION user_metadata.set_user_metadata(user_id text, metadata jsonb, app_id text DEFAULT 'public')
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	e_state text;
	e_message text;
	e_detail text;
	e_hint text;
BEGIN
	RETURN user_metadata_remote.set_user_metadata(user_id, metadata, app_id);
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_message = MESSAGE_TEXT,
		e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
	PERFORM user_metadata_remote.raise_error(e_state, e_message, e_detail, e_hint);
END
$$;

CREATE FUNCTION user_metadata.clear_user_metadata(user_id text, app_id text DEFAULT 'public')
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	e_state text;
	e_message text;
	e_detail text;
	e_hint text;
BEGIN
	RETURN user_metadata_remote.clear_user_metadata(user_id, app_id);
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_message = MESSAGE_TEXT,
		e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
	PERFORM user_metadata_remote.raise_error(e_state, e_message, e_detail, e_hint);
END
$$;

-- Every partition searches its users; the union is sorted as the store sorts
-- (the proxy and the partitions must share the default collation).
CREATE FUNCTION user_metadata.find_users(filter jsonb, app_id text DEFAULT 'public')
RETURNS SETOF text
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	e_state text;
	e_message text;
	e_detail text;
	e_hint text;
BEGIN
	RETURN QUERY
		SELECT hit FROM user_metadata_remote.find_users(filter, app_id) AS hit ORDER BY hit;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_message = MESSAGE_TEXT,
		e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
	PERFORM user_metadata_remote.raise_error(e_state, e_message, e_detail, e_hint);
END
$$;

-- Atlas-style calls for the current user, who is named in this session's
-- settings and passed to the partition explicitly.
CREATE FUNCTION user_metadata.custom_user_data()
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	e_state text;
	e_message text;
	e_detail text;
	e_hint text;
BEGIN
	RETURN user_metadata_remote.get_user_metadata(user_metadata.current_user_id(), user_metadata.current_app_id());
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_message = MESSAGE_TEXT,
		e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
	PERFORM user_metadata_remote.raise_error(e_state, e_message, e_detail, e_hint);
END
$$;

-- The partition checks new_data as update_user_metadata's patch; its errors
-- name the argument as this procedure does.
CREATE PROCEDURE user_metadata.write_custom_user_data(new_data jsonb, INOUT custom_data jsonb DEFAULT NULL)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	e_state text;
	e_message text;
	e_detail text;
	e_hint text;
BEGIN
	custom_data := user_metadata_remote.update_user_metadata(user_metadata.current_user_id(), new_data,
															 user_metadata.current_app_id());
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_message = MESSAGE_TEXT,
		e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
	PERFORM user_metadata_remote.raise_error(e_state, replace(e_message, 'argument "patch" ', 'argument "new_data" '),
											 e_detail, e_hint);
END
$$;

COMMENT ON FUNCTION user_metadata.get_user_metadata(text, text) IS
'the stored document of one user, {} when there is none; read on the user''s partition';
COMMENT ON FUNCTION user_metadata.get_user_metadata(text[], text) IS
'the documents of many users, one row per id in the order given, {} for unknown ids; each partition reads its own';
COMMENT ON FUNCTION user_metadata.update_user_metadata(text, jsonb, text) IS
'atomically merge patch into the user''s document on the user''s partition and return it';
COMMENT ON FUNCTION user_metadata.set_user_metadata(text, jsonb, text) IS
'atomically replace the user''s whole document on the user''s partition and return it';
COMMENT ON FUNCTION user_metadata.clear_user_metadata(text, text) IS
'remove the user''s document from the user''s partition; true if there was one';
COMMENT ON FUNCTION user_metadata.find_users(jsonb, text) IS
'ids of the users whose document contains filter (@>), searched on every partition, sorted';
COMMENT ON FUNCTION user_metadata.custom_user_data() IS
'the current user''s document, {} if none (Atlas refreshCustomData); read on the user''s partition';
COMMENT ON PROCEDURE user_metadata.write_custom_user_data(jsonb, jsonb) IS
'merge new_data into the current user''s document on the user''s partition and return it in custom_data (Atlas writeCustomUserData)';

-- As on the store: the admin API and the Atlas-style calls are granted by the admin
REVOKE ALL ON FUNCTION
	user_metadata.get_user_metadata(text, text),
	user_metadata.get_user_metadata(text[], text),
	user_metadata.update_user_metadata(text, jsonb, text),
	user_metadata.set_user_metadata(text, jsonb, text),
	user_metadata.clear_user_metadata(text, text),
	user_metadata.find_users(jsonb, text),
	user_metadata.custom_user_data()
FROM PUBLIC;
REVOKE ALL ON PROCEDURE user_metadata.write_custom_user_data(jsonb, jsonb) FROM PUBLIC;
