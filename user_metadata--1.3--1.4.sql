/* user_metadata--1.3--1.4.sql: per-app document rules, checked on every
 * write by the table's trigger normalize_document (src/store/document_rules.c),
 * and change history per app (set_history, user_metadata_history,
 * get_user_metadata_as_of, prune_history, forget_user), recorded by a row
 * trigger on every write (src/store/history.c); on Citus, distribute_on_citus
 * makes the rules and the history settings reference tables and co-locates
 * the history with the store; the store's CHECK constraints become one C
 * call each (src/store/store_table.c) */

\echo Use "ALTER EXTENSION user_metadata UPDATE TO '1.4'" to load this file. \quit

-- The same rows allowed as before.  The executor rebuilds a CHECK's
-- expression from its stored text for every statement that writes the
-- table: for 1.0's SQL expressions that took a third of a single-row
-- upsert.  Any role may call them, as any writer's constraints do;
-- upgrade_store_table (below) puts them in the constraints.
CREATE FUNCTION user_metadata.ids_valid(app_id text, user_id text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'ids_valid'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION user_metadata.ids_valid(text, text) IS
'internal: the CHECK constraint user_metadata_ids_valid of user_metadata.user_metadata, each id 1 to 512 bytes';

CREATE FUNCTION user_metadata.metadata_is_object(metadata jsonb)
RETURNS boolean
AS 'MODULE_PATHNAME', 'metadata_is_object'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION user_metadata.metadata_is_object(jsonb) IS
'internal: the CHECK constraint user_metadata_metadata_is_object of user_metadata.user_metadata, a JSON object';

-- One rules object per app (README, "Document rules").  The trigger reads
-- it on every write, never a cache; only the owner may read or write it,
-- through set_document_rules for everyone else.
CREATE TABLE user_metadata.document_rules (
	app_id		text PRIMARY KEY
		CONSTRAINT document_rules_app_id_valid CHECK (pg_catalog.octet_length(app_id) BETWEEN 1 AND 512),
	rules		jsonb NOT NULL
);

COMMENT ON TABLE user_metadata.document_rules IS
'per-app rules every document write of the app follows; write them with user_metadata.set_document_rules';

SELECT pg_catalog.pg_extension_config_dump('user_metadata.document_rules'::pg_catalog.regclass, ''::pg_catalog.text);

REVOKE ALL ON TABLE user_metadata.document_rules FROM PUBLIC;

-- Admin API, not for PUBLIC: NULL rules remove them; rules that stored
-- documents break are refused (23514)
CREATE FUNCTION user_metadata.set_document_rules(app_id text, rules jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'set_document_rules'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION user_metadata.set_document_rules(text, jsonb) IS
'set the rules of the app''s documents (max_keys, max_bytes, keys, other_keys), or remove them with NULL';

REVOKE ALL ON FUNCTION user_metadata.set_document_rules(text, jsonb) FROM PUBLIC;

CREATE FUNCTION user_metadata.get_document_rules(app_id text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'get_document_rules'
LANGUAGE C STABLE;

COMMENT ON FUNCTION user_metadata.get_document_rules(text) IS
'the rules of the app''s documents, NULL when it has none';

REVOKE ALL ON FUNCTION user_metadata.get_document_rules(text) FROM PUBLIC;

-- Which apps keep a change history, and for how long (src/store/history.c).
-- An app without a row keeps none.
CREATE TABLE user_metadata.history_settings (
	app_id			text PRIMARY KEY,
	enabled			boolean NOT NULL DEFAULT false,
	keep_max_age	interval,
	keep_max_count	integer,
	CONSTRAINT history_settings_limits_valid
		CHECK (keep_max_age OPERATOR(pg_catalog.>) '0'::pg_catalog.interval
			   AND keep_max_count OPERATOR(pg_catalog.>=) 1)
);

COMMENT ON TABLE user_metadata.history_settings IS
'apps whose document changes are recorded in user_metadata.user_metadata_history, and their retention limits; write it with set_history';

SELECT pg_catalog.pg_extension_config_dump('user_metadata.history_settings'::pg_catalog.regclass, ''::pg_catalog.text);

REVOKE ALL ON TABLE user_metadata.history_settings FROM PUBLIC;

-- One row per recorded write, in the writer's transaction.  metadata holds
-- the whole resulting document only where the row before cannot rebuild it
-- with jsonb_merge (at least every 16th row of a user); otherwise patch
-- does.  doc_hash, since_full and gap_before let the trigger decide that.
-- seq numbers a user's rows, the last one plus one, in the order of the
-- writes (src/store/history.c).
-- The ids are only ever compared for equality: collation "C" spares every
-- write's descents of the primary key the locale's strcoll() on app_id.
-- user_id keeps the store's collation, which Citus requires of the column
-- it co-locates the history by.
CREATE TABLE user_metadata.user_metadata_history (
	app_id				text COLLATE pg_catalog."C" NOT NULL,
	user_id				text NOT NULL,
	seq					bigint NOT NULL,
	changed_at			timestamptz NOT NULL,
	changed_by			text NOT NULL,
	changed_by_user_id	text,
	patch				jsonb,
	metadata			jsonb,
	doc_hash			bigint NOT NULL,
	since_full			integer NOT NULL,
	gap_before			boolean NOT NULL DEFAULT false,
	PRIMARY KEY (app_id, user_id, seq)
);

COMMENT ON TABLE user_metadata.user_metadata_history IS
'the recorded writes of user_metadata.user_metadata, for the apps with history on; read it with user_metadata_history and get_user_metadata_as_of';

SELECT pg_catalog.pg_extension_config_dump('user_metadata.user_metadata_history'::pg_catalog.regclass, ''::pg_catalog.text);

REVOKE ALL ON TABLE user_metadata.user_metadata_history FROM PUBLIC;

-- A client role granted SELECT sees only the current user's rows, as on
-- the documents' table; nobody but the owner writes it.
ALTER TABLE user_metadata.user_metadata_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY current_user_only ON user_metadata.user_metadata_history
	FOR SELECT
	USING (user_id OPERATOR(pg_catalog.=) user_metadata.current_user_id()
		   AND app_id OPERATOR(pg_catalog.=) user_metadata.current_app_id());

-- Every write of the table, by every writer, recorded when the row's app
-- has history on
CREATE FUNCTION user_metadata.record_history()
RETURNS trigger
AS 'MODULE_PATHNAME', 'record_history'
LANGUAGE C;

REVOKE ALL ON FUNCTION user_metadata.record_history() FROM PUBLIC;

-- Internal: the trigger, once.  On Citus it fires on the workers' shards
-- (src/citus/citus_table.c), which Citus allows with enable_unsafe_triggers;
-- without Citus loaded that setting is an unused placeholder.
-- What 1.4 adds to the store itself, unless it has it: the history trigger,
-- and CHECK constraints that are one call each.  One ALTER TABLE per
-- subcommand, as Citus propagates them to the shards.
CREATE FUNCTION user_metadata.upgrade_store_table()
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_trigger t
				   WHERE t.tgrelid OPERATOR(pg_catalog.=) 'user_metadata.user_metadata'::pg_catalog.regclass
					   AND t.tgname OPERATOR(pg_catalog.=) 'record_history'::pg_catalog.name) THEN
		PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers'::pg_catalog.text, 'on'::pg_catalog.text, true);
		CREATE TRIGGER record_history
			AFTER INSERT OR UPDATE OR DELETE ON user_metadata.user_metadata
			FOR EACH ROW EXECUTE FUNCTION user_metadata.record_history();
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_depend d
					   ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_constraint'::pg_catalog.regclass
					   AND d.objid OPERATOR(pg_catalog.=) c.oid
				   WHERE c.conrelid OPERATOR(pg_catalog.=) 'user_metadata.user_metadata'::pg_catalog.regclass
					   AND c.conname OPERATOR(pg_catalog.=) 'user_metadata_ids_valid'::pg_catalog.name
					   AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
					   AND d.refobjid OPERATOR(pg_catalog.=) 'user_metadata.ids_valid(text, text)'::pg_catalog.regprocedure) THEN
		ALTER TABLE user_metadata.user_metadata DROP CONSTRAINT IF EXISTS user_metadata_ids_valid;
		ALTER TABLE user_metadata.user_metadata
			ADD CONSTRAINT user_metadata_ids_valid CHECK (user_metadata.ids_valid(app_id, user_id));
		ALTER TABLE user_metadata.user_metadata DROP CONSTRAINT IF EXISTS user_metadata_metadata_is_object;
		ALTER TABLE user_metadata.user_metadata
			ADD CONSTRAINT user_metadata_metadata_is_object CHECK (user_metadata.metadata_is_object(metadata));
	END IF;
END
$$;

COMMENT ON FUNCTION user_metadata.upgrade_store_table() IS
'internal: give the store what 1.4 adds to it unless it has it: the trigger record_history, CHECK constraints calling ids_valid and metadata_is_object';

REVOKE ALL ON FUNCTION user_metadata.upgrade_store_table() FROM PUBLIC;

-- Citus refuses a trigger on a distributed table inside an extension's
-- script, and would send the constraints to the workers before they have
-- this version's functions: a store that Citus distributed under 1.3 gets
-- both, and its new tables follow it, when distribute_on_citus runs again
-- after the update; until then it keeps 1.3's constraints, which allow the
-- same rows
DO $$
DECLARE
	distributed pg_catalog.bool := false;
BEGIN
	IF EXISTS (SELECT FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'citus'::pg_catalog.name) THEN
		EXECUTE 'SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_partition p
				 WHERE p.logicalrelid OPERATOR(pg_catalog.=) ''user_metadata.user_metadata''::pg_catalog.regclass)'
			INTO STRICT distributed;
	END IF;
	IF NOT distributed THEN
		PERFORM user_metadata.upgrade_store_table();
	END IF;
