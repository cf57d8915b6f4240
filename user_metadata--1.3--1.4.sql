/* user_metadata--1.3--1.4.sql: per-app document rules, checked on every
 * write by the table's trigger normalize_document (src/store/document_rules.c) */

\echo Use "ALTER EXTENSION user_metadata UPDATE TO '1.4'" to load this file. \quit

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
