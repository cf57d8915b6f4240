-- Citus
-- Distribute the store over a Citus cluster by user_id (all of a user's apps
-- on one shard).  With delegate, the per-user admin functions become Citus
-- distributed functions co-located with the store: the coordinator hands
-- each call, in transaction blocks too, to the worker holding the user.
-- Run on the coordinator by the table's owner; running it again only
-- refreshes the distributed functions.  README, "Scaling out with Citus".
CREATE FUNCTION user_metadata.distribute_on_citus(shard_count integer DEFAULT NULL, delegate boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	api CONSTANT pg_catalog.text[] := ARRAY[
		'user_metadata.get_user_metadata(text, text)',
		'user_metadata.update_user_metadata(text, jsonb, text)',
		'user_metadata.set_user_metadata(text, jsonb, text)',
		'user_metadata.clear_user_metadata(text, text)'];
	fn pg_catalog.text;
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
		FOREACH fn IN ARRAY api LOOP
			EXECUTE 'SELECT pg_catalog.create_distributed_function($1::pg_catalog.regprocedure,
					 distribution_arg_name => ''user_id''::pg_catalog.text,
					 colocate_with => ''user_metadata.user_metadata''::pg_catalog.text, force_delegation => true)'
				USING fn;
		END LOOP;
	END IF;
END
$$;

COMMENT ON FUNCTION user_metadata.distribute_on_citus(integer, boolean) IS
'distribute the store over Citus by user_id; with delegate, the per-user admin calls run on the worker holding the user';

REVOKE ALL ON FUNCTION user_metadata.distribute_on_citus(integer, boolean) FROM PUBLIC;
