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

SELECT pg_catalog.pg_extension_config_dump('user_metadata.user_metadata'::pg_catalog.regclass, ''::pg_catalog.text);

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
