--
-- test/reliability/hostile.sql: the hostile calls of test/suites/hostile.sh.
--
-- Up to the first entry: set-up, run once as the superuser in the session
-- that then runs the entries.  Each entry starts at a line
-- "--! SQLSTATE description" and its last statement must end with that
-- SQLSTATE.  Entries expected to fail are committed, entries expected to
-- succeed (00000) are rolled back and check their results with
-- public.expect, which raises UMBAD on a wrong one.  Entries end every
-- statement with a semicolon and change settings and roles with SET LOCAL
-- only.
--

-- jsonb and bytea are both plain varlenas: the suite's checksum reads the
-- documents' bytes through this cast
CREATE CAST (jsonb AS bytea) WITHOUT FUNCTION;

-- The documents to protect: several apps, non-ASCII, TOASTed, deep, the
-- longest ids
SELECT user_metadata.set_user_metadata('victim', '{"a":1,"nested":{"x":[1,2,{"y":null}]},"ünï":"cödé 🐢","num":1.50}');
SELECT user_metadata.set_user_metadata('victim', '{"a":1}', 'hostile');
SELECT user_metadata.set_user_metadata('big', jsonb_build_object('blob', repeat('x', 200000)));
SELECT user_metadata.set_user_metadata('deep', (repeat('{"d":', 5000) || '1' || repeat('}', 5000))::jsonb);
SELECT user_metadata.set_user_metadata(repeat('i', 512), '{"longest ids":true}', repeat('a', 512));

CREATE FUNCTION public.expect(got anyelement, want anyelement) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
	IF got IS DISTINCT FROM want THEN
		RAISE EXCEPTION 'got %, want %', left(got::text, 200), left(want::text, 200) USING ERRCODE = 'UMBAD';
	END IF;
END $$;

-- um_client: a client role as the row-level security policy expects one,
-- also granted the admin API; um_nobody: granted nothing
CREATE ROLE um_client;
CREATE ROLE um_nobody;
GRANT USAGE ON SCHEMA user_metadata TO um_client;
GRANT EXECUTE ON ALL ROUTINES IN SCHEMA user_metadata TO um_client;
GRANT SELECT, INSERT, UPDATE, DELETE ON user_metadata.user_metadata TO um_client;
CREATE SCHEMA hostile AUTHORIZATION um_client;

-- Look-alikes that um_client puts before pg_catalog in its search_path:
-- each raises HIJAK if the store ever resolves a name to it
SET ROLE um_client;
DO $$
DECLARE
	signature text;
BEGIN
	FOREACH signature IN ARRAY ARRAY[
		'jsonb_merge(jsonb, jsonb) RETURNS jsonb', 'jsonb_merge_patch(jsonb, jsonb) RETURNS jsonb',
		'now() RETURNS timestamptz', 'jsonb_typeof(jsonb) RETURNS text', 'octet_length(text) RETURNS int',
		'unnest(text[]) RETURNS SETOF text', 'current_user_id() RETURNS text', 'current_app_id() RETURNS text',
		'text_eq(text, text) RETURNS boolean', 'jsonb_eq(jsonb, jsonb) RETURNS boolean',
		'jsonb_contains(jsonb, jsonb) RETURNS boolean', 'text_cat(text, text) RETURNS text']
	LOOP
		EXECUTE format('CREATE FUNCTION hostile.%s LANGUAGE plpgsql AS %L', signature,
					   'BEGIN RAISE EXCEPTION ''a hostile look-alike was called'' USING ERRCODE = ''HIJAK''; END');
	END LOOP;
END $$;
CREATE OPERATOR hostile.= (LEFTARG = text, RIGHTARG = text, FUNCTION = hostile.text_eq);
CREATE OPERATOR hostile.= (LEFTARG = jsonb, RIGHTARG = jsonb, FUNCTION = hostile.jsonb_eq);
CREATE OPERATOR hostile.@> (LEFTARG = jsonb, RIGHTARG = jsonb, FUNCTION = hostile.jsonb_contains);
CREATE OPERATOR hostile.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = hostile.text_cat);
CREATE DOMAIN hostile.jsonb AS pg_catalog.text;
CREATE DOMAIN hostile.text AS pg_catalog.int4;
-- tables named like the store's, one in this session's pg_temp, holding forgeries
CREATE TABLE hostile.user_metadata AS
	SELECT 'hostile'::text AS app_id, 'victim'::text AS user_id, '{"forged":true}'::jsonb AS metadata;
