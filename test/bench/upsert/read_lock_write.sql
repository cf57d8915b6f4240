-- test/bench/upsert/read_lock_write.sql: the client-side pattern of
-- SuperTokens core and GoTrue: lock and read the document, merge in the
-- client, write the whole document back.  pgbench cannot merge, so it sends
-- back the document it read (\gset): the same bytes a real client ships, but
-- with the client's merge step free, which favours this contender.
-- pgbench variable: users.
\set uid random(1, :users)
BEGIN;
SELECT metadata FROM user_metadata.user_metadata WHERE app_id = 'public' AND user_id = :uid FOR UPDATE \gset
UPDATE user_metadata.user_metadata SET metadata = :metadata, updated_at = now()
WHERE app_id = 'public' AND user_id = :uid;
COMMIT;
