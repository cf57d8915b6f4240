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
