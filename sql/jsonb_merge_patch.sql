--
-- jsonb_merge_patch: RFC 7396 JSON Merge Patch.
--
SET search_path = user_metadata, public;
-- RFC 7396 Appendix A, every example: result, equality with the RFC's answer, canonical bytes
SELECT n, jsonb_merge_patch(target::jsonb, patch::jsonb) AS result,
	   jsonb_merge_patch(target::jsonb, patch::jsonb) = expected::jsonb AS as_rfc,
	   canonical(jsonb_merge_patch(target::jsonb, patch::jsonb)) AS canonical
FROM (VALUES
	(1, '{"a":"b"}', '{"a":"c"}', '{"a":"c"}'),
	(2, '{"a":"b"}', '{"b":"c"}', '{"a":"b","b":"c"}'),
	(3, '{"a":"b"}', '{"a":null}', '{}'),
	(4, '{"a":"b","b":"c"}', '{"a":null}', '{"b":"c"}'),
	(5, '{"a":["b"]}', '{"a":"c"}', '{"a":"c"}'),
	(6, '{"a":"c"}', '{"a":["b"]}', '{"a":["b"]}'),
	(7, '{"a":{"b":"c"}}', '{"a":{"b":"d","c":null}}', '{"a":{"b":"d"}}'),
	(8, '{"a":[{"b":"c"}]}', '{"a":[1]}', '{"a":[1]}'),
	(9, '["a","b"]', '["c","d"]', '["c","d"]'),
	(10, '{"a":"b"}', '["c"]', '["c"]'),
	(11, '{"a":"foo"}', 'null', 'null'),
	(12, '{"a":"foo"}', '"bar"', '"bar"'),
	(13, '{"e":null}', '{"a":1}', '{"e":null,"a":1}'),
	(14, '[1,2]', '{"a":"b","c":null}', '{"a":"b"}'),
	(15, '{}', '{"a":{"bb":{"ccc":null}}}', '{"a":{"bb":{}}}')
) AS rfc(n, target, patch, expected)
ORDER BY n;
-- the RFC's section 3 example
SELECT jsonb_merge_patch(
	'{"title":"Goodbye!","author":{"givenName":"John","familyName":"Doe"},"tags":["example","sample"],"content":"This will be unchanged"}',
	'{"title":"Hello!","phoneNumber":"+01-123-456-7890","author":{"familyName":null},"tags":["example"]}');
-- nested merges several levels down, nulls removed at every depth
SELECT jsonb_merge_patch('{"a":{"b":{"c":{"d":1,"e":2}},"f":3},"g":4}',
						 '{"a":{"b":{"c":{"d":null,"x":9}},"f":null},"h":{"i":{"j":null,"k":1}}}');
-- a nested object with nothing to change keeps its bytes; a null below an array is kept
SELECT jsonb_merge_patch('{"a":{"b":1},"c":[null]}', '{"a":{"b":1},"d":[{"e":null}]}');
-- target nulls not touched by the patch stay (unlike jsonb_merge)
SELECT jsonb_merge_patch('{"keep":null,"x":1}', '{"x":2}');
-- SQL NULLs: a NULL target is {}, a NULL patch applies nothing
SELECT jsonb_merge_patch(NULL, '{"a":{"b":null,"c":1}}'), jsonb_merge_patch('{"a":null}', NULL),
	   jsonb_merge_patch(NULL, NULL), jsonb_merge_patch('[1]', NULL);
-- wide nested objects across the offset stride, checked against jsonb_merge at the root
SELECT canonical(jsonb_merge_patch(jsonb_build_object('o', wide(70), 'n', 1.25),
								   jsonb_build_object('o', wide(40, 'k', 'CASE WHEN i % 2 = 0 THEN ''null'' ELSE to_jsonb(-i) END'))))
	   AS canonical,
	   jsonb_merge_patch(jsonb_build_object('o', wide(70)),
						 jsonb_build_object('o', wide(40, 'k', 'CASE WHEN i % 2 = 0 THEN ''null'' ELSE to_jsonb(-i) END'))) -> 'o'
	   = jsonb_merge(wide(70), wide(40, 'k', 'CASE WHEN i % 2 = 0 THEN ''null'' ELSE to_jsonb(-i) END')) AS same_as_root_merge;
-- numerics and containers realigned inside rebuilt nested objects
SELECT jsonb_merge_patch('{"o":{"a":"x","n":1.5,"arr":[1,2]}}', '{"o":{"bb":"yyy","m":2.25,"q":{"r":null}}}') AS result,
	   canonical(jsonb_merge_patch('{"o":{"a":"x","n":1.5,"arr":[1,2]}}', '{"o":{"bb":"yyy","m":2.25,"q":{"r":null}}}'));
-- deep patches recurse only as deep as both sides hold objects
SELECT canonical(jsonb_merge_patch(('{"d":' || repeat('{"x":', 200) || '{"y":1}' || repeat('}', 200) || '}')::jsonb,
								   ('{"d":' || repeat('{"x":', 200) || '{"y":null,"z":2}' || repeat('}', 200) || '}')::jsonb)),
	   jsonb_merge_patch(('{"d":' || repeat('{"x":', 200) || '{"y":1}' || repeat('}', 200) || '}')::jsonb,
						 ('{"d":' || repeat('{"x":', 200) || '{"y":null,"z":2}' || repeat('}', 200) || '}')::jsonb)
	   #> ('{d,' || repeat('x,', 200) || 'z}')::text[] AS z;
