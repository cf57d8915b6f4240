/* user_metadata--1.2--1.3.sql: the owner's rights declared in the catalogs
 * (one SECURITY DEFINER function), admin scopes no longer cached, one list
 * of the per-user functions for the Citus guard and distribute_on_citus,
 * and delete_user_metadata_key */

\echo Use "ALTER EXTENSION user_metadata UPDATE TO '1.3'" to load this file. \quit

-- The admin API functions stay SECURITY INVOKER, so that they can check
-- their caller's admin scope; then they do their work inside this one
-- SECURITY DEFINER function (src/admin_access.c), which fmgr calls with the
-- owner's rights and this search path.  No SQL caller can pass it an
-- internal argument.
CREATE FUNCTION user_metadata.run_as_owner(internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'run_as_owner'
LANGUAGE C STRICT
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION user_metadata.run_as_owner(internal) IS
'internal: the admin API''s work, with the extension owner''s rights, after the caller''s admin scope was checked';

REVOKE ALL ON FUNCTION user_metadata.run_as_owner(internal) FROM PUBLIC;

-- The Atlas-style calls run with their caller's rights; their statements
-- get the same search path as the admin API's, so one cached plan serves both
ALTER FUNCTION user_metadata.custom_user_data() SET search_path = pg_catalog, pg_temp;
ALTER PROCEDURE user_metadata.write_custom_user_data(jsonb, jsonb) SET search_path = pg_catalog, pg_temp;

-- The scopes are read on every call: nothing to invalidate
DROP TRIGGER admin_scopes_changed ON user_metadata.admin_scopes;
DROP FUNCTION user_metadata.admin_scopes_changed();

-- Remove one root key from a user's document: update_user_metadata with
-- the patch {key: null}; admin API, not for PUBLIC
CREATE FUNCTION user_metadata.delete_user_metadata_key(user_id text, key text, app_id text DEFAULT 'public')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'delete_user_metadata_key'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION user_metadata.delete_user_metadata_key(text, text, text) IS
'atomically remove one root key from the user''s document and return the document';

REVOKE ALL ON FUNCTION user_metadata.delete_user_metadata_key(text, text, text) FROM PUBLIC;

-- The per-user admin functions, listed once, in src/citus_guard.c
CREATE FUNCTION user_metadata.per_user_functions()
RETURNS SETOF pg_catalog.regprocedure
AS 'MODULE_PATHNAME', 'per_user_functions'
LANGUAGE C STABLE;

COMMENT ON FUNCTION user_metadata.per_user_functions() IS
'the per-user admin functions, distributed by user_id: those distribute_on_citus delegates and the Citus guard checks';

CREATE OR REPLACE FUNCTION user_metadata.distribute_on_citus(shard_count integer DEFAULT NULL, delegate boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	fn pg_catalog.regprocedure;
	method pg_catalog.char;
	dist_column pg_catalog.text;
	coordinator pg_catalog.bool;
	same_scopes pg_catalog.bool;
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'citus'::pg_catalog.name) THEN
		RAISE EXCEPTION USING ERRCODE = '55000', MESSAGE = 'extension "citus" is not installed in this database',
			HINT = 'Put citus in shared_preload_libraries on every node, CREATE EXTENSION citus, add the workers, then call this on the coordinator.';
	END IF;
	IF shard_count IS NOT NULL AND shard_count NOT BETWEEN 1 AND 64000 THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'argument "shard_count" must be between 1 and 64000',
			HINT = 'Pass NULL for citus.shard_count.';
	END IF;
	IF delegate IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'argument "delegate" must not be null',
			HINT = 'Pass true or false.';
	END IF;
	EXECUTE 'SELECT pg_catalog.citus_is_coordinator()' INTO STRICT coordinator;
	IF NOT coordinator THEN
		RAISE EXCEPTION USING ERRCODE = '55000', MESSAGE = 'this node is not the Citus coordinator',
			HINT = 'Run user_metadata.distribute_on_citus() on the coordinator, after citus_set_coordinator_host() and citus_add_node().';
	END IF;
	IF delegate THEN
		-- src/citus_guard.c keeps a NULL user id, which crashes Citus 13.2's
		-- delegation, away from Citus's planner; it must run in every session
		IF pg_catalog.current_setting('shared_preload_libraries'::pg_catalog.text)
		   OPERATOR(pg_catalog.!~) '(^|[,/ ])user_metadata *(,|$)'::pg_catalog.text THEN
			RAISE EXCEPTION USING ERRCODE = '55000', MESSAGE = 'delegation needs user_metadata in shared_preload_libraries',
				DETAIL = 'Citus 13.2 crashes the server on a delegated call with a NULL distribution argument; user_metadata, preloaded, refuses such calls first.',
				HINT = 'Set shared_preload_libraries = ''citus,user_metadata'' on every node and restart them.';
		END IF;
		-- a delegated call checks the scopes of the worker it runs on
		EXECUTE 'SELECT pg_catalog.bool_and(r.success) AND pg_catalog.count(DISTINCT COALESCE(r.result,
				 ''''::pg_catalog.text)) OPERATOR(pg_catalog.=) 1 FROM pg_catalog.run_command_on_all_nodes($1) r'
			INTO STRICT same_scopes
			USING 'SELECT pg_catalog.md5(pg_catalog.string_agg(s.role::pg_catalog.text OPERATOR(pg_catalog.||) ''/''::pg_catalog.text
				   OPERATOR(pg_catalog.||) s.app_id, '',''::pg_catalog.text ORDER BY s.role::pg_catalog.text, s.app_id))
				   FROM user_metadata.admin_scopes s'::pg_catalog.text;
		IF NOT same_scopes THEN
			RAISE EXCEPTION USING ERRCODE = '55000', MESSAGE = 'user_metadata.admin_scopes differs between the nodes',
				DETAIL = 'A delegated call checks the per-app admin scopes of the worker it runs on.',
				HINT = 'Write the scopes on every node with run_command_on_all_nodes(), then call this again.';
		END IF;
	END IF;
	EXECUTE 'SELECT p.partmethod, pg_catalog.column_to_column_name(p.logicalrelid, p.partkey)
			 FROM pg_catalog.pg_dist_partition p
			 WHERE p.logicalrelid OPERATOR(pg_catalog.=) ''user_metadata.user_metadata''::pg_catalog.regclass'
		INTO method, dist_column;
	IF method IS NULL THEN
		-- the table's triggers run on the workers, where the shards are
		PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers'::pg_catalog.text, 'on'::pg_catalog.text, true);
		EXECUTE 'SELECT pg_catalog.create_distributed_table(''user_metadata.user_metadata''::pg_catalog.regclass,
				 ''user_id''::pg_catalog.text, shard_count => $1)' USING shard_count;
	ELSIF method OPERATOR(pg_catalog.<>) 'h'::pg_catalog.char
		  OR dist_column OPERATOR(pg_catalog.<>) 'user_id'::pg_catalog.text THEN
		RAISE EXCEPTION USING ERRCODE = '55000',
			MESSAGE = 'table user_metadata.user_metadata is already a Citus table, not distributed by user_id',
			DETAIL = pg_catalog.format('Its distribution method is %L, its column %L.'::pg_catalog.text, method, dist_column),
			HINT = 'Undistribute it with undistribute_table() first.';
	END IF;
	IF delegate THEN
		FOR fn IN SELECT f FROM user_metadata.per_user_functions() f LOOP
			EXECUTE 'SELECT pg_catalog.create_distributed_function($1::pg_catalog.regprocedure,
					 distribution_arg_name => ''user_id''::pg_catalog.text,
					 colocate_with => ''user_metadata.user_metadata''::pg_catalog.text, force_delegation => true)'
				USING fn;
		END LOOP;
	END IF;
END
$$;

