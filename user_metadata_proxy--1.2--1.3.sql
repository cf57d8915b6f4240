/* user_metadata_proxy--1.2--1.3.sql: per-app document rules, as in
 * user_metadata 1.4: set_document_rules on every partition,
 * get_document_rules from the first; partitions must run user_metadata 1.4
 * first */

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