CREATE TEMP TABLE user_metadata AS TABLE hostile.user_metadata;
-- a table whose plain writes merge
CREATE TABLE hostile.prefs (id int PRIMARY KEY, settings jsonb, note text);
CREATE TRIGGER merge BEFORE INSERT OR UPDATE ON hostile.prefs
	FOR EACH ROW EXECUTE FUNCTION user_metadata.merge_trigger('settings');
INSERT INTO hostile.prefs VALUES (1, '{"a":1}', 'first');
RESET ROLE;

-- A record of calls to a squatter's look-alike, and a trigger function that
-- skips rows, as a DBA's blocking trigger would
CREATE TABLE public.squatter_calls (at timestamptz);
GRANT INSERT ON public.squatter_calls TO PUBLIC;
CREATE FUNCTION public.skip_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;

--! 22004 update_user_metadata: NULL user_id
SELECT user_metadata.update_user_metadata(NULL, '{"a":2}');
--! 22004 update_user_metadata: NULL patch
SELECT user_metadata.update_user_metadata('victim', NULL);
--! 22004 update_user_metadata: NULL app_id
SELECT user_metadata.update_user_metadata('victim', '{"a":2}', NULL);
--! 22004 update_user_metadata: all NULL
SELECT user_metadata.update_user_metadata(NULL, NULL, NULL);
--! 22004 set_user_metadata: NULL user_id
SELECT user_metadata.set_user_metadata(NULL, '{"a":2}');
--! 22004 set_user_metadata: NULL metadata
SELECT user_metadata.set_user_metadata('victim', NULL);
--! 22004 set_user_metadata: NULL app_id
SELECT user_metadata.set_user_metadata('victim', '{"a":2}', NULL);
--! 22004 get_user_metadata: NULL user_id
SELECT user_metadata.get_user_metadata(NULL::text);
--! 22004 get_user_metadata: NULL app_id
SELECT user_metadata.get_user_metadata('victim', NULL);
--! 22004 get_user_metadata (many): NULL array
SELECT * FROM user_metadata.get_user_metadata(NULL::text[]);
--! 22004 get_user_metadata (many): NULL app_id
SELECT * FROM user_metadata.get_user_metadata(ARRAY['victim'], NULL);
--! 22004 get_user_metadata (many): a NULL among the ids
SELECT * FROM user_metadata.get_user_metadata(ARRAY['victim', NULL]);
--! 22004 clear_user_metadata: NULL user_id
SELECT user_metadata.clear_user_metadata(NULL);
--! 22004 clear_user_metadata: NULL app_id
SELECT user_metadata.clear_user_metadata('victim', NULL);
--! 22004 find_users: NULL filter
SELECT user_metadata.find_users(NULL);
--! 22004 find_users: NULL app_id
SELECT user_metadata.find_users('{}', NULL);
--! 22004 write_custom_user_data: NULL new_data
SET LOCAL user_metadata.user_id = 'victim';
CALL user_metadata.write_custom_user_data(NULL);
--! 00000 jsonb_merge: SQL NULLs merge as {}
SELECT public.expect(user_metadata.jsonb_merge(NULL, NULL), '{}');

--! 22023 update_user_metadata: empty user_id
SELECT user_metadata.update_user_metadata('', '{"a":2}');
--! 22023 update_user_metadata: empty app_id
SELECT user_metadata.update_user_metadata('victim', '{"a":2}', '');
--! 22023 set_user_metadata: empty user_id
SELECT user_metadata.set_user_metadata('', '{"a":2}');
--! 22023 set_user_metadata: empty app_id
SELECT user_metadata.set_user_metadata('victim', '{"a":2}', '');
--! 22023 get_user_metadata: empty user_id
SELECT user_metadata.get_user_metadata('');
--! 22023 get_user_metadata: empty app_id
SELECT user_metadata.get_user_metadata('victim', '');
--! 22023 get_user_metadata (many): an empty id
SELECT * FROM user_metadata.get_user_metadata(ARRAY['victim', '']);
--! 22023 get_user_metadata (many): empty app_id
SELECT * FROM user_metadata.get_user_metadata(ARRAY['victim'], '');
--! 22023 clear_user_metadata: empty user_id
SELECT user_metadata.clear_user_metadata('');
--! 22023 clear_user_metadata: empty app_id
SELECT user_metadata.clear_user_metadata('victim', '');
--! 22023 find_users: empty app_id
SELECT user_metadata.find_users('{}', '');
--! 22023 custom_user_data: empty user_metadata.app_id
SET LOCAL user_metadata.user_id = 'victim';
SET LOCAL user_metadata.app_id = '';
SELECT user_metadata.custom_user_data();
--! 28000 custom_user_data: empty user_metadata.user_id and no JWT
SET LOCAL user_metadata.user_id = '';
SELECT user_metadata.custom_user_data();

