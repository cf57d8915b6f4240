/* sql/user_metadata_proxy--1.0--1.1.sql: per-app admin scopes checked for
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

-- Per-app admin scopes of the proxy's callers, as on a store (the same
-- table, read by the same C check; test/suites/proxy.sh compares the two):
-- a role that has the privileges of a role listed here may use the admin
-- API only for the apps listed for it.
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
