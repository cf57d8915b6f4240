-- test/bench/upsert/plain_update.sql: the floor, one single-row UPDATE that
-- stores a given document of the same size (no read, no merge, no insert).
-- pgbench variables: users, doc.
\set uid random(1, :users)
UPDATE user_metadata.user_metadata SET metadata = :doc, updated_at = now()
WHERE app_id = 'public' AND user_id = :uid;