--! 22023 update_user_metadata: patch is an array
SELECT user_metadata.update_user_metadata('victim', '[{"a":2}]');
--! 22023 update_user_metadata: patch is a string
SELECT user_metadata.update_user_metadata('victim', '"a"');
--! 22023 update_user_metadata: patch is a number
SELECT user_metadata.update_user_metadata('victim', '2');
--! 22023 update_user_metadata: patch is true
SELECT user_metadata.update_user_metadata('victim', 'true');
--! 22023 update_user_metadata: patch is false
SELECT user_metadata.update_user_metadata('victim', 'false');
--! 22023 update_user_metadata: patch is JSON null
SELECT user_metadata.update_user_metadata('victim', 'null');
--! 22023 set_user_metadata: metadata is an array
SELECT user_metadata.set_user_metadata('victim', '[]');
--! 22023 set_user_metadata: metadata is a string
SELECT user_metadata.set_user_metadata('victim', '""');
--! 22023 set_user_metadata: metadata is a number
SELECT user_metadata.set_user_metadata('victim', '-0.5e10');
--! 22023 set_user_metadata: metadata is true
SELECT user_metadata.set_user_metadata('victim', 'true');
--! 22023 set_user_metadata: metadata is false
SELECT user_metadata.set_user_metadata('victim', 'false');
--! 22023 set_user_metadata: metadata is JSON null
SELECT user_metadata.set_user_metadata('victim', 'null');
--! 22023 find_users: filter is an array
SELECT user_metadata.find_users('["victim"]');
--! 22023 find_users: filter is a string
SELECT user_metadata.find_users('"victim"');
--! 22023 find_users: filter is a number
SELECT user_metadata.find_users('1');
--! 22023 find_users: filter is true
SELECT user_metadata.find_users('true');
--! 22023 find_users: filter is false
SELECT user_metadata.find_users('false');
--! 22023 find_users: filter is JSON null
SELECT user_metadata.find_users('null');
--! 22023 jsonb_merge: stored is an array
SELECT user_metadata.jsonb_merge('[1]', '{}');
--! 22023 jsonb_merge: stored is a string
SELECT user_metadata.jsonb_merge('"s"', '{}');
--! 22023 jsonb_merge: stored is a number
SELECT user_metadata.jsonb_merge('1', '{}');
--! 22023 jsonb_merge: stored is true
SELECT user_metadata.jsonb_merge('true', '{}');
--! 22023 jsonb_merge: stored is false
SELECT user_metadata.jsonb_merge('false', '{}');
--! 00000 jsonb_merge: stored JSON null merges as {}
SELECT public.expect(user_metadata.jsonb_merge('null', '{"a":1,"b":null}'), '{"a":1}');
--! 22023 jsonb_merge: patch is an array
SELECT user_metadata.jsonb_merge('{}', '[]');
--! 22023 jsonb_merge: patch is a string
SELECT user_metadata.jsonb_merge('{}', '"s"');
--! 22023 jsonb_merge: patch is a number
SELECT user_metadata.jsonb_merge('{}', '0');
--! 22023 jsonb_merge: patch is true
SELECT user_metadata.jsonb_merge('{}', 'true');
--! 22023 jsonb_merge: patch is false
SELECT user_metadata.jsonb_merge('{}', 'false');
--! 22023 jsonb_merge: patch is JSON null
SELECT user_metadata.jsonb_merge('{}', 'null');
--! 22023 write_custom_user_data: new_data is an array
SET LOCAL user_metadata.user_id = 'victim';
CALL user_metadata.write_custom_user_data('[]');
--! 22023 write_custom_user_data: new_data is a string
SET LOCAL user_metadata.user_id = 'victim';
CALL user_metadata.write_custom_user_data('"x"');
--! 22023 write_custom_user_data: new_data is a number
SET LOCAL user_metadata.user_id = 'victim';
CALL user_metadata.write_custom_user_data('7');
--! 22023 write_custom_user_data: new_data is true
SET LOCAL user_metadata.user_id = 'victim';
CALL user_metadata.write_custom_user_data('true');
--! 22023 write_custom_user_data: new_data is false
SET LOCAL user_metadata.user_id = 'victim';
CALL user_metadata.write_custom_user_data('false');
--! 22023 write_custom_user_data: new_data is JSON null
SET LOCAL user_metadata.user_id = 'victim';
CALL user_metadata.write_custom_user_data('null');
--! 22023 merge_trigger: a plain write of a non-object
UPDATE hostile.prefs SET settings = '[1]';

