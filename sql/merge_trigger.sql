--
-- merge_trigger: plain writes of jsonb columns become merges.
--
CREATE TABLE profiles (id int PRIMARY KEY, settings jsonb, flags jsonb, note text);
CREATE TRIGGER profiles_merge BEFORE INSERT OR UPDATE ON profiles
	FOR EACH ROW EXECUTE FUNCTION user_metadata.merge_trigger('settings', 'flags');
-- INSERT drops root nulls; a NULL column becomes {}
INSERT INTO profiles VALUES (1, '{"theme":"dark","lang":"en","draft":null}', NULL, 'a');
SELECT * FROM profiles;
-- UPDATE merges: the seed's patch through a plain UPDATE
UPDATE profiles SET settings = '{"theme":null,"font":{"size":12}}', flags = '{"beta":true}' WHERE id = 1;
SELECT * FROM profiles;
UPDATE profiles SET settings = '{"font":{"family":"mono"}}' WHERE id = 1;
SELECT settings FROM profiles;
-- columns the UPDATE does not touch are kept as they are
UPDATE profiles SET note = 'b' WHERE id = 1;
SELECT * FROM profiles;
-- a NULL assigned to a merged column applies nothing
UPDATE profiles SET flags = NULL WHERE id = 1;
SELECT flags FROM profiles;
-- INSERT ... ON CONFLICT DO UPDATE merges too
INSERT INTO profiles VALUES (1, '{"lang":"fr"}', '{}', 'c')
ON CONFLICT (id) DO UPDATE SET settings = excluded.settings;
SELECT settings FROM profiles;
-- a non-object value fails with the column named, and nothing changes
UPDATE profiles SET settings = '[1,2]' WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
SELECT settings FROM profiles;
-- misconfigured triggers fail at the first firing, naming table and column
CREATE TABLE broken (id int, data jsonb, label text);
CREATE TRIGGER broken_merge BEFORE INSERT ON broken
	FOR EACH ROW EXECUTE FUNCTION user_metadata.merge_trigger('missing');
INSERT INTO broken VALUES (1, '{}', 'x');
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER broken_merge ON broken;
CREATE TRIGGER broken_merge BEFORE INSERT ON broken
	FOR EACH ROW EXECUTE FUNCTION user_metadata.merge_trigger('label');
INSERT INTO broken VALUES (1, '{}', 'x');
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER broken_merge ON broken;
CREATE TRIGGER broken_merge BEFORE INSERT ON broken
	FOR EACH ROW EXECUTE FUNCTION user_metadata.merge_trigger();
INSERT INTO broken VALUES (1, '{}', 'x');
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER broken_merge ON broken;
CREATE TRIGGER broken_merge AFTER INSERT ON broken
	FOR EACH ROW EXECUTE FUNCTION user_metadata.merge_trigger('data');
INSERT INTO broken VALUES (1, '{}', 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM broken;
DROP TABLE broken, profiles;
