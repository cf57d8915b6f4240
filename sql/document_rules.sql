--
-- document_rules: per-app rules of the documents (set_document_rules,
-- get_document_rules), checked by the table's trigger on every write: the
-- admin API, direct writes, the bulk writes and the imports.  Each refused
-- write leaves the stored documents as they were.
--
SET search_path = user_metadata, public;
\set SHOW_CONTEXT never
-- no rules: anything goes
SELECT get_document_rules('shop');
SELECT set_user_metadata('u1', '{"age": 30, "name": "Ann"}', 'shop');
SELECT set_document_rules('shop', '{"max_keys": 3, "max_bytes": 120, "other_keys": false,
	"keys": {"age": "number", "name": ["string", "null"], "tags": "array", "prefs": "object", "beta": "boolean"}}');
SELECT get_document_rules('shop');
-- documents that follow them
SELECT update_user_metadata('u1', '{"tags": ["a"]}', 'shop');
SELECT update_user_metadata('u1', '{"tags": null, "prefs": {"theme": "dark", "anything": [1]}}', 'shop');
SELECT set_user_metadata('u2', '{"beta": true}', 'shop');
SELECT set_user_metadata('u3', '{}', 'shop');
-- each rule: 23514, the detail naming user, key and rule
SELECT update_user_metadata('u1', '{"age": "thirty"}', 'shop');
\echo :LAST_ERROR_SQLSTATE
SELECT update_user_metadata('u1', '{"name": 5}', 'shop');
SELECT update_user_metadata('u1', '{"prefs": [1]}', 'shop');
SELECT update_user_metadata('u2', '{"beta": "yes"}', 'shop');
SELECT update_user_metadata('u2', '{"tags": {}}', 'shop');
SELECT update_user_metadata('u1', '{"color": "red"}', 'shop');
SELECT update_user_metadata('u1', '{"beta": false}', 'shop');
SELECT set_user_metadata('u3', jsonb_build_object('name', repeat('x', 120)), 'shop');
\echo :LAST_ERROR_SQLSTATE
SELECT delete_user_metadata_key('u9', 'age', 'shop');
-- nothing changed
SELECT user_id, metadata FROM user_metadata.user_metadata WHERE app_id = 'shop' ORDER BY user_id;
-- direct writes (as a client role writes) pass the same trigger
INSERT INTO user_metadata.user_metadata (app_id, user_id, metadata) VALUES ('shop', 'u4', '{"age": "x"}');
\echo :LAST_ERROR_SQLSTATE
UPDATE user_metadata.user_metadata SET metadata = metadata || '{"other": 1}' WHERE app_id = 'shop' AND user_id = 'u1';
INSERT INTO user_metadata.user_metadata (app_id, user_id, metadata) VALUES ('shop', 'u4', '{"age": 4}');
-- the bulk writes name the user that broke the rule; nothing of the call is stored
SELECT set_user_metadata_bulk(ARRAY['u5', 'u6'], ARRAY['{"age": 5}', '{"age": "six"}']::jsonb[], 'shop');
\echo :LAST_ERROR_SQLSTATE
SELECT set_user_metadata_bulk(ARRAY['u5', 'u5'], ARRAY['{"age": 5}', '{"age": "six"}']::jsonb[], 'shop');
SELECT insert_user_metadata_bulk(ARRAY['u5', 'u6'], ARRAY['{"age": 5}', '{"x": 6}']::jsonb[], 'shop');
\set SHOW_CONTEXT errors
SELECT update_user_metadata_bulk(ARRAY['u1', 'u2'], ARRAY['{"age": 31}', '{"age": [2]}']::jsonb[], 'shop');
\set SHOW_CONTEXT never
-- without skip_bad an import stops at the first document that breaks a rule: nothing imported
CREATE TABLE st_rules (app_id text, user_id text, user_metadata text);
INSERT INTO st_rules VALUES ('shop', 'u7', '{"age": 7}'), ('shop', 'u8', '{"age": "eight"}'), ('other', 'u8', '{"age": "eight"}');
SELECT * FROM import_supertokens('st_rules');
\echo :LAST_ERROR_SQLSTATE
SELECT user_id, metadata FROM user_metadata.user_metadata WHERE app_id IN ('shop', 'other') ORDER BY app_id, user_id;
-- with skip_bad the documents the rules refuse are bad rows, the others imported
SELECT * FROM import_supertokens('st_rules', skip_bad => true);
SELECT * FROM import_supertokens('st_rules', on_conflict => 'merge', skip_bad => true);
SELECT user_id, metadata FROM user_metadata.user_metadata WHERE app_id IN ('shop', 'other') ORDER BY app_id, user_id;
DELETE FROM user_metadata.user_metadata WHERE app_id IN ('shop', 'other') AND user_id IN ('u7', 'u8');
-- other apps are not held to them
SELECT set_user_metadata('u1', '{"age": "thirty", "color": "red"}', 'other');
-- an empty list of keys with other_keys false allows only {}
SELECT set_document_rules('empty', '{"keys": {}, "other_keys": false}');
SELECT set_user_metadata('u1', '{}', 'empty');
SELECT set_user_metadata('u1', '{"a": 1}', 'empty');
-- rules that are not valid: 22023, the rules as they were
SELECT set_document_rules('shop', '[]');
\echo :LAST_ERROR_SQLSTATE
SELECT set_document_rules('shop', '{"max_key": 3}');
SELECT set_document_rules('shop', '{"max_keys": -1}');
SELECT set_document_rules('shop', '{"max_keys": 1.5}');
SELECT set_document_rules('shop', '{"max_bytes": "1kB"}');
SELECT set_document_rules('shop', '{"max_bytes": 3000000000}');
SELECT set_document_rules('shop', '{"keys": ["age"]}');
SELECT set_document_rules('shop', '{"keys": {"age": "integer"}}');
SELECT set_document_rules('shop', '{"keys": {"age": []}}');
SELECT set_document_rules('shop', '{"keys": {"age": ["number", 1]}}');
SELECT set_document_rules('shop', '{"other_keys": "no"}');
SELECT set_document_rules(NULL, '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT set_document_rules('', '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT get_document_rules(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT get_document_rules('shop') = '{"max_keys": 3, "max_bytes": 120, "other_keys": false,
	"keys": {"age": "number", "name": ["string", "null"], "tags": "array", "prefs": "object", "beta": "boolean"}}' AS unchanged;
-- rules that stored documents break are refused: the count, the first
-- users by id and how the first breaks them; the rules stay as they were
SELECT set_document_rules('shop', '{"max_keys": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT set_document_rules('other', '{"keys": {"age": "number"}}');
SELECT set_user_metadata_bulk(ARRAY['a1', 'a2'], ARRAY['{"age": "?"}', '{"age": 2}']::jsonb[], 'other');
SELECT set_document_rules('other', '{"keys": {"age": "number"}}');
SELECT set_user_metadata_bulk(ARRAY['b7', 'b3', 'b1', 'b6', 'b2', 'b5', 'b4'], array_fill('{"age": "?"}'::jsonb, ARRAY[7]), 'other');
SELECT set_document_rules('other', '{"keys": {"age": "number"}}');
SELECT get_document_rules('other');
-- new rules replace the old ones; NULL removes them
SELECT set_document_rules('shop', '{"keys": {"age": "number"}}');
SELECT update_user_metadata('u1', '{"color": "red"}', 'shop');
SELECT set_document_rules('shop', NULL);
SELECT get_document_rules('shop');
SELECT update_user_metadata('u1', '{"age": "thirty"}', 'shop');
-- the rules table is the trigger's: rules written around set_document_rules
-- that are not valid, a retyped or dropped table refuse every write (fail closed)
BEGIN;
INSERT INTO user_metadata.document_rules VALUES ('bad', '{"max_keys": "many"}');
SELECT set_user_metadata('u1', '{}', 'bad');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
ALTER TABLE user_metadata.document_rules ALTER COLUMN rules TYPE json;
SELECT set_user_metadata('u1', '{}', 'shop');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
ALTER TABLE user_metadata.document_rules RENAME TO document_rules_old;
SELECT set_user_metadata('u1', '{}', 'shop');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT set_user_metadata('u1', '{}', 'shop');
-- without its primary key the table is scanned: the rules hold as before
BEGIN;
SELECT set_document_rules('shop', '{"keys": {"age": "number"}}');
ALTER TABLE user_metadata.document_rules DROP CONSTRAINT document_rules_pkey;
SELECT set_user_metadata('u1', '{"age": 1}', 'shop');
SELECT set_user_metadata('u1', '{"age": "x"}', 'shop');
ROLLBACK;
-- clean up
SELECT set_document_rules('empty', NULL);
DROP TABLE st_rules;
DELETE FROM user_metadata.user_metadata WHERE app_id IN ('shop', 'other', 'empty');
SELECT count(*) FROM user_metadata.document_rules;