--! 23514 update_user_metadata: user_id of 513 bytes
SELECT user_metadata.update_user_metadata(repeat('u', 513), '{"a":2}');
--! 23514 update_user_metadata: app_id of 513 bytes
SELECT user_metadata.update_user_metadata('victim', '{"a":2}', repeat('a', 513));
--! 23514 update_user_metadata: user_id of 514 bytes in 257 characters
SELECT user_metadata.update_user_metadata(repeat('é', 257), '{"a":2}');
--! 23514 update_user_metadata: user_id of 1 MB
SELECT user_metadata.update_user_metadata(repeat('u', 1048576), '{"a":2}');
--! 23514 update_user_metadata: app_id of 1 MB
SELECT user_metadata.update_user_metadata('victim', '{"a":2}', repeat('a', 1048576));
--! 23514 set_user_metadata: user_id of 513 bytes
SELECT user_metadata.set_user_metadata(repeat('u', 513), '{"a":2}');
--! 23514 set_user_metadata: user_id and app_id of 1 MB
SELECT user_metadata.set_user_metadata(repeat('u', 1048576), '{"a":2}', repeat('a', 1048576));
--! 23514 write_custom_user_data: user_metadata.user_id of 1 MB
SELECT set_config('user_metadata.user_id', repeat('u', 1048576), true);
CALL user_metadata.write_custom_user_data('{"a":2}');
--! 00000 get_user_metadata: ids of 1 MB find nothing
SELECT public.expect(user_metadata.get_user_metadata(repeat('u', 1048576), repeat('a', 1048576)), '{}');
--! 00000 get_user_metadata (many): 100 000 ids, one of 1 MB, in order
SELECT public.expect(array(SELECT metadata FROM user_metadata.get_user_metadata(
	array_append(array(SELECT 'n' || i FROM generate_series(1, 99999) i), repeat('u', 1048576)))),
	array_fill('{}'::jsonb, ARRAY[100000]));
--! 00000 get_user_metadata (many): odd array bounds
SELECT public.expect(array(SELECT user_id FROM user_metadata.get_user_metadata('[5:6]={victim,nobody}'::text[])),
					 ARRAY['victim', 'nobody']);
--! 2202E get_user_metadata (many): two dimensions are refused
SELECT user_metadata.get_user_metadata(ARRAY[['victim', 'a'], ['b', 'victim']]);
--! 00000 clear_user_metadata: ids of 1 MB clear nothing
SELECT public.expect(user_metadata.clear_user_metadata(repeat('u', 1048576), repeat('a', 1048576)), false);
--! 00000 find_users: app_id of 1 MB finds nothing
SELECT public.expect(array(SELECT user_metadata.find_users('{}', repeat('a', 1048576))), '{}'::text[]);
--! 00000 custom_user_data: a JWT subject of 1 MB has no document
SELECT set_config('request.jwt.claims', jsonb_build_object('sub', repeat('u', 1048576))::text, true);
SELECT public.expect(user_metadata.custom_user_data(), '{}');

--! 54000 update_user_metadata: result over max_document_bytes
SET LOCAL user_metadata.max_document_bytes = 100;
SELECT user_metadata.update_user_metadata('victim', jsonb_build_object('pad', repeat('p', 200)), 'hostile');
--! 54000 update_user_metadata: a new document over max_document_bytes
SET LOCAL user_metadata.max_document_bytes = 100;
SELECT user_metadata.update_user_metadata('newcomer', jsonb_build_object('pad', repeat('p', 200)));
--! 54000 update_user_metadata: shrinking a document that stays over max_document_bytes
SET LOCAL user_metadata.max_document_bytes = 1000;
SELECT user_metadata.update_user_metadata('big', '{"more":null}');
--! 54000 set_user_metadata: over max_document_bytes
SET LOCAL user_metadata.max_document_bytes = 100;
SELECT user_metadata.set_user_metadata('victim', jsonb_build_object('pad', repeat('p', 200)));
--! 54000 write_custom_user_data: over max_document_bytes
SET LOCAL user_metadata.max_document_bytes = 100;
SET LOCAL user_metadata.user_id = 'victim';
CALL user_metadata.write_custom_user_data(jsonb_build_object('pad', repeat('p', 200)));
--! 54000 update_user_metadata: one byte over max_document_bytes
SELECT set_config('user_metadata.max_document_bytes', (pg_column_size('{"a":1,"b":2}'::jsonb) - 1)::text, true);
SELECT user_metadata.update_user_metadata('victim', '{"b":2}', 'hostile');
--! 00000 update_user_metadata: exactly max_document_bytes is allowed
SELECT set_config('user_metadata.max_document_bytes', pg_column_size('{"a":1,"b":2}'::jsonb)::text, true);
SELECT public.expect(user_metadata.update_user_metadata('victim', '{"b":2}', 'hostile'), '{"a":1,"b":2}');
--! 54000 update_user_metadata: 100 000 keys at the default limit
SELECT user_metadata.update_user_metadata('victim', (SELECT jsonb_object_agg('k' || i, i) FROM generate_series(1, 100000) i));
--! 54000 update_user_metadata: a 2 MB string at the default limit
SELECT user_metadata.update_user_metadata('victim', jsonb_build_object('s', repeat('s', 2097152)));
--! 42501 a client role cannot lift max_document_bytes
SET LOCAL ROLE um_client;
SET LOCAL user_metadata.max_document_bytes = 0;

