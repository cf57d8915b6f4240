/* user_metadata_proxy--1.2--1.3.sql: per-app document rules and change
 * history, as in user_metadata 1.4: the settings of an app (rules, history)
 * on every partition, a user's history on the user's partition;
 * partitions must run user_metadata 1.4 first */

\echo Use "ALTER EXTENSION user_metadata_proxy UPDATE TO '1.3'" to load this file. \quit

-- Every partition checks its own documents against the new rules and
-- commits on its own: when one refuses them (23514), the others may have
-- taken them; setting them again once the documents are fixed, or NULL,
-- brings every partition back in line.
CREATE FUNCTION user_metadata_remote.set_document_rules_everywhere(app_id text, rules jsonb)
RETURNS SETOF text
LANGUAGE plproxy VOLATILE
SET client_min_messages = warning
SET search_path = pg_catalog, pg_temp
AS $$
	CLUSTER 'user_metadata';
	RUN ON ALL;
	SELECT NULL::pg_catalog.text FROM user_metadata.set_document_rules($1::pg_catalog.text, $2::pg_catalog.jsonb);
$$;

REVOKE ALL ON FUNCTION user_metadata_remote.set_document_rules_everywhere(text, jsonb) FROM PUBLIC;

-- count(*): every partition's answer is awaited before the call returns
CREATE FUNCTION user_metadata_remote.set_document_rules(app_id text, rules jsonb)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM pg_catalog.count(*) FROM user_metadata_remote.set_document_rules_everywhere(app_id, rules);
END
$$;

REVOKE ALL ON FUNCTION user_metadata_remote.set_document_rules(text, jsonb) FROM PUBLIC;

-- The rules as partition 0 has them: every partition has the same once set
-- through the proxy
CREATE FUNCTION user_metadata_remote.get_document_rules(app_id text)
RETURNS jsonb
LANGUAGE plproxy VOLATILE
SET client_min_messages = warning
SET search_path = pg_catalog, pg_temp
AS $$
	CLUSTER 'user_metadata';
	RUN ON 0;
	TARGET user_metadata.get_document_rules;
$$;

REVOKE ALL ON FUNCTION user_metadata_remote.get_document_rules(text) FROM PUBLIC;

