--
-- from_ejson: MongoDB Extended JSON (relaxed and canonical) to plain JSON.
--
SET search_path = user_metadata, public;
-- a mongoexport line in relaxed form: ObjectIds, a date, numbers
SELECT from_ejson('{"_id": {"$oid": "64B7F0C2A1B2C3D4E5F60718"}, "userId": "64b7f0c2a1b2c3d4e5f60719",
  "createdAt": {"$date": "2023-03-11T00:00:00.123Z"}, "logins": 42, "score": 1.5}');
-- the same document in canonical form gives the same result
SELECT from_ejson('{"_id": {"$oid": "64b7f0c2a1b2c3d4e5f60718"}, "userId": "64b7f0c2a1b2c3d4e5f60719",
  "createdAt": {"$date": {"$numberLong": "1678492800123"}}, "logins": {"$numberInt": "42"},
  "score": {"$numberDouble": "1.5"}}')
 = from_ejson('{"_id": {"$oid": "64B7F0C2A1B2C3D4E5F60718"}, "userId": "64b7f0c2a1b2c3d4e5f60719",
  "createdAt": {"$date": "2023-03-11T00:00:00.123Z"}, "logins": 42, "score": 1.5}') AS same;
-- numbers are exact: no trip through a double
SELECT from_ejson('[{"$numberInt": "-2147483648"}, {"$numberLong": "9223372036854775807"},
  {"$numberLong": "-9223372036854775808"}, {"$numberDouble": "0.1"}, {"$numberDouble": "-0.0"},
  {"$numberDouble": "1.7976931348623157E+308"}, {"$numberDouble": "5e-324"},
  {"$numberDecimal": "1234567890.123456789012345678901234"}, {"$numberDecimal": "1.10"},
  {"$numberDecimal": "-1E+3"}]');
-- NaN and the infinities have no JSON number: they become strings
SELECT from_ejson('[{"$numberDouble": "NaN"}, {"$numberDouble": "Infinity"}, {"$numberDouble": "-Infinity"},
  {"$numberDecimal": "NaN"}, {"$numberDecimal": "Infinity"}, {"$numberDecimal": "-Infinity"}]');
-- dates: JavaScript's toISOString, UTC, milliseconds; offsets applied;
-- fractions past milliseconds truncated; legacy integer milliseconds
SELECT from_ejson('[{"$date": "2023-03-11T01:30:00+01:30"}, {"$date": "2023-03-11T00:00:00Z"},
  {"$date": "2023-03-10T23:59:59.9999-0000"}, {"$date": "2024-02-29T12:00:00.5Z"}, {"$date": 0},
  {"$date": {"$numberLong": "-1"}}, {"$date": {"$numberLong": "-62167219200000"}}]');
-- before year 0 and after 9999: a sign and six digits, as JavaScript writes them
SELECT from_ejson('[{"$date": {"$numberLong": "-62167219200001"}}, {"$date": {"$numberLong": "253402300799999"}},
  {"$date": {"$numberLong": "253402300800000"}}, {"$date": {"$numberLong": "8640000000000000"}},
  {"$date": {"$numberLong": "-8640000000000000"}}, {"$date": "+010000-01-01T00:00:00Z"}]');
-- beyond JavaScript's range (int64 milliseconds): the same form with more digits
SELECT from_ejson('[{"$date": {"$numberLong": "9223372036854775807"}}, {"$date": {"$numberLong": "-9223372036854775808"}}]');
-- binary: a UUID (subtype 4, 16 bytes) as its text, anything else as its base64
SELECT from_ejson('[{"$binary": {"base64": "ASNFZ4mrze8BI0VniavN7w==", "subType": "04"}},
  {"$binary": {"base64": "AQID", "subType": "00"}}, {"$binary": {"base64": "", "subType": "80"}},
  {"$binary": "ASNFZ4mrze8BI0VniavN7w==", "$type": "4"}, {"$binary": "AQID", "$type": "05"},
  {"$uuid": "0123ABCD-89ab-CDEF-0123-456789ABCDEF"}]');