--! 54001 update_user_metadata: patch nested 100 000 objects deep
SELECT user_metadata.update_user_metadata('victim', (repeat('{"a":', 100000) || '1' || repeat('}', 100000))::jsonb);
--! 54001 update_user_metadata: patch nested 100 000 arrays deep
SELECT user_metadata.update_user_metadata('victim', ('{"a":' || repeat('[', 100000) || repeat(']', 100000) || '}')::jsonb);
--! 54001 set_user_metadata: metadata nested 100 000 deep
SELECT user_metadata.set_user_metadata('victim', (repeat('{"a":', 100000) || '1' || repeat('}', 100000))::jsonb);
--! 54001 find_users: filter nested 100 000 deep
SELECT user_metadata.find_users((repeat('{"a":', 100000) || '1' || repeat('}', 100000))::jsonb);
--! 54001 jsonb_merge_patch: nested 100 000 deep
SELECT user_metadata.jsonb_merge_patch('{}', (repeat('{"a":', 100000) || '1' || repeat('}', 100000))::jsonb);
--! 54001 write_custom_user_data: nested 100 000 deep
SET LOCAL user_metadata.user_id = 'victim';
CALL user_metadata.write_custom_user_data((repeat('{"a":', 100000) || '1' || repeat('}', 100000))::jsonb);
--! 54001 current_user_id: JWT claims nested 100 000 deep
SELECT set_config('request.jwt.claims', repeat('{"a":', 100000) || '1' || repeat('}', 100000), true);
SELECT user_metadata.current_user_id();
--! 54001 jsonb_merge_patch: the merge itself runs out of stack on a stored 5000-deep document
SET LOCAL max_stack_depth = '100kB';
SELECT user_metadata.jsonb_merge_patch(metadata, metadata) FROM user_metadata.user_metadata WHERE user_id = 'deep';
--! 00000 update_user_metadata: a root merge into a 5000-deep document
SELECT public.expect(user_metadata.update_user_metadata('deep', '{"e":1}') -> 'e', '1');
--! 00000 find_users: a 5000-deep filter through the GIN index
SELECT public.expect(array(SELECT user_metadata.find_users(metadata) FROM user_metadata.user_metadata WHERE user_id = 'deep'),
					 ARRAY['deep']);

--! 22021 update_user_metadata: invalid UTF-8 user_id
SELECT user_metadata.update_user_metadata(convert_from('\xc328'::bytea, 'UTF8'), '{"a":2}');
--! 22021 update_user_metadata: invalid UTF-8 app_id
SELECT user_metadata.update_user_metadata('victim', '{"a":2}', convert_from('\xc328'::bytea, 'UTF8'));
--! 22021 update_user_metadata: invalid UTF-8 key
SELECT user_metadata.update_user_metadata('victim', jsonb_build_object(convert_from('\xc328'::bytea, 'UTF8'), 1));
--! 22021 update_user_metadata: invalid UTF-8 in JSON text
SELECT user_metadata.update_user_metadata('victim', convert_from('\x7b2261223a22c328227d'::bytea, 'UTF8')::jsonb);
--! 22021 current_user_id: invalid UTF-8 user_metadata.user_id
SELECT set_config('user_metadata.user_id', convert_from('\xc328'::bytea, 'UTF8'), true);