CREATE FUNCTION user_metadata.set_document_rules(app_id text, rules jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'um_proxy_call'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION user_metadata.set_document_rules(text, jsonb) IS
'set the rules of the app''s documents on every partition, or remove them with NULL';

REVOKE ALL ON FUNCTION user_metadata.set_document_rules(text, jsonb) FROM PUBLIC;

CREATE FUNCTION user_metadata.get_document_rules(app_id text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'um_proxy_call'
LANGUAGE C STABLE;

COMMENT ON FUNCTION user_metadata.get_document_rules(text) IS
'the rules of the app''s documents, as the first partition has them; NULL when it has none';

REVOKE ALL ON FUNCTION user_metadata.get_document_rules(text) FROM PUBLIC;

-- Change history.  An app's settings and pruning go to every partition,
-- each committing on its own, like the rules; a user's history lives on
-- the user's partition, with the user's document.
CREATE FUNCTION user_metadata_remote.set_history_everywhere(app_id text, enabled boolean, keep interval, keep_count integer)
RETURNS SETOF text
LANGUAGE plproxy VOLATILE
SET client_min_messages = warning
SET search_path = pg_catalog, pg_temp
AS $$
	CLUSTER 'user_metadata';
	RUN ON ALL;
	SELECT NULL::pg_catalog.text FROM user_metadata.set_history($1::pg_catalog.text, $2::pg_catalog.bool,
		$3::pg_catalog.interval, $4::pg_catalog.int4);
$$;

CREATE FUNCTION user_metadata_remote.set_history(app_id text, enabled boolean, keep interval, keep_count integer)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM pg_catalog.count(*) FROM user_metadata_remote.set_history_everywhere(app_id, enabled, keep, keep_count);
END
$$;

CREATE FUNCTION user_metadata_remote.prune_history_everywhere(app_id text)
RETURNS SETOF bigint
LANGUAGE plproxy VOLATILE
SET client_min_messages = warning
SET search_path = pg_catalog, pg_temp
AS $$
	CLUSTER 'user_metadata';
	RUN ON ALL;
	TARGET user_metadata.prune_history;
$$;

CREATE FUNCTION user_metadata_remote.prune_history(app_id text)
RETURNS bigint
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_catalog.sum(n)::pg_catalog.int8 FROM user_metadata_remote.prune_history_everywhere(app_id) AS p (n)
$$;

CREATE FUNCTION user_metadata_remote.forget_user(user_id text, app_id text)
RETURNS boolean
LANGUAGE plproxy VOLATILE
SET client_min_messages = warning
SET search_path = pg_catalog, pg_temp
AS $$
	CLUSTER 'user_metadata';
	RUN ON user_metadata_remote.partition_hash(user_id);
	TARGET user_metadata.forget_user;
$$;

CREATE FUNCTION user_metadata_remote.user_metadata_history(user_id text, app_id text)
RETURNS TABLE (changed_at timestamptz, changed_by text, patch jsonb, metadata jsonb, changed_by_user_id text)
LANGUAGE plproxy VOLATILE
SET client_min_messages = warning
SET search_path = pg_catalog, pg_temp
AS $$
	CLUSTER 'user_metadata';
	RUN ON user_metadata_remote.partition_hash(user_id);
	TARGET user_metadata.user_metadata_history;
$$;

CREATE FUNCTION user_metadata_remote.get_user_metadata_as_of(user_id text, as_of timestamptz, app_id text)
RETURNS jsonb
LANGUAGE plproxy VOLATILE
SET client_min_messages = warning
SET search_path = pg_catalog, pg_temp
AS $$
	CLUSTER 'user_metadata';
	RUN ON user_metadata_remote.partition_hash(user_id);
	TARGET user_metadata.get_user_metadata_as_of;
$$;

REVOKE ALL ON FUNCTION
	user_metadata_remote.set_history_everywhere(text, boolean, interval, integer),
	user_metadata_remote.set_history(text, boolean, interval, integer),
	user_metadata_remote.prune_history_everywhere(text),
	user_metadata_remote.prune_history(text),
	user_metadata_remote.forget_user(text, text),
	user_metadata_remote.user_metadata_history(text, text),
	user_metadata_remote.get_user_metadata_as_of(text, timestamptz, text)
FROM PUBLIC;

CREATE FUNCTION user_metadata.set_history(app_id text, enabled boolean,
	keep interval DEFAULT NULL::pg_catalog.interval, keep_count integer DEFAULT NULL::pg_catalog.int4)
RETURNS void
AS 'MODULE_PATHNAME', 'um_proxy_call'
LANGUAGE C VOLATILE;

CREATE FUNCTION user_metadata.prune_history(app_id text DEFAULT 'public'::pg_catalog.text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'um_proxy_call'
LANGUAGE C VOLATILE;

CREATE FUNCTION user_metadata.forget_user(user_id text, app_id text DEFAULT 'public'::pg_catalog.text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'um_proxy_call'
LANGUAGE C VOLATILE;

CREATE FUNCTION user_metadata.user_metadata_history(user_id text, app_id text DEFAULT 'public'::pg_catalog.text)
RETURNS TABLE (changed_at timestamptz, changed_by text, patch jsonb, metadata jsonb, changed_by_user_id text)
AS 'MODULE_PATHNAME', 'um_proxy_call'
LANGUAGE C STABLE;

CREATE FUNCTION user_metadata.get_user_metadata_as_of(user_id text, as_of timestamptz,
	app_id text DEFAULT 'public'::pg_catalog.text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'um_proxy_call'
LANGUAGE C STABLE;

COMMENT ON FUNCTION user_metadata.set_history(text, boolean, interval, integer) IS
'turn the change history of an app on or off on every partition, with its retention';
COMMENT ON FUNCTION user_metadata.prune_history(text) IS
'remove the history of an app beyond its retention limits on every partition; the number of rows removed';
COMMENT ON FUNCTION user_metadata.forget_user(text, text) IS
'remove the user''s document and its whole history on the user''s partition; true if there was either';
COMMENT ON FUNCTION user_metadata.user_metadata_history(text, text) IS
'the recorded changes of the user''s document, oldest first, from the user''s partition';
COMMENT ON FUNCTION user_metadata.get_user_metadata_as_of(text, timestamptz, text) IS
'the user''s document as it was at as_of, from the user''s partition';

REVOKE ALL ON FUNCTION
	user_metadata.set_history(text, boolean, interval, integer),
	user_metadata.prune_history(text),
	user_metadata.forget_user(text, text),
	user_metadata.user_metadata_history(text, text),
	user_metadata.get_user_metadata_as_of(text, timestamptz, text)
FROM PUBLIC;

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
