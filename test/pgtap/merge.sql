--
-- test/pgtap/merge.sql: jsonb_merge and jsonb_merge_patch, their rules, SQL
-- NULL handling, errors with SQLSTATEs, and byte-exact output.
--
BEGIN;
SELECT plan(36);
SET LOCAL search_path = user_metadata, public;

-- exposes a jsonb value's bytes (both are plain varlenas); rolled back at the end
CREATE CAST (jsonb AS bytea) WITHOUT FUNCTION;
CREATE FUNCTION pg_temp.same_bytes(a jsonb, b jsonb) RETURNS boolean
LANGUAGE sql AS $$ SELECT a::bytea = b::bytea $$;

-- declarations
SELECT has_function('user_metadata', 'jsonb_merge', ARRAY['jsonb', 'jsonb']);
SELECT has_function('user_metadata', 'jsonb_merge_patch', ARRAY['jsonb', 'jsonb']);
SELECT volatility_is('user_metadata', 'jsonb_merge', ARRAY['jsonb', 'jsonb'], 'immutable');
SELECT volatility_is('user_metadata', 'jsonb_merge_patch', ARRAY['jsonb', 'jsonb'], 'immutable');
SELECT isnt_strict('user_metadata', 'jsonb_merge', ARRAY['jsonb', 'jsonb']);
SELECT isnt_strict('user_metadata', 'jsonb_merge_patch', ARRAY['jsonb', 'jsonb']);
SELECT is((SELECT proparallel FROM pg_proc WHERE oid = 'user_metadata.jsonb_merge(jsonb,jsonb)'::regprocedure), 's',
		  'jsonb_merge is parallel safe');
SELECT is((SELECT proparallel FROM pg_proc WHERE oid = 'user_metadata.jsonb_merge_patch(jsonb,jsonb)'::regprocedure), 's',
		  'jsonb_merge_patch is parallel safe');

-- jsonb_merge rules
SELECT is(jsonb_merge('{"preferences":{"theme":"dark"},"notifications":{"email":true},"todos":["use-text-notifs"]}',
					  '{"notifications":{"sms":true},"todos":null}'),
		  '{"preferences":{"theme":"dark"},"notifications":{"sms":true}}', 'the SuperTokens seed example');
SELECT is(jsonb_merge('{"a":{"x":1,"y":2}}', '{"a":{"z":3}}'), '{"a":{"z":3}}', 'nested objects are replaced whole');
SELECT is(jsonb_merge('{"a":1}', '{"b":{"c":null}}'), '{"a":1,"b":{"c":null}}', 'nulls below the root are kept');
SELECT is(jsonb_merge('{"a":null,"b":1}', '{"c":2}'), '{"b":1,"c":2}', 'root nulls already stored are removed');
SELECT is(jsonb_merge(NULL, '{"a":1}'), '{"a":1}', 'SQL NULL stored starts from {}');
SELECT is(jsonb_merge('null', '{"a":1}'), '{"a":1}', 'JSON null stored starts from {}');
SELECT is(jsonb_merge('{"a":1,"b":null}', NULL), '{"a":1}', 'SQL NULL patch returns the normalised stored document');
SELECT is(jsonb_merge(NULL, NULL), '{}', 'both NULL gives {}');
SELECT is(jsonb_merge('{"a":1}', '{"a":1}'), '{"a":1}', 'an unchanged value keeps the document');
SELECT ok(pg_temp.same_bytes(jsonb_merge('{"k":"v","n":1.5}', '{"m":[1,{"x":2.25}],"kk":null}'),
					 '{"k":"v","n":1.5,"m":[1,{"x":2.25}]}'), 'bytes equal PostgreSQL''s own encoding');
SELECT ok(pg_temp.same_bytes(jsonb_merge(j, '{"extra":0.5}'), (j || '{"extra":0.5}')::text::jsonb),
		  'bytes equal across the 32-entry offset stride')
FROM (SELECT jsonb_object_agg('key' || i, i * 1.5) AS j FROM generate_series(1, 100) i) s;

-- jsonb_merge errors
SELECT throws_ok($$ SELECT user_metadata.jsonb_merge('{}', '[1]') $$, '22023',
				 'argument "patch" must be a JSON object', 'an array patch is 22023');
SELECT throws_ok($$ SELECT user_metadata.jsonb_merge('{}', '1') $$, '22023',
				 'argument "patch" must be a JSON object', 'a number patch is 22023');
SELECT throws_ok($$ SELECT user_metadata.jsonb_merge('{}', 'null') $$, '22023',
				 'argument "patch" must be a JSON object', 'a JSON null patch is 22023');
SELECT throws_ok($$ SELECT user_metadata.jsonb_merge('false', '{}') $$, '22023',
				 'argument "stored" must be a JSON object', 'a boolean stored document is 22023');
SELECT throws_ok($$ SELECT user_metadata.jsonb_merge('"x"', NULL) $$, '22023',
				 'argument "stored" must be a JSON object', 'a string stored document is 22023 even with a NULL patch');

-- jsonb_merge_patch (RFC 7396)
SELECT is(jsonb_merge_patch('{"a":{"b":"c"}}', '{"a":{"b":"d","c":null}}'), '{"a":{"b":"d"}}', 'RFC 7396: objects merge recursively');
SELECT is(jsonb_merge_patch('{"a":[{"b":"c"}]}', '{"a":[1]}'), '{"a":[1]}', 'RFC 7396: arrays are replaced');
SELECT is(jsonb_merge_patch('{"a":"foo"}', 'null'), 'null', 'RFC 7396: a null patch replaces the target');
SELECT is(jsonb_merge_patch('{"a":"b"}', '["c"]'), '["c"]', 'RFC 7396: an array patch replaces the target');
SELECT is(jsonb_merge_patch('{"e":null}', '{"a":1}'), '{"e":null,"a":1}', 'RFC 7396: untouched target nulls stay');
SELECT is(jsonb_merge_patch('[1,2]', '{"a":"b","c":null}'), '{"a":"b"}', 'RFC 7396: a non-object target becomes {}');
SELECT is(jsonb_merge_patch('{}', '{"a":{"bb":{"ccc":null}}}'), '{"a":{"bb":{}}}', 'RFC 7396: nulls stripped from new objects');
SELECT is(jsonb_merge_patch(NULL, '{"a":1}'), '{"a":1}', 'SQL NULL target starts from {}');
SELECT is(jsonb_merge_patch('{"a":null}', NULL), '{"a":null}', 'SQL NULL patch changes nothing');
SELECT ok(pg_temp.same_bytes(jsonb_merge_patch('{"o":{"a":1,"n":2.5}}', '{"o":{"bb":[1],"a":null}}'), '{"o":{"n":2.5,"bb":[1]}}'),
		  'nested output bytes equal PostgreSQL''s own encoding');
SELECT lives_ok($$ SELECT user_metadata.jsonb_merge_patch('"x"', '{"a":1}') $$, 'jsonb_merge_patch accepts any target');
SELECT throws_ok($$ SELECT user_metadata.jsonb_merge_patch(j, j)
				   FROM (SELECT (repeat('{"a":', 100000) || '1' || repeat('}', 100000))::jsonb AS j) s $$,
				 '54001', NULL, 'pathologically deep nesting stops at the stack limit instead of crashing');

SELECT * FROM finish();
ROLLBACK;