--! 22P02 update_user_metadata: a value missing
SELECT user_metadata.update_user_metadata('victim', '{"a":}');
--! 22P02 update_user_metadata: unterminated object
SELECT user_metadata.update_user_metadata('victim', '{"a":1');
--! 22P02 update_user_metadata: empty text
SELECT user_metadata.update_user_metadata('victim', '');
--! 22P02 update_user_metadata: trailing garbage
SELECT user_metadata.update_user_metadata('victim', '{"a":1}x');
--! 22P02 update_user_metadata: trailing comma
SELECT user_metadata.update_user_metadata('victim', '{"a":1,}');
--! 22P02 update_user_metadata: unquoted key
SELECT user_metadata.update_user_metadata('victim', '{a:1}');
--! 22P02 update_user_metadata: NaN
SELECT user_metadata.update_user_metadata('victim', '{"a":NaN}');
--! 22P02 update_user_metadata: a lone surrogate escape
SELECT user_metadata.update_user_metadata('victim', '{"a":"\ud800"}');
--! 22P05 update_user_metadata: an escaped NUL character
SELECT user_metadata.update_user_metadata('victim', '{"a":"\u0000"}');
--! 22003 update_user_metadata: a number beyond numeric
SELECT user_metadata.update_user_metadata('victim', '{"a":1e1000000}');
--! 22P02 set_user_metadata: invalid JSON
SELECT user_metadata.set_user_metadata('victim', '{"a" 1}');
--! 22P02 find_users: invalid JSON
SELECT user_metadata.find_users('{"a":1');
--! 22P02 current_user_id: JWT claims that are not JSON
SET LOCAL request.jwt.claims = 'not json';
SELECT user_metadata.current_user_id();
--! 28000 current_user_id: a JWT sub that is not a string
SET LOCAL request.jwt.claims = '{"sub":["victim"]}';
SELECT user_metadata.current_user_id();
--! 28000 current_user_id: JWT claims that are an array
SET LOCAL request.jwt.claims = '[{"sub":"victim"}]';
SELECT user_metadata.current_user_id();

--! 42501 update_user_metadata: a role without the grant
SET LOCAL ROLE um_nobody;
SELECT user_metadata.update_user_metadata('victim', '{"a":2}');
--! 42501 set_user_metadata: a role without the grant
SET LOCAL ROLE um_nobody;
SELECT user_metadata.set_user_metadata('victim', '{"a":2}');
--! 42501 clear_user_metadata: a role without the grant
SET LOCAL ROLE um_nobody;
SELECT user_metadata.clear_user_metadata('victim');
--! 42501 get_user_metadata: a role without the grant
SET LOCAL ROLE um_nobody;
SELECT user_metadata.get_user_metadata('victim');
--! 42501 find_users: a role without the grant
SET LOCAL ROLE um_nobody;
SELECT user_metadata.find_users('{}');
--! 42501 write_custom_user_data: a role without the grant
SET LOCAL ROLE um_nobody;
SET LOCAL user_metadata.user_id = 'victim';
CALL user_metadata.write_custom_user_data('{"a":2}');
--! 42501 the table: a role without the grant deletes
SET LOCAL ROLE um_nobody;
SET LOCAL user_metadata.user_id = 'victim';
DELETE FROM user_metadata.user_metadata;
--! 42501 the table: a client inserts a row for another user
SET LOCAL ROLE um_client;
SET LOCAL user_metadata.user_id = 'attacker';
INSERT INTO user_metadata.user_metadata (user_id, metadata) VALUES ('victim2', '{}');
--! 42501 the table: a client moves its row to another user
SET LOCAL ROLE um_client;
SET LOCAL user_metadata.user_id = 'victim';
UPDATE user_metadata.user_metadata SET user_id = 'victim2' WHERE user_id = 'victim';
--! 00000 the table: a client neither sees nor changes another user's row
SET LOCAL ROLE um_client;
SET LOCAL user_metadata.user_id = 'attacker';
SELECT public.expect((SELECT count(*) FROM user_metadata.user_metadata), 0::bigint);
WITH changed AS (UPDATE user_metadata.user_metadata SET metadata = '{}' RETURNING 1)
SELECT public.expect((SELECT count(*) FROM changed), 0::bigint);
WITH removed AS (DELETE FROM user_metadata.user_metadata RETURNING 1)
SELECT public.expect((SELECT count(*) FROM removed), 0::bigint);
--! 54000 the table: a client's direct write over max_document_bytes
SET LOCAL ROLE um_client;
SET LOCAL user_metadata.user_id = 'victim';
UPDATE user_metadata.user_metadata SET metadata = jsonb_build_object('s', repeat('s', 2097152));
--! 42501 custom_user_data: a client with row_security off
SET LOCAL ROLE um_client;
SET LOCAL row_security = off;
SET LOCAL user_metadata.user_id = 'victim';
SELECT user_metadata.custom_user_data();
--! 42501 a client cannot turn triggers off
SET LOCAL ROLE um_client;
SET LOCAL session_replication_role = replica;
--! 22023 the table: a direct insert of a non-object document
INSERT INTO user_metadata.user_metadata (user_id, metadata) VALUES ('direct', '[1]');
--! 23514 the table: a direct update to an empty user_id
UPDATE user_metadata.user_metadata SET user_id = '' WHERE user_id = 'victim';
--! 23502 the table: a direct insert of a NULL document
INSERT INTO user_metadata.user_metadata (user_id, metadata) VALUES ('direct', NULL);

