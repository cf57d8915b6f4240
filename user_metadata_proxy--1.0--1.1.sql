/* user_metadata_proxy--1.0--1.1.sql: per-app admin scopes checked for
 * the real caller, get_user_metadata_bulk, schema plproxy held; partitions
 * must run user_metadata 1.2 first */

\echo Use "ALTER EXTENSION user_metadata_proxy UPDATE TO '1.1'" to load this file. \quit

/*
 * PL/Proxy finds a cluster in the SQL/MED server of its name, and when there
 * is none it calls plproxy.get_cluster_version(), _partitions() and
 * _config(), as the current user: here the extension owner.  Whoever could
 * create functions in schema plproxy would have them run with the owner's
 * rights whenever server user_metadata is missing.  So schema plproxy must
 * be a superuser's, closed to everyone else, with superusers' functions
 * only; when it does not exist it is created here, empty and closed, so
 * that nobody can take the name later.
 */
DO $$
DECLARE
	nsp pg_catalog.oid := (SELECT n.oid FROM pg_catalog.pg_namespace n
						   WHERE n.nspname OPERATOR(pg_catalog.=) 'plproxy'::pg_catalog.name);
BEGIN
	IF nsp IS NULL THEN
		CREATE SCHEMA plproxy;
		REVOKE ALL ON SCHEMA plproxy FROM PUBLIC;
		COMMENT ON SCHEMA plproxy IS
		'held by user_metadata_proxy so that only superusers can define PL/Proxy''s cluster functions';
	ELSIF NOT (SELECT r.rolsuper FROM pg_catalog.pg_namespace n
			   JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) n.nspowner
			   WHERE n.oid OPERATOR(pg_catalog.=) nsp)
	   OR EXISTS (SELECT FROM pg_catalog.pg_roles r
				  WHERE NOT r.rolsuper
					AND pg_catalog.has_schema_privilege(r.oid, nsp, 'CREATE'::pg_catalog.text))
	   OR EXISTS (SELECT FROM pg_catalog.pg_proc p
				  JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) p.proowner
				  WHERE p.pronamespace OPERATOR(pg_catalog.=) nsp AND NOT r.rolsuper)
	THEN
		RAISE EXCEPTION 'schema "plproxy" is not safe: PL/Proxy would run its functions as the extension owner'
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'Schema plproxy is owned by a role that is not a superuser, a role that is not a superuser may create objects in it, or it holds functions of such a role.',
				  HINT = 'Drop schema plproxy (after checking what is in it), or give it and its functions to a superuser and revoke CREATE on it, then run CREATE EXTENSION user_metadata_proxy again.';
	END IF;
END
$$;

-- Per-app admin scopes (src/admin_access.c): a role that has the
-- privileges of a role listed here may use the admin API only for the apps
-- listed for it.  The store and the proxy include this same file.
CREATE TABLE user_metadata.admin_scopes (
	role		pg_catalog.regrole NOT NULL,
	app_id		text NOT NULL,
	PRIMARY KEY (role, app_id)
);

COMMENT ON TABLE user_metadata.admin_scopes IS
'roles confined to some apps in the admin API: a role with the privileges of a listed role may act only for the apps listed for it';

SELECT pg_catalog.pg_extension_config_dump('user_metadata.admin_scopes'::pg_catalog.regclass, ''::pg_catalog.text);

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

/*
 * Internals: the 1.0 wrappers' error helper goes (src/proxy.c undecorates
 * errors now), the bulk read and the search get their own functions, and
 * every API function gets its twin here.
 */
DROP FUNCTION user_metadata_remote.raise_error(text, text, text, text);
DROP FUNCTION user_metadata_remote.get_user_metadata_split(text[], text);
DROP FUNCTION user_metadata_remote.get_user_metadata_whole(text[], text);
DROP FUNCTION user_metadata_remote.find_users(jsonb, text);