END
$$;

-- The admin API of the history, not for PUBLIC
CREATE FUNCTION user_metadata.set_history(app_id text, enabled boolean,
	keep interval DEFAULT NULL::pg_catalog.interval, keep_count integer DEFAULT NULL::pg_catalog.int4)
RETURNS void
AS 'MODULE_PATHNAME', 'set_history'
LANGUAGE C VOLATILE;

CREATE FUNCTION user_metadata.prune_history(app_id text DEFAULT 'public'::pg_catalog.text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'prune_history'
LANGUAGE C VOLATILE;

CREATE FUNCTION user_metadata.forget_user(user_id text, app_id text DEFAULT 'public'::pg_catalog.text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'forget_user'
LANGUAGE C VOLATILE;

CREATE FUNCTION user_metadata.user_metadata_history(user_id text, app_id text DEFAULT 'public'::pg_catalog.text)
RETURNS TABLE (changed_at timestamptz, changed_by text, patch jsonb, metadata jsonb, changed_by_user_id text)
AS 'MODULE_PATHNAME', 'user_metadata_history'
LANGUAGE C STABLE PARALLEL RESTRICTED;

CREATE FUNCTION user_metadata.get_user_metadata_as_of(user_id text, as_of timestamptz,
	app_id text DEFAULT 'public'::pg_catalog.text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'get_user_metadata_as_of'
LANGUAGE C STABLE PARALLEL RESTRICTED;

COMMENT ON FUNCTION user_metadata.set_history(text, boolean, interval, integer) IS
'turn the change history of an app on or off, with its retention: changes older than keep, beyond the newest keep_count per user';
COMMENT ON FUNCTION user_metadata.prune_history(text) IS
'remove the history of an app beyond its retention limits; the number of rows removed';
COMMENT ON FUNCTION user_metadata.forget_user(text, text) IS
'remove the user''s document and its whole history (erasure); true if there was either';
COMMENT ON FUNCTION user_metadata.user_metadata_history(text, text) IS
'the recorded changes of the user''s document, oldest first, each with the resulting document';
COMMENT ON FUNCTION user_metadata.get_user_metadata_as_of(text, timestamptz, text) IS
'the user''s document as it was at as_of, {} before the first write, NULL before the retained history';

REVOKE ALL ON FUNCTION
	user_metadata.set_history(text, boolean, interval, integer),
	user_metadata.prune_history(text),
	user_metadata.forget_user(text, text),
	user_metadata.user_metadata_history(text, text),
	user_metadata.get_user_metadata_as_of(text, timestamptz, text)
FROM PUBLIC;

-- Citus: the rules and the history settings go to every node as reference
-- tables, the history is co-located with the store by user_id, so that the
-- store's triggers on a worker's shard find them on that worker
-- (src/citus/citus_table.c)
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
	settings_table pg_catalog.regclass;
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
		-- src/citus/citus_guard.c keeps a NULL user id, which crashes Citus 13.2's
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
		-- the table's triggers run on the workers, where the shards are; the
		-- history's would record the rows Citus copies into a shard here
		PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers'::pg_catalog.text, 'on'::pg_catalog.text, true);
		PERFORM user_metadata.upgrade_store_table();
		ALTER TABLE user_metadata.user_metadata DISABLE TRIGGER record_history;
		EXECUTE 'SELECT pg_catalog.create_distributed_table(''user_metadata.user_metadata''::pg_catalog.regclass,
				 ''user_id''::pg_catalog.text, shard_count => $1)' USING shard_count;
		ALTER TABLE user_metadata.user_metadata ENABLE TRIGGER record_history;
	ELSIF method OPERATOR(pg_catalog.<>) 'h'::pg_catalog.char
		  OR dist_column OPERATOR(pg_catalog.<>) 'user_id'::pg_catalog.text THEN
		RAISE EXCEPTION USING ERRCODE = '55000',
			MESSAGE = 'table user_metadata.user_metadata is already a Citus table, not distributed by user_id',
			DETAIL = pg_catalog.format('Its distribution method is %L, its column %L.'::pg_catalog.text, method, dist_column),
			HINT = 'Undistribute it with undistribute_table() first.';
	END IF;
	FOREACH settings_table IN ARRAY
		ARRAY['user_metadata.document_rules', 'user_metadata.history_settings']::pg_catalog.regclass[] LOOP
		EXECUTE 'SELECT p.partmethod FROM pg_catalog.pg_dist_partition p
				 WHERE p.logicalrelid OPERATOR(pg_catalog.=) $1' INTO method USING settings_table;
		IF method IS NULL THEN
			EXECUTE 'SELECT pg_catalog.create_reference_table($1)' USING settings_table;
			EXECUTE 'SELECT pg_catalog.truncate_local_data_after_distributing_table($1)' USING settings_table;
		END IF;
	END LOOP;
	EXECUTE 'SELECT p.partmethod FROM pg_catalog.pg_dist_partition p
			 WHERE p.logicalrelid OPERATOR(pg_catalog.=) ''user_metadata.user_metadata_history''::pg_catalog.regclass'
		INTO method;
	IF method IS NULL THEN
		EXECUTE 'SELECT pg_catalog.create_distributed_table(''user_metadata.user_metadata_history''::pg_catalog.regclass,
				 ''user_id''::pg_catalog.text, colocate_with => ''user_metadata.user_metadata''::pg_catalog.text)';
		EXECUTE 'SELECT pg_catalog.truncate_local_data_after_distributing_table(''user_metadata.user_metadata_history''::pg_catalog.regclass)';
	END IF;
	PERFORM user_metadata.upgrade_store_table();
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

-- Imports: with skip_bad, a document that the app's rules refuse (23514 from
-- the table's trigger, on the document as on_conflict would store it) is
-- reported as a bad row, not the end of the import.

-- One batch of an import's rows, each user once, written with on_conflict's
-- rule; returns how many users it kept (on_conflict keep).  With skip_bad,
-- a batch that some document's rules refuse is written again user by user,
-- and the users refused become bad rows with the rule they break.
CREATE FUNCTION user_metadata.import_write_or_skip(user_ids text[], documents jsonb[], app text,
	on_conflict text, skip_bad boolean)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	kept bigint := 0;
	refused_ids text[] := '{}'::text[];
	refused_details text[] := '{}'::text[];
	message text;
	reason text;
BEGIN
	BEGIN
		RETURN pg_catalog.cardinality(user_ids) OPERATOR(pg_catalog.-)
			user_metadata.import_write(user_ids, documents, app, on_conflict);
	EXCEPTION WHEN check_violation THEN
		IF NOT skip_bad THEN
			RAISE;
		END IF;
	END;
	-- find the documents refused, one user at a time; mark them in one scan
	FOR n IN 1 .. pg_catalog.cardinality(user_ids) LOOP
		BEGIN
			kept := kept OPERATOR(pg_catalog.+) 1 OPERATOR(pg_catalog.-)
				user_metadata.import_write(ARRAY[user_ids[n]], ARRAY[documents[n]], app, on_conflict);
		EXCEPTION WHEN check_violation THEN
			GET STACKED DIAGNOSTICS message = MESSAGE_TEXT, reason = PG_EXCEPTION_DETAIL;
			refused_ids := pg_catalog.array_append(refused_ids, user_ids[n]);
			refused_details := pg_catalog.array_append(refused_details,
				CASE WHEN reason OPERATOR(pg_catalog.=) ''::text THEN message
					 ELSE message OPERATOR(pg_catalog.||) ': '::text OPERATOR(pg_catalog.||) reason END);
		END;
	END LOOP;
	UPDATE pg_temp.user_metadata_import i SET outcome = 'bad'::text, detail = r.detail
		FROM ROWS FROM (pg_catalog.unnest(refused_ids), pg_catalog.unnest(refused_details)) AS r (user_id, detail)
		WHERE i.app_id OPERATOR(pg_catalog.=) app AND i.user_id OPERATOR(pg_catalog.=) r.user_id
			AND i.outcome IS NULL;
	RETURN kept;
END
$$;

-- Rows of pg_temp.user_metadata_import that cannot be imported become
-- outcome 'bad' (with the reason), later rows of a user 'duplicate'; unless
-- skip_bad, any bad row raises 22P02 and nothing is written; then the other
-- rows are written with on_conflict's rule, and with skip_bad a document the
-- app's rules refuse is one more bad row.  Messages call rows what
-- (line, row).  Returns the number of users kept under 'keep'.
CREATE OR REPLACE FUNCTION user_metadata.import_finish(on_conflict text, skip_bad boolean, what text)
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
				kept := kept + user_metadata.import_write_or_skip(ids, docs, app, on_conflict, skip_bad);
				ids := '{}'::text[];
				docs := '{}'::jsonb[];
			END IF;
		END LOOP;
		kept := kept + user_metadata.import_write_or_skip(ids, docs, app, on_conflict, skip_bad);
	END LOOP;
	RETURN kept;
END
$$;

COMMENT ON FUNCTION user_metadata.import_write_or_skip(text[], jsonb[], text, text, boolean) IS
'internal: one batch of an import, the documents the rules refuse skipped with skip_bad';