--! 39P01 merge_trigger: called as a function
SELECT user_metadata.merge_trigger();
--! 39P01 merge_trigger: naming no column
CREATE TEMP TABLE t (doc jsonb);
CREATE TRIGGER m BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION user_metadata.merge_trigger();
INSERT INTO t VALUES ('{}');
--! 39P01 merge_trigger: fired AFTER
CREATE TEMP TABLE t (doc jsonb);
CREATE TRIGGER m AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION user_metadata.merge_trigger('doc');
INSERT INTO t VALUES ('{}');
--! 39P01 merge_trigger: fired FOR EACH STATEMENT
CREATE TEMP TABLE t (doc jsonb);
CREATE TRIGGER m BEFORE INSERT ON t FOR EACH STATEMENT EXECUTE FUNCTION user_metadata.merge_trigger('doc');
INSERT INTO t VALUES ('{}');
--! 42703 merge_trigger: naming a missing column
CREATE TEMP TABLE t (doc jsonb);
CREATE TRIGGER m BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION user_metadata.merge_trigger('nope');
INSERT INTO t VALUES ('{}');
--! 42703 merge_trigger: naming a system column
CREATE TEMP TABLE t (doc jsonb);
CREATE TRIGGER m BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION user_metadata.merge_trigger('ctid');
INSERT INTO t VALUES ('{}');
--! 42804 merge_trigger: naming a json (not jsonb) column
CREATE TEMP TABLE t (doc json);
CREATE TRIGGER m BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION user_metadata.merge_trigger('doc');
INSERT INTO t VALUES ('{}');
--! 39P01 notify_change: called as a function
SELECT user_metadata.notify_change();

--! 00000 hostile search_path: update merges with the real jsonb_merge, =, now()
SET LOCAL ROLE um_client;
SET LOCAL search_path = hostile, pg_catalog, user_metadata, public;
SELECT public.expect(user_metadata.update_user_metadata('victim', '{"b":2}', 'hostile'), '{"a":1,"b":2}');
--! 00000 hostile search_path: update creates a document
SET LOCAL ROLE um_client;
SET LOCAL search_path = hostile, pg_catalog, user_metadata, public;
SELECT public.expect(user_metadata.update_user_metadata('newcomer', '{"n":1,"x":null}', 'hostile'), '{"n":1}');
--! 00000 hostile search_path: set replaces the document
SET LOCAL ROLE um_client;
SET LOCAL search_path = hostile, pg_catalog, user_metadata, public;
SELECT public.expect(user_metadata.set_user_metadata('victim', '{"c":3}', 'hostile'), '{"c":3}');
--! 00000 hostile search_path: get reads the real table
SET LOCAL ROLE um_client;
SET LOCAL search_path = hostile, pg_catalog, user_metadata, public;
SELECT public.expect(user_metadata.get_user_metadata('victim', 'hostile'), '{"a":1}');
--! 00000 hostile search_path: get many reads the real table, in order
SET LOCAL ROLE um_client;
SET LOCAL search_path = hostile, pg_catalog, user_metadata, public;
SELECT public.expect(array(SELECT metadata FROM user_metadata.get_user_metadata(ARRAY['nobody', 'victim'], 'hostile')),
					 ARRAY['{}', '{"a":1}']::pg_catalog.jsonb[]);
