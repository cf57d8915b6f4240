--
-- jsonb_merge: SuperTokens' root-level merge with root null removal.
--
SET search_path = user_metadata, public;
-- The seed example from SuperTokens' documentation
SELECT jsonb_merge(
	'{"preferences":{"theme":"dark"},"notifications":{"email":true},"todos":["use-text-notifs"]}',
	'{"notifications":{"sms":true},"todos":null}');
-- root keys overwrite, new keys are added, nested values are replaced whole
SELECT jsonb_merge('{"a":1,"b":{"x":1,"y":2}}', '{"b":{"z":3},"c":"new"}');
-- a null below the root is kept, a root null is removed
SELECT jsonb_merge('{"a":1}', '{"b":{"inner":null},"c":[null],"d":null}');
-- root nulls already in stored are removed too
SELECT jsonb_merge('{"a":null,"b":2}', '{}');
SELECT jsonb_merge('{"a":null,"b":2}', '{"c":3}');
-- nothing stored: SQL NULL and JSON null both start from {}
SELECT jsonb_merge(NULL, '{"a":1,"b":null}');
SELECT jsonb_merge('null', '{"a":1}');
SELECT jsonb_merge(NULL, NULL), jsonb_merge('null', NULL), jsonb_merge(NULL, '{}');
-- a NULL patch applies nothing: the stored document comes back normalised
SELECT jsonb_merge('{"a":1,"b":null}', NULL);
SELECT jsonb_merge('{"keep":"me"}', NULL);
-- removing a key that is not there changes nothing
SELECT jsonb_merge('{"a":1}', '{"zz":null}');
-- the same value written again changes nothing
SELECT jsonb_merge('{"a":1,"b":[1,2]}', '{"b":[1,2]}');
-- every value type, replaced and kept
SELECT jsonb_merge('{"s":"x","n":1.5,"t":true,"f":false,"o":{},"a":[]}',
				   '{"s":"y","n":-0.00012e10,"t":false,"f":true,"o":[1],"a":{"k":"v"}}');
-- result bytes are exactly PostgreSQL's own encoding
SELECT canonical(jsonb_merge('{"n":1,"aa":2.50,"bbb":{"x":[1,{"y":2}]}}', '{"c":3.14159,"dd":{"q":null}}'));
-- keys that sort by length first, then bytewise
SELECT jsonb_merge('{"b":1,"aa":2,"ccc":3}', '{"a":0,"bb":4,"c":5,"aaa":6}');
-- empty-string and unicode keys
SELECT jsonb_merge('{"":1,"ключ":"значение","日本":"語"}', '{"":null,"emoji😀":"✓","ключ":2}');
SELECT canonical(jsonb_merge('{"":1,"ключ":"значение"}', '{"😀":"✓"}'));
-- objects across the 32-entry offset stride: 31, 32, 33, 64, 65 and 200 keys
SELECT n, m,
	   jsonb_merge(wide(n), wide(m, 'p')) = reference_merge(wide(n), wide(m, 'p')) AS same_value,
	   canonical(jsonb_merge(wide(n), wide(m, 'p'))) AS canonical
FROM (VALUES (31, 1), (32, 0), (32, 1), (33, 3), (64, 0), (64, 1), (65, 65), (200, 7), (16, 16)) AS v(n, m);
-- replacing and removing keys inside wide objects, every key still found with ->
WITH m AS (SELECT jsonb_merge(wide(70), wide(40, 'k', 'CASE WHEN i % 3 = 0 THEN ''null'' ELSE to_jsonb(i * 10) END')) AS j)
SELECT (SELECT count(*) FROM jsonb_object_keys(j)) AS keys,
	   (SELECT bool_and(j -> key = value) FROM jsonb_each(j)) AS lookups,
	   j = reference_merge(wide(70), wide(40, 'k', 'CASE WHEN i % 3 = 0 THEN ''null'' ELSE to_jsonb(i * 10) END')) AS same_value,
	   canonical(j)
