-- test/bench/upsert/plain_update_returning.sql: the floor for a write that
-- returns its document, as update_user_metadata does: the plain UPDATE with
-- RETURNING metadata, so the server also prints and sends the 2 KB back.
-- pgbench variables: users, doc.
\set uid random(1, :users)
UPDATE user_metadata.user_metadata SET metadata = :doc, updated_at = now()
WHERE app_id = 'public' AND user_id = :uid RETURNING metadata;