-- Every function here runs as the owner and pins its search path
ALTER FUNCTION user_metadata_remote.get_user_metadata(text, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION user_metadata_remote.update_user_metadata(text, jsonb, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION user_metadata_remote.set_user_metadata(text, jsonb, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION user_metadata_remote.clear_user_metadata(text, text) SET search_path = pg_catalog, pg_temp;

-- Each partition gets the ids that live there; rows come back in no order
CREATE FUNCTION user_metadata_remote.get_user_metadata_split(user_ids text[], app_id text)
RETURNS TABLE (user_id text, metadata jsonb)
LANGUAGE plproxy VOLATILE
SET client_min_messages = warning
SET search_path = pg_catalog, pg_temp
AS $$
	CLUSTER 'user_metadata';
	SPLIT user_ids;
	RUN ON user_metadata_remote.partition_hash(user_ids);
	TARGET user_metadata.get_user_metadata_bulk;
$$;

-- The whole call on one partition
CREATE FUNCTION user_metadata_remote.get_user_metadata_whole(user_ids text[], app_id text)
RETURNS TABLE (user_id text, metadata jsonb)
LANGUAGE plproxy VOLATILE
SET client_min_messages = warning
SET search_path = pg_catalog, pg_temp
AS $$
	CLUSTER 'user_metadata';
	RUN ON ANY;
	TARGET user_metadata.get_user_metadata_bulk;
$$;

-- Every partition searches its users; rows come back in no order
CREATE FUNCTION user_metadata_remote.find_users_everywhere(filter jsonb, app_id text)
RETURNS SETOF text
LANGUAGE plproxy VOLATILE
SET client_min_messages = warning
SET search_path = pg_catalog, pg_temp
AS $$
	CLUSTER 'user_metadata';
	RUN ON ALL;
	TARGET user_metadata.find_users;
$$;

/*
 * The bulk read.  SPLIT sends each partition its ids and returns rows in no
 * order; the join puts them back in the order asked, one row per id asked,
 * duplicates included, which is why each distinct id is asked once.  A call
 * the store rejects (a NULL or empty id or app) goes whole to one
 * partition, so that the error is the first the store finds, not the first
 * of some partition's share; so does an empty list, with nothing to split.
 */
CREATE FUNCTION user_metadata_remote.get_user_metadata_bulk(user_ids text[], app_id text)
RETURNS TABLE (user_id text, metadata jsonb)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF user_ids IS NULL OR app_id IS NULL OR app_id OPERATOR(pg_catalog.=) ''::pg_catalog.text
	   OR pg_catalog.cardinality(user_ids) OPERATOR(pg_catalog.=) 0
	   OR pg_catalog.array_position(user_ids, NULL::pg_catalog.text) IS NOT NULL
	   OR ''::pg_catalog.text OPERATOR(pg_catalog.=) ANY (user_ids) THEN
		RETURN QUERY SELECT * FROM user_metadata_remote.get_user_metadata_whole(user_ids, app_id);
		RETURN;
	END IF;
	RETURN QUERY
		SELECT ids.id, answer.metadata
		FROM pg_catalog.unnest(user_ids) WITH ORDINALITY AS ids (id, ord)
			JOIN user_metadata_remote.get_user_metadata_split(
				ARRAY(SELECT DISTINCT asked FROM pg_catalog.unnest(user_ids) AS asked), app_id) AS answer
			ON answer.user_id OPERATOR(pg_catalog.=) ids.id
		ORDER BY ids.ord;
END
$$;

-- The array overload of get_user_metadata, kept for typed callers
CREATE FUNCTION user_metadata_remote.get_user_metadata(user_ids text[], app_id text)
RETURNS TABLE (user_id text, metadata jsonb)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM user_metadata_remote.get_user_metadata_bulk(user_ids, app_id) $$;

-- The union is sorted as the store sorts (the proxy and the partitions must
-- share the default collation)
CREATE FUNCTION user_metadata_remote.find_users(filter jsonb, app_id text)
RETURNS SETOF text
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT hit FROM user_metadata_remote.find_users_everywhere(filter, app_id) AS hit
	ORDER BY hit
$$;

-- Atlas-style calls for the current user, who is named in this session's
-- settings and passed to the partition explicitly
CREATE FUNCTION user_metadata_remote.custom_user_data()
RETURNS jsonb
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT user_metadata_remote.get_user_metadata(user_metadata.current_user_id(), user_metadata.current_app_id())
$$;

CREATE FUNCTION user_metadata_remote.write_custom_user_data(new_data jsonb, custom_data jsonb)
RETURNS jsonb
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT user_metadata_remote.update_user_metadata(user_metadata.current_user_id(), new_data,
													 user_metadata.current_app_id())
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA user_metadata_remote FROM PUBLIC;

/*
 * The API becomes C (src/proxy.c), no longer SECURITY DEFINER.  CREATE OR
 * REPLACE keeps each function's grants.
 */
CREATE OR REPLACE FUNCTION user_metadata.get_user_metadata(user_id text, app_id text DEFAULT 'public'::text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'um_proxy_call'
LANGUAGE C STABLE;

CREATE OR REPLACE FUNCTION user_metadata.get_user_metadata(user_ids text[], app_id text DEFAULT 'public'::text)
RETURNS TABLE (user_id text, metadata jsonb)
AS 'MODULE_PATHNAME', 'um_proxy_call'
LANGUAGE C STABLE;

CREATE FUNCTION user_metadata.get_user_metadata_bulk(user_ids text[], app_id text DEFAULT 'public'::text)
RETURNS TABLE (user_id text, metadata jsonb)
AS 'MODULE_PATHNAME', 'um_proxy_call'
LANGUAGE C STABLE;

CREATE OR REPLACE FUNCTION user_metadata.update_user_metadata(user_id text, patch jsonb, app_id text DEFAULT 'public'::text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'um_proxy_call'
LANGUAGE C VOLATILE;

CREATE OR REPLACE FUNCTION user_metadata.set_user_metadata(user_id text, metadata jsonb, app_id text DEFAULT 'public'::text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'um_proxy_call'
LANGUAGE C VOLATILE;

CREATE OR REPLACE FUNCTION user_metadata.clear_user_metadata(user_id text, app_id text DEFAULT 'public'::text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'um_proxy_call'
LANGUAGE C VOLATILE;

CREATE OR REPLACE FUNCTION user_metadata.find_users(filter jsonb, app_id text DEFAULT 'public'::text)
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'um_proxy_call'
LANGUAGE C STABLE;

CREATE OR REPLACE FUNCTION user_metadata.custom_user_data()
RETURNS jsonb
AS 'MODULE_PATHNAME', 'um_proxy_call'
LANGUAGE C STABLE;

CREATE OR REPLACE PROCEDURE user_metadata.write_custom_user_data(new_data jsonb, INOUT custom_data jsonb DEFAULT NULL::jsonb)
AS 'MODULE_PATHNAME', 'um_proxy_write_custom_user_data'
LANGUAGE C;

COMMENT ON FUNCTION user_metadata.get_user_metadata(text[], text) IS
'deprecated: use get_user_metadata_bulk, which drivers that send lists untyped cannot confuse with get_user_metadata(text)';
COMMENT ON FUNCTION user_metadata.get_user_metadata_bulk(text[], text) IS
'the documents of many users, one row per id in the order given, {} for unknown ids; each partition reads its own';

REVOKE ALL ON FUNCTION user_metadata.get_user_metadata_bulk(text[], text) FROM PUBLIC;

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

-- Imports (README, "Moving in"): the shared steps work on the caller's
-- temporary table pg_temp.user_metadata_import (see import_prepare); they
-- run with the caller's rights and write through the bulk writes.  The
-- store and the proxy include this same file.
CREATE FUNCTION user_metadata.import_prepare()
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF pg_catalog.to_regclass('pg_temp.user_metadata_import'::text) IS NOT NULL THEN
		DROP TABLE pg_temp.user_metadata_import;
	END IF;
	-- one row per source row: its number, the user, the plain document, and
	-- what became of it (NULL while it is to be imported)
	CREATE TEMPORARY TABLE user_metadata_import (
		line		bigint NOT NULL,
		app_id		text,
		user_id		text,
		string_id	boolean NOT NULL DEFAULT true,
		document	jsonb,
		outcome		text,
		detail		text
	);
END
$$;

-- Writes one batch of an import with on_conflict's rule: replace (set),
-- merge (update) or keep (insert where absent); returns how many it stored.
CREATE FUNCTION user_metadata.import_write(user_ids text[], documents jsonb[], app text, on_conflict text)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF pg_catalog.cardinality(user_ids) = 0 THEN
		RETURN 0;
	END IF;
	-- one statement per rule: a caller needs EXECUTE only on its rule's function
	IF on_conflict = 'replace'::text THEN
		RETURN user_metadata.set_user_metadata_bulk(user_ids, documents, app);
	ELSIF on_conflict = 'merge'::text THEN
		RETURN user_metadata.update_user_metadata_bulk(user_ids, documents, app);
	END IF;
	RETURN user_metadata.insert_user_metadata_bulk(user_ids, documents, app);
END
$$;

-- Rows of pg_temp.user_metadata_import that cannot be imported become
-- outcome 'bad' (with the reason), later rows of a user 'duplicate'; unless
-- skip_bad, any bad row raises 22P02 and nothing is written; then the other
-- rows are written with on_conflict's rule.  Messages call rows what
-- (line, row).  Returns the number of users kept under 'keep'.
CREATE FUNCTION user_metadata.import_finish(on_conflict text, skip_bad boolean, what text)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	max_bytes bigint := (SELECT s.setting::pg_catalog.int8 FROM pg_catalog.pg_settings s
						 WHERE s.name = 'user_metadata.max_document_bytes'::text);
	bad bigint;
	sample text;
	app text;
	ids text[];
	docs jsonb[];
	kept bigint := 0;
	r record;
BEGIN
	UPDATE pg_temp.user_metadata_import SET outcome = 'bad'::text, detail = CASE
		WHEN app_id IS NULL OR pg_catalog.octet_length(app_id) NOT BETWEEN 1 AND 512
			THEN 'the app id must be 1 to 512 bytes'::text
		WHEN user_id IS NULL OR pg_catalog.octet_length(user_id) NOT BETWEEN 1 AND 512
			THEN 'the user id must be 1 to 512 bytes'::text
		ELSE pg_catalog.format('the document takes %s bytes; user_metadata.max_document_bytes allows %s'::text,
				pg_catalog.pg_column_size(user_metadata.jsonb_merge(NULL::jsonb, document)), max_bytes) END
	WHERE outcome IS NULL
		AND (app_id IS NULL OR pg_catalog.octet_length(app_id) NOT BETWEEN 1 AND 512
			OR user_id IS NULL OR pg_catalog.octet_length(user_id) NOT BETWEEN 1 AND 512
			OR (max_bytes > 0 AND pg_catalog.pg_column_size(user_metadata.jsonb_merge(NULL::jsonb, document)) > max_bytes));

	SELECT pg_catalog.count(*), pg_catalog.string_agg(pg_catalog.format('%s %s%s: %s'::text, what, s.line,
				CASE WHEN s.user_id IS NOT NULL THEN pg_catalog.format(' (app %s, user %s)'::text, s.app_id, s.user_id) END,
				pg_catalog.rtrim(s.detail, '.'::text)), '; '::text)
		INTO bad, sample
		FROM (SELECT i.line, i.app_id, i.user_id, i.detail FROM pg_temp.user_metadata_import i
			  WHERE i.outcome = 'bad'::text ORDER BY i.line LIMIT 20) s;
	IF sample IS NOT NULL AND NOT skip_bad THEN
		SELECT pg_catalog.count(*) INTO bad FROM pg_temp.user_metadata_import i WHERE i.outcome = 'bad'::text;
		RAISE EXCEPTION USING ERRCODE = 'invalid_text_representation',
			MESSAGE = pg_catalog.format('%s bad rows in the import; nothing was imported'::text, bad),
			DETAIL = sample || CASE WHEN bad > 20 THEN '; and more.'::text ELSE '.'::text END,
			HINT = 'Fix those rows, or pass skip_bad => true to import the others and report these.';
	END IF;

	-- the first row of a user wins, one with a string id before an ObjectId
	UPDATE pg_temp.user_metadata_import i
		SET outcome = 'duplicate'::text,
			detail = pg_catalog.format('user %s is imported from %s %s'::text, d.user_id, what, d.winner)
		FROM (SELECT s.line, s.user_id, pg_catalog.row_number() OVER w AS rank,
					 pg_catalog.first_value(s.line) OVER w AS winner
			  FROM pg_temp.user_metadata_import s WHERE s.outcome IS NULL
			  WINDOW w AS (PARTITION BY s.app_id, s.user_id ORDER BY s.string_id DESC, s.line)) d
		WHERE d.rank > 1 AND i.line = d.line;

	-- each user once now: the order of the writes does not matter
	FOR app IN SELECT DISTINCT i.app_id FROM pg_temp.user_metadata_import i WHERE i.outcome IS NULL LOOP
		ids := '{}'::text[];
		docs := '{}'::jsonb[];
		FOR r IN SELECT i.user_id, i.document FROM pg_temp.user_metadata_import i
				 WHERE i.outcome IS NULL AND i.app_id = app LOOP
			ids := pg_catalog.array_append(ids, r.user_id);
			docs := pg_catalog.array_append(docs, r.document);
			IF pg_catalog.cardinality(ids) >= 10000 THEN
				kept := kept + 10000 - user_metadata.import_write(ids, docs, app, on_conflict);
				ids := '{}'::text[];
				docs := '{}'::jsonb[];
			END IF;
		END LOOP;
		kept := kept + pg_catalog.cardinality(ids) - user_metadata.import_write(ids, docs, app, on_conflict);
	END LOOP;
	RETURN kept;
END
$$;

-- Checks an import's on_conflict argument
CREATE FUNCTION user_metadata.import_check(on_conflict text, skip_bad boolean)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF on_conflict IS NULL OR skip_bad IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
			MESSAGE = 'arguments "on_conflict" and "skip_bad" must not be null';
	END IF;
	IF on_conflict NOT IN ('replace'::text, 'merge'::text, 'keep'::text) THEN
		RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
			MESSAGE = pg_catalog.format('invalid on_conflict rule %L'::text, on_conflict),
			HINT = 'Use replace (the imported document replaces a stored one), merge (root-level merge into it) or keep (the stored one stays).';
	END IF;
END
$$;

-- Report of an import: the rows not imported, then one summary row
CREATE FUNCTION user_metadata.import_report(kept bigint)
RETURNS TABLE (line bigint, app text, user_id text, outcome text, detail text)
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT i.line, i.app_id, i.user_id, i.outcome, i.detail FROM pg_temp.user_metadata_import i
	WHERE i.outcome IS NOT NULL
	UNION ALL
	SELECT NULL::bigint, NULL::text, NULL::text, 'summary'::text,
		pg_catalog.format('%s imported, %s kept, %s duplicates, %s bad'::text,
			pg_catalog.count(*) FILTER (WHERE i.outcome IS NULL) OPERATOR(pg_catalog.-) kept, kept,
			pg_catalog.count(*) FILTER (WHERE i.outcome OPERATOR(pg_catalog.=) 'duplicate'::text),
			pg_catalog.count(*) FILTER (WHERE i.outcome OPERATOR(pg_catalog.=) 'bad'::text))
	FROM pg_temp.user_metadata_import i
	ORDER BY 1 NULLS LAST
$$;

-- One line of a mongoexport file as a row of pg_temp.user_metadata_import
CREATE FUNCTION user_metadata.import_atlas_line(line bigint, document text, app text, id_field text)
RETURNS TABLE (line bigint, app text, user_id text, string_id boolean, document jsonb, outcome text, detail text)
LANGUAGE sql IMMUTABLE
AS $$
	SELECT $1, $3,
		CASE WHEN t.ok THEN t.plain OPERATOR(pg_catalog.->>) $4 END,
		COALESCE(pg_catalog.jsonb_typeof(t.raw OPERATOR(pg_catalog.->) $4) OPERATOR(pg_catalog.=) 'string'::text, false),
		t.plain,
		CASE WHEN NOT t.ok THEN 'bad'::text END,
		CASE WHEN pg_catalog.jsonb_typeof(t.raw) OPERATOR(pg_catalog.<>) 'object'::text
				THEN pg_catalog.format('the line is a JSON %s, not an object'::text, pg_catalog.jsonb_typeof(t.raw))
			 WHEN NOT t.raw OPERATOR(pg_catalog.?) $4
				THEN pg_catalog.format('no user id field %s'::text, pg_catalog.to_json($4))
			 WHEN NOT t.ok
				THEN pg_catalog.format('the user id field %s is neither a string nor an ObjectId'::text, pg_catalog.to_json($4)) END
	FROM (SELECT r.raw, user_metadata.from_ejson(r.raw) AS plain,
				 COALESCE(pg_catalog.jsonb_typeof(r.raw) OPERATOR(pg_catalog.=) 'object'::text
				 AND (pg_catalog.jsonb_typeof(r.raw OPERATOR(pg_catalog.->) $4) OPERATOR(pg_catalog.=) 'string'::text
					  OR (r.raw OPERATOR(pg_catalog.->) $4 OPERATOR(pg_catalog.?) '$oid'::text
						  AND pg_catalog.jsonb_typeof(user_metadata.from_ejson(r.raw OPERATOR(pg_catalog.->) $4))
							  OPERATOR(pg_catalog.=) 'string'::text)), false) AS ok
		  -- OFFSET 0: parse and convert once, not once per reference
		  FROM (SELECT $2::pg_catalog.jsonb AS raw OFFSET 0) r OFFSET 0) t
$$;

-- Atlas App Services custom user data, one document per row of source
-- (columns line bigint, document text: the lines of a mongoexport file)
CREATE FUNCTION user_metadata.import_atlas_custom_user_data(source regclass, app_id text DEFAULT 'public',
	id_field text DEFAULT 'userId', on_conflict text DEFAULT 'replace', skip_bad boolean DEFAULT false)
RETURNS TABLE (line bigint, user_id text, outcome text, detail text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	lines text := pg_catalog.format(
		'SELECT s.line::pg_catalog.int8 AS line, s.document::pg_catalog.text AS document FROM %s s'
		' WHERE pg_catalog.btrim(s.document::pg_catalog.text, E'' \t\r\n'') OPERATOR(pg_catalog.<>) '''''::text,
		source);
	r record;
	message text;
	reason text;
	kept bigint;
BEGIN
	PERFORM user_metadata.import_check(on_conflict, skip_bad);
	IF id_field IS NULL OR app_id IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed', MESSAGE = 'arguments "app_id" and "id_field" must not be null';
	END IF;
	IF id_field = ''::text OR app_id = ''::text THEN
		RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'arguments "app_id" and "id_field" must not be empty';
	END IF;
	PERFORM user_metadata.import_prepare();
	BEGIN
		EXECUTE 'INSERT INTO pg_temp.user_metadata_import SELECT c.* FROM (' || lines || ') l,'
			' LATERAL user_metadata.import_atlas_line(l.line, l.document, $1, $2) c' USING app_id, id_field;
	EXCEPTION WHEN data_exception THEN
		-- some line does not parse: find each one, line by line
		FOR r IN EXECUTE lines LOOP
			BEGIN
				INSERT INTO pg_temp.user_metadata_import
					SELECT * FROM user_metadata.import_atlas_line(r.line, r.document, app_id, id_field);
			EXCEPTION WHEN data_exception THEN
				GET STACKED DIAGNOSTICS message = MESSAGE_TEXT, reason = PG_EXCEPTION_DETAIL;
				INSERT INTO pg_temp.user_metadata_import (line, app_id, outcome, detail)
					VALUES (r.line, app_id, 'bad'::text, CASE WHEN reason = ''::text THEN message ELSE message || ': '::text || reason END);
			END;
		END LOOP;
	END;
	kept := user_metadata.import_finish(on_conflict, skip_bad, 'line'::text);
	RETURN QUERY SELECT p.line, p.user_id, p.outcome, p.detail FROM user_metadata.import_report(kept) p;
END
$$;

-- One row of a SuperTokens user_metadata table
CREATE FUNCTION user_metadata.import_supertokens_row(line bigint, app text, user_id text, metadata text)
RETURNS TABLE (line bigint, app text, user_id text, string_id boolean, document jsonb, outcome text, detail text)
LANGUAGE sql IMMUTABLE
AS $$
	SELECT $1, $2, $3, true, d.doc,
		CASE WHEN d.doc IS NULL OR pg_catalog.jsonb_typeof(d.doc) OPERATOR(pg_catalog.<>) 'object'::text THEN 'bad'::text END,
		CASE WHEN d.doc IS NULL THEN 'user_metadata is NULL'::text
			 WHEN pg_catalog.jsonb_typeof(d.doc) OPERATOR(pg_catalog.<>) 'object'::text
				THEN pg_catalog.format('user_metadata is a JSON %s, not an object'::text, pg_catalog.jsonb_typeof(d.doc)) END
	FROM (SELECT $4::pg_catalog.jsonb AS doc OFFSET 0) d
$$;

-- A SuperTokens user_metadata table (app_id, user_id, user_metadata text)
CREATE FUNCTION user_metadata.import_supertokens(source regclass, on_conflict text DEFAULT 'replace',
	skip_bad boolean DEFAULT false)
RETURNS TABLE (app_id text, user_id text, outcome text, detail text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	rows text := pg_catalog.format(
		'SELECT pg_catalog.row_number() OVER () AS line, s.app_id::pg_catalog.text AS app_id,'
		' s.user_id::pg_catalog.text AS user_id, s.user_metadata::pg_catalog.text AS metadata FROM %s s', source);
	r record;
	message text;
	reason text;
	kept bigint;
BEGIN
	PERFORM user_metadata.import_check(on_conflict, skip_bad);
	PERFORM user_metadata.import_prepare();
	BEGIN
		EXECUTE 'INSERT INTO pg_temp.user_metadata_import SELECT c.* FROM (' || rows || ') l,'
			' LATERAL user_metadata.import_supertokens_row(l.line, l.app_id, l.user_id, l.metadata) c';
	EXCEPTION WHEN data_exception THEN
		FOR r IN EXECUTE rows LOOP
			BEGIN
				INSERT INTO pg_temp.user_metadata_import
					SELECT * FROM user_metadata.import_supertokens_row(r.line, r.app_id, r.user_id, r.metadata);
			EXCEPTION WHEN data_exception THEN
				GET STACKED DIAGNOSTICS message = MESSAGE_TEXT, reason = PG_EXCEPTION_DETAIL;
				INSERT INTO pg_temp.user_metadata_import (line, app_id, user_id, outcome, detail)
					VALUES (r.line, r.app_id, r.user_id, 'bad'::text,
							CASE WHEN reason = ''::text THEN message ELSE message || ': '::text || reason END);
			END;
		END LOOP;
	END;
	kept := user_metadata.import_finish(on_conflict, skip_bad, 'row'::text);
	RETURN QUERY SELECT p.app, p.user_id, p.outcome, p.detail FROM user_metadata.import_report(kept) p;
END
$$;

COMMENT ON FUNCTION user_metadata.import_atlas_custom_user_data(regclass, text, text, text, boolean) IS
'import Atlas App Services custom user data from the lines of a mongoexport file (table of line, document); returns the rows not imported and a summary';
COMMENT ON FUNCTION user_metadata.import_supertokens(regclass, text, boolean) IS
'import a SuperTokens user_metadata table (app_id, user_id, user_metadata text); returns the rows not imported and a summary';
COMMENT ON FUNCTION user_metadata.import_prepare() IS 'internal: creates the import work table';
COMMENT ON FUNCTION user_metadata.import_write(text[], jsonb[], text, text) IS 'internal: one batch of an import';
COMMENT ON FUNCTION user_metadata.import_finish(text, boolean, text) IS 'internal: checks, de-duplicates and writes an import';
COMMENT ON FUNCTION user_metadata.import_check(text, boolean) IS 'internal: checks an import''s arguments';
COMMENT ON FUNCTION user_metadata.import_report(bigint) IS 'internal: the report of an import';
COMMENT ON FUNCTION user_metadata.import_atlas_line(bigint, text, text, text) IS 'internal: one line of a mongoexport file';
COMMENT ON FUNCTION user_metadata.import_supertokens_row(bigint, text, text, text) IS 'internal: one row of a SuperTokens table';

-- Imports write any user: admin API, with the caller's rights.  Their
-- helpers stay executable by PUBLIC (an import's caller needs them): they
-- write only through the bulk writes, which check the caller.
REVOKE ALL ON FUNCTION
	user_metadata.import_atlas_custom_user_data(regclass, text, text, text, boolean),
	user_metadata.import_supertokens(regclass, text, boolean)
FROM PUBLIC;