FROM m;
-- numerics need 4-byte alignment wherever they land
SELECT jsonb_merge('{"a":"x","n":12345678901234567890.123}', '{"b":"yy","m":0.1,"o":{"p":1e-20}}');
SELECT canonical(jsonb_merge(wide(40, 's', 'repeat(''x'', i)'), wide(40, 'n', 'to_jsonb(i / 7.0)')));
-- long strings, stored and patched
SELECT length(jsonb_merge(jsonb_build_object('big', repeat('a', 100000)), '{"b":1}') ->> 'big'),
	   canonical(jsonb_merge(jsonb_build_object('big', repeat('a', 100000)), jsonb_build_object('c', repeat('é', 5000))));
-- deep nesting is copied as it is
SELECT jsonb_merge('{"a":1}', ('{"d":' || repeat('[', 1000) || repeat(']', 1000) || '}')::jsonb) -> 'd' IS NOT NULL AS deep,
	   canonical(jsonb_merge(('{"d":' || repeat('{"x":', 500) || '1' || repeat('}', 500) || '}')::jsonb, '{"e":2}'));
-- the result is usable with =, hashing and lookups like any jsonb
SELECT jsonb_merge('{"b":1}', '{"a":2}') = '{"a":2,"b":1}'::jsonb AS equal,
	   jsonb_hash(jsonb_merge('{"b":1}', '{"a":2}')) = jsonb_hash('{"a":2,"b":1}') AS same_hash,
	   jsonb_merge('{"b":1}', '{"a":2}') @> '{"a":2}' AS contains;
-- arguments read from a table: short inline headers, compressed and out-of-line TOAST
CREATE TABLE docs (id int, stored jsonb, patch jsonb);
ALTER TABLE docs ALTER COLUMN patch SET STORAGE EXTERNAL;
INSERT INTO docs VALUES
	(1, '{"a":1}', '{"b":2}'),
	(2, jsonb_build_object('big', repeat('x', 10000), 'n', 1), '{"n":null}'),
	(3, (SELECT jsonb_object_agg(md5(i::text), md5((i * 7)::text)) FROM generate_series(1, 300) i),
		(SELECT jsonb_object_agg(md5(i::text), CASE WHEN i % 2 = 0 THEN NULL ELSE to_jsonb(i) END) FROM generate_series(1, 150) i)),
	(4, '{}', (SELECT jsonb_object_agg(md5(i::text), i) FROM generate_series(1, 100) i));
SELECT id, pg_column_size(stored) < octet_length(stored::text) AS stored_compressed,
	   jsonb_merge(stored, patch) = reference_merge(stored, patch) AS same_value,
	   canonical(jsonb_merge(stored, patch)) AS canonical,
	   jsonb_merge(patch, stored) = reference_merge(patch, stored) AS swapped_same_value
FROM docs ORDER BY id;
DROP TABLE docs;
-- errors: SQLSTATE 22023 naming the argument and the JSON type it got
SELECT jsonb_merge('{}', '[1,2]');
\echo :LAST_ERROR_SQLSTATE
SELECT jsonb_merge('{}', '"text"');
\echo :LAST_ERROR_SQLSTATE
SELECT jsonb_merge('{}', '42');
\echo :LAST_ERROR_SQLSTATE
SELECT jsonb_merge('{}', 'true');
\echo :LAST_ERROR_SQLSTATE
SELECT jsonb_merge('{}', 'null');
\echo :LAST_ERROR_SQLSTATE
SELECT jsonb_merge('[]', '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT jsonb_merge('"s"', NULL);
\echo :LAST_ERROR_SQLSTATE
-- declared properties
SELECT p.proname, p.provolatile, p.proparallel, p.proisstrict
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'user_metadata' AND p.proname LIKE 'jsonb_merge%' ORDER BY 1;