--! 00000 hostile search_path: clear removes the real row
SET LOCAL ROLE um_client;
SET LOCAL search_path = hostile, pg_catalog, user_metadata, public;
SELECT public.expect(user_metadata.clear_user_metadata('victim', 'hostile'), true);
--! 00000 hostile search_path: find_users uses the real @>
SET LOCAL ROLE um_client;
SET LOCAL search_path = hostile, pg_catalog, user_metadata, public;
SELECT public.expect(array(SELECT user_metadata.find_users('{"a":1}', 'hostile')), ARRAY['victim']);
--! 00000 hostile search_path: pg_temp first, its user_metadata table ignored
SET LOCAL ROLE um_client;
SET LOCAL search_path = pg_temp, hostile, pg_catalog, user_metadata, public;
SELECT public.expect(user_metadata.get_user_metadata('victim', 'hostile'), '{"a":1}');
SELECT public.expect(user_metadata.update_user_metadata('victim', '{"b":2}', 'hostile'), '{"a":1,"b":2}');
--! 00000 hostile search_path: custom_user_data and write_custom_user_data with the real identity functions
SET LOCAL ROLE um_client;
SET LOCAL search_path = hostile, pg_catalog, user_metadata, public;
SET LOCAL user_metadata.user_id = 'victim';
SET LOCAL user_metadata.app_id = 'hostile';
CALL user_metadata.write_custom_user_data('{"b":2}');
SELECT public.expect(user_metadata.custom_user_data(), '{"a":1,"b":2}');
--! 00000 hostile search_path: merge_trigger merges a plain update
SET LOCAL ROLE um_client;
SET LOCAL search_path = hostile, pg_catalog, user_metadata, public;
UPDATE hostile.prefs SET settings = '{"b":2,"a":null}';
SELECT public.expect((SELECT settings FROM hostile.prefs WHERE id OPERATOR(pg_catalog.=) 1), '{"b":2}');
--! 00000 hostile search_path: notifications on
SET LOCAL user_metadata.notify = on;
SET LOCAL ROLE um_client;
SET LOCAL search_path = hostile, pg_catalog, user_metadata, public;
SELECT public.expect(user_metadata.update_user_metadata('victim', '{"b":2}', 'hostile'), '{"a":1,"b":2}');
--! 00000 notifications on: the longest ids of control characters
SET LOCAL user_metadata.notify = on;
SELECT public.expect(user_metadata.update_user_metadata(repeat(chr(1), 512), '{"a":1}', repeat(chr(1), 512)), '{"a":1}');
--! 42501 a writer cannot switch notifications off for itself
SET LOCAL ROLE um_client;
SET LOCAL user_metadata.notify = off;
--! 42501 a writer cannot switch notifications on for itself either
SET LOCAL ROLE um_client;
SELECT pg_catalog.set_config('user_metadata.notify', 'on', true);
--! 00000 a squatter's jsonb_merge(text, jsonb) in the extension's schema is never called by the store
CREATE FUNCTION user_metadata.jsonb_merge(stored text, patch jsonb) RETURNS jsonb
LANGUAGE sql AS $$ INSERT INTO public.squatter_calls VALUES (now()) RETURNING '{"squatted":true}'::jsonb $$;
ALTER FUNCTION user_metadata.jsonb_merge(text, jsonb) OWNER TO um_nobody;
SELECT public.expect(user_metadata.update_user_metadata('squat_new', '{"n":1,"x":null}', 'hostile'), '{"n":1}');
SELECT public.expect(user_metadata.update_user_metadata('victim', '{"n":1}', 'hostile'), '{"a":1,"n":1}');
SELECT public.expect(user_metadata.set_user_metadata('victim', '{"s":1,"x":null}', 'hostile'), '{"s":1}');
SELECT public.expect((SELECT pg_catalog.count(*) FROM public.squatter_calls), 0::pg_catalog.int8);
--! 09000 a BEFORE trigger that skips the row: update of a new user
CREATE TRIGGER a_skip BEFORE INSERT OR UPDATE ON user_metadata.user_metadata
	FOR EACH ROW EXECUTE FUNCTION public.skip_row();
SELECT user_metadata.update_user_metadata('skipped', '{"a":1}', 'hostile');
--! 09000 a BEFORE trigger that skips the row: update of a stored user
CREATE TRIGGER a_skip BEFORE INSERT OR UPDATE ON user_metadata.user_metadata
	FOR EACH ROW EXECUTE FUNCTION public.skip_row();
SELECT user_metadata.update_user_metadata('victim', '{"a":2}', 'hostile');
--! 09000 a BEFORE trigger that skips the row: set
CREATE TRIGGER a_skip BEFORE INSERT OR UPDATE ON user_metadata.user_metadata
	FOR EACH ROW EXECUTE FUNCTION public.skip_row();
SELECT user_metadata.set_user_metadata('victim', '{"a":2}', 'hostile');
--! 09000 a BEFORE trigger that skips the row: write_custom_user_data
CREATE TRIGGER a_skip BEFORE INSERT OR UPDATE ON user_metadata.user_metadata
	FOR EACH ROW EXECUTE FUNCTION public.skip_row();
SET LOCAL user_metadata.user_id = 'victim';
SET LOCAL user_metadata.app_id = 'hostile';
CALL user_metadata.write_custom_user_data('{"a":2}');
--! 00000 an untyped list (as node-postgres, psycopg and postgres.js send one) reaches the bulk read
SELECT public.expect(array(SELECT user_id FROM user_metadata.get_user_metadata_bulk('{victim,nobody,victim}', 'hostile')),
					 ARRAY['victim', 'nobody', 'victim']);
SELECT public.expect(array(SELECT metadata FROM user_metadata.get_user_metadata_bulk('{victim,nobody}', 'hostile')),
					 ARRAY['{"a":1}', '{}']::pg_catalog.jsonb[]);
