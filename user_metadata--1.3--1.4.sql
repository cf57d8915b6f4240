/* user_metadata--1.3--1.4.sql: per-app document rules, checked on every
 * write by the table's trigger normalize_document (src/store/document_rules.c),
 * and change history per app (set_history, user_metadata_history,
 * get_user_metadata_as_of, prune_history, forget_user), recorded by a row
 * trigger on every write (src/store/history.c) */

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
CREATE TABLE user_metadata.user_metadata_history (
	app_id				text NOT NULL,
	user_id				text NOT NULL,
	seq					bigint GENERATED ALWAYS AS IDENTITY,
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

CREATE TRIGGER record_history
	AFTER INSERT OR UPDATE OR DELETE ON user_metadata.user_metadata
	FOR EACH ROW EXECUTE FUNCTION user_metadata.record_history();

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
