--
-- history: the change history of the documents (set_history,
-- user_metadata_history, get_user_metadata_as_of, prune_history,
-- forget_user) and the trigger that records every writer's writes.
--
SET search_path = user_metadata, public;
-- a compact view of one user's history: who is the role that ran this file
CREATE FUNCTION hist(u text, app text DEFAULT 'public')
RETURNS TABLE (n bigint, by_me boolean, by_user text, patch jsonb, metadata jsonb)
LANGUAGE sql AS $$
	SELECT row_number() OVER (), h.changed_by = current_user, h.changed_by_user_id, h.patch, h.metadata
	FROM user_metadata.user_metadata_history(u, app) h
$$;
-- what the table holds: the whole document only where it is needed
CREATE FUNCTION stored(u text, app text DEFAULT 'public')
RETURNS TABLE (since_full integer, gap_before boolean, has_patch boolean, has_metadata boolean)
LANGUAGE sql AS $$
	SELECT since_full, gap_before, patch IS NOT NULL, metadata IS NOT NULL
	FROM user_metadata.user_metadata_history WHERE app_id = app AND user_id = u ORDER BY seq
$$;
-- history is off until set_history turns it on: nothing recorded
SELECT update_user_metadata('h_off', '{"a":1}');
SELECT count(*) FROM user_metadata_history;
SELECT * FROM hist('h_off');
SELECT set_history('public', true);
SELECT * FROM history_settings;
-- every writer: the merging calls record their patch as given
SELECT update_user_metadata('h1', '{"theme":"dark","gone":null}');
SELECT update_user_metadata('h1', '{"lang":"fr"}');
SELECT delete_user_metadata_key('h1', 'theme');
SELECT update_user_metadata_bulk(ARRAY['h1', 'h2'], ARRAY['{"n":1}', '{"n":2}']::jsonb[]);
-- a replace, a bulk replace, a bulk insert and a clear record no patch
SELECT set_user_metadata('h1', '{"fresh":true}');
SELECT set_user_metadata_bulk(ARRAY['h1'], ARRAY['{"bulk":true}']::jsonb[]);
SELECT insert_user_metadata_bulk(ARRAY['h3', 'h1'], ARRAY['{"new":1}', '{"ignored":1}']::jsonb[]);
SELECT clear_user_metadata('h1');
-- a client's direct writes, and write_custom_user_data, with its identity
BEGIN;
SET LOCAL user_metadata.user_id = 'h1';
INSERT INTO user_metadata (user_id, metadata) VALUES ('h1', '{"direct":1}');
UPDATE user_metadata SET metadata = metadata || '{"more":2}' WHERE user_id = 'h1';
CALL write_custom_user_data('{"custom":3}');
COMMIT;
-- a rollback records nothing
BEGIN;
SELECT update_user_metadata('h1', '{"rolled":"back"}');
ROLLBACK;
SELECT * FROM hist('h1');
SELECT * FROM hist('h2');
SELECT * FROM hist('h3');
-- the last row's document is the stored one
SELECT (SELECT metadata FROM user_metadata_history('h1') ORDER BY changed_at DESC LIMIT 1)
	= get_user_metadata('h1') AS same;
-- changed_at follows the order of the writes
SELECT bool_and(ordered) FROM (
	SELECT changed_at >= lag(changed_at, 1, '-infinity') OVER (ORDER BY seq) AS ordered
	FROM user_metadata.user_metadata_history WHERE user_id = 'h1') o;
-- a document as of each recorded moment, and {} before the first write
SELECT h.seq, get_user_metadata_as_of('h1', h.changed_at) = r.metadata AS same
FROM user_metadata.user_metadata_history h
JOIN (SELECT row_number() OVER () AS n, metadata FROM user_metadata_history('h1')) r
	ON r.n = (SELECT count(*) FROM user_metadata.user_metadata_history i WHERE i.user_id = 'h1' AND i.seq <= h.seq)