-- timestamp: its plain object; regular expressions: /pattern/options;
-- MinKey, MaxKey; symbol and code: their string; code with scope: an object
SELECT from_ejson('[{"$timestamp": {"t": 1678492800, "i": 7}}, {"$regularExpression": {"pattern": "^a/b$", "options": "im"}},
  {"$regex": "x+", "$options": "s"}, {"$minKey": 1}, {"$maxKey": 1}, {"$symbol": "sym"}, {"$code": "f()"},
  {"$code": "g(x)", "$scope": {"x": {"$numberLong": "5"}}}]');
-- at any depth, in objects and arrays, and at the root
SELECT from_ejson('{"a": [{"b": [{"$numberInt": "1"}, {"c": {"$oid": "64b7f0c2a1b2c3d4e5f60718"}}]}], "d": {"e": {"f": {"$date": 0}}}}');
SELECT from_ejson('{"$numberLong": "7"}'), from_ejson('{"$oid": "64b7f0c2a1b2c3d4e5f60718"}'),
  from_ejson('{"$timestamp": {"t": 1, "i": 2}}');
-- objects that only look like wrappers stay as they are (their values converted)
SELECT from_ejson('{"a": {"$oid": "64b7f0c2a1b2c3d4e5f60718", "name": "x"}, "b": {"$unknown": 1},
  "c": {"$numberInt": "1", "$numberLong": "1"}, "d": {"$regex": {"$regularExpression": {"pattern": "a", "options": ""}}, "$options": "i"},
  "e": {"$ref": "users", "$id": {"$oid": "64b7f0c2a1b2c3d4e5f60718"}}, "f": {}, "g": {"$date": 1, "x": 2}}');
-- plain JSON comes back as it is: the very same value
SELECT from_ejson(j) = j AS same, canonical(from_ejson(j))
FROM (VALUES ('{"a": 1, "b": [true, null, "x"], "c": {"d": 1.50}}'::jsonb), ('"$oid"'), ('[]'), ('{"$not_a_wrapper": 1}')) v (j);
-- STRICT: NULL in, NULL out
SELECT from_ejson(NULL) IS NULL AS is_null;
-- malformed wrappers: 22P02 with the JSON path of the wrapper
\set VERBOSITY default
SELECT from_ejson('{"a": [1, {"b": {"$numberLong": "x"}}]}');
SELECT from_ejson('{"weird key": {"$oid": "64b7f0c2a1b2c3d4e5f6071"}}');
SELECT from_ejson('{"n": {"$numberInt": "2147483648"}}');
SELECT from_ejson('{"n": {"$numberLong": 5}}');
SELECT from_ejson('{"n": {"$numberDouble": "1e99999"}}');
SELECT from_ejson('{"n": {"$numberDecimal": "one"}}');
SELECT from_ejson('{"d": {"$date": "2023-02-29T00:00:00Z"}}');
SELECT from_ejson('{"d": {"$date": "2023-03-11"}}');
SELECT from_ejson('{"d": {"$date": {"$numberLong": "1.5"}}}');
SELECT from_ejson('{"d": {"$date": 1.5}}');
SELECT from_ejson('{"b": {"$binary": {"base64": "A", "subType": "00"}}}');
SELECT from_ejson('{"b": {"$binary": {"base64": "AQID"}}}');
SELECT from_ejson('{"u": {"$uuid": "0123abcd89abcdef0123456789abcdef"}}');
SELECT from_ejson('{"t": {"$timestamp": {"t": -1, "i": 0}}}');
SELECT from_ejson('{"r": {"$regularExpression": {"pattern": "a", "options": "i-"}}}');
SELECT from_ejson('{"k": {"$minKey": 0}}');
SELECT from_ejson('{"s": {"$symbol": 1}}');
SELECT from_ejson('{"c": {"$code": "f()", "$scope": 1}}');
SELECT from_ejson('[[{"$oid": 1}]]');
-- immutable, parallel safe, strict, executable by everyone
SELECT provolatile, proparallel, proisstrict, has_function_privilege('public', 'user_metadata.from_ejson(jsonb)', 'EXECUTE')
FROM pg_proc WHERE oid = 'user_metadata.from_ejson(jsonb)'::regprocedure;