WHERE h.user_id = 'h1' ORDER BY h.seq LIMIT 3;
SELECT get_user_metadata_as_of('h1', '-infinity');
SELECT get_user_metadata_as_of('h1', 'infinity') = get_user_metadata('h1') AS now_is_latest;
SELECT get_user_metadata_as_of('nobody', now());
-- apps are separate: history is on per app
SELECT update_user_metadata('h1', '{"plan":"pro"}', 'billing');
SELECT count(*) FROM user_metadata_history('h1', 'billing');
-- storage: a whole document every 16th row; the rebuild replays the patches
SELECT count(*) FROM (SELECT update_user_metadata('h4', jsonb_build_object('k' || i, i)) FROM generate_series(1, 40) i) w;
SELECT count(*) AS rows, count(*) FILTER (WHERE has_metadata) AS whole, max(since_full) FROM stored('h4');
SELECT n, metadata = (SELECT jsonb_object_agg('k' || i, i) FROM generate_series(1, n::int) i) AS rebuilt
FROM hist('h4') WHERE n IN (1, 15, 16, 17, 33, 40);
-- a patch that does not rebuild the stored document (a trigger of the DBA
-- changed it) stores the whole document
CREATE FUNCTION add_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.metadata := NEW.metadata || '{"stamp":1}'; RETURN NEW; END $$;
CREATE TRIGGER a_stamp BEFORE UPDATE ON user_metadata FOR EACH ROW EXECUTE FUNCTION add_stamp();
SELECT update_user_metadata('h4', '{"k41":41}');
DROP TRIGGER a_stamp ON user_metadata;
SELECT * FROM stored('h4') OFFSET 40;
SELECT metadata FROM hist('h4') WHERE n = 41;
-- a gap: writes while history was off; the next row is whole, marked
SELECT set_history('public', false);
SELECT update_user_metadata('h2', '{"unrecorded":true}');
SELECT set_history('public', true);
SELECT update_user_metadata('h2', '{"after":true}');
SELECT * FROM stored('h2');
SELECT * FROM hist('h2');
-- history turned on for a user who had a document: before it is unknown
SELECT update_user_metadata('h_off', '{"b":2}');
SELECT * FROM stored('h_off');
SELECT get_user_metadata_as_of('h_off', '-infinity') IS NULL AS unknown;
-- retention by count: the newest 5 rows, back to a whole document
SELECT set_history('public', true, keep_count => 5);
SELECT * FROM history_settings;
SELECT prune_history();
SELECT count(*) AS rows, min(since_full) FILTER (WHERE gap_before) AS oldest_since_full FROM stored('h4');
SELECT (array_agg(gap_before ORDER BY seq))[1] AS oldest_marked, (array_agg(metadata IS NOT NULL ORDER BY seq))[1] AS oldest_whole
FROM user_metadata.user_metadata_history WHERE user_id = 'h4';
SELECT get_user_metadata_as_of('h4', '-infinity') IS NULL AS pruned_is_unknown;
SELECT (SELECT metadata FROM hist('h4') ORDER BY n DESC LIMIT 1) = get_user_metadata('h4') AS rebuilt;
-- the trigger prunes as it writes a whole document
SELECT count(*) FROM (SELECT update_user_metadata('h4', jsonb_build_object('m' || i, i)) FROM generate_series(1, 32) i) w;
SELECT count(*) <= 5 + 15 AS bounded FROM stored('h4');
SELECT (SELECT metadata FROM hist('h4') ORDER BY n DESC LIMIT 1) = get_user_metadata('h4') AS rebuilt;
-- by count: whole documents at seq 1, 17 and 33 of 40; the 5th newest (36)
-- is 3 rows past the whole one at 33, the new oldest; after a DBA deleted
-- that row, pruning searches back to the one at 17
SELECT set_history('public', true);
SELECT count(*) FROM (SELECT update_user_metadata(u, jsonb_build_object('k' || i, i))
	FROM generate_series(1, 40) i, unnest(ARRAY['h5', 'h6']) u) w;
DELETE FROM user_metadata.user_metadata_history WHERE user_id = 'h6' AND seq = 33;
SELECT set_history('public', true, keep_count => 5);
SELECT prune_history('public') > 0 AS pruned;
SELECT user_id, min(seq) AS oldest, count(*) AS rows, bool_and(gap_before = (seq = 17 OR seq = 33)) AS marked
FROM user_metadata.user_metadata_history WHERE user_id IN ('h5', 'h6') GROUP BY user_id ORDER BY user_id;
SELECT get_user_metadata_as_of('h5', now()) = get_user_metadata('h5') AS rebuilt;
-- retention by age
SELECT set_history('public', true, keep => '1 day');
SELECT set_user_metadata('h3', '{"replaced":2}');
UPDATE user_metadata.user_metadata_history SET changed_at = changed_at - interval '3 days' WHERE user_id = 'h3';
SELECT update_user_metadata('h3', '{"recent":1}');
SELECT prune_history('public');
SELECT * FROM stored('h3');
SELECT get_user_metadata_as_of('h3', now() - interval '2 days') AS two_days_ago,
	get_user_metadata_as_of('h3', now() - interval '4 days') IS NULL AS four_days_ago_unknown;
SELECT prune_history('no_such_app');
-- forget_user: the document and its whole history
SELECT forget_user('h1');
SELECT get_user_metadata('h1'), count(*) FROM user_metadata_history('h1');
SELECT count(*) FROM user_metadata.user_metadata_history WHERE user_id = 'h1' AND app_id = 'public';
SELECT count(*) FROM user_metadata_history('h1', 'billing');
SELECT forget_user('h1');
-- the arguments
SELECT set_history(NULL, true);
SELECT set_history('', true);
SELECT set_history('public', NULL);
SELECT set_history('public', true, keep => '0 days');
SELECT set_history('public', true, keep => '-1 day');
SELECT set_history('public', true, keep_count => 0);
SELECT * FROM user_metadata_history(NULL);
SELECT * FROM user_metadata_history('h1', '');
SELECT get_user_metadata_as_of('h1', NULL);
SELECT get_user_metadata_as_of(NULL, now());
SELECT forget_user('', 'public');
SELECT prune_history(NULL);
-- not through the proxy: what a DBA does to the tables
BEGIN;
ALTER EXTENSION user_metadata DROP TABLE history_settings;
DROP TABLE history_settings;
SELECT update_user_metadata('h9', '{"x":1}');
ROLLBACK;
BEGIN;
ALTER TABLE history_settings ALTER COLUMN enabled TYPE text;
SELECT update_user_metadata('h9', '{"x":1}');
ROLLBACK;
BEGIN;
ALTER TABLE user_metadata_history RENAME TO history_elsewhere;
SELECT update_user_metadata('h9', '{"x":1}');
ROLLBACK;
BEGIN;
ALTER TABLE user_metadata_history ALTER COLUMN patch TYPE text;
SELECT * FROM user_metadata_history('h2');
ROLLBACK;
-- the trigger function fired any other way
CREATE TABLE not_the_store (x int);
CREATE TRIGGER wrong BEFORE INSERT ON not_the_store FOR EACH ROW EXECUTE FUNCTION record_history();
INSERT INTO not_the_store VALUES (1);
DROP TABLE not_the_store;
SELECT set_history('public', false);
DROP FUNCTION hist(text, text), stored(text, text), add_stamp();
RESET search_path;
