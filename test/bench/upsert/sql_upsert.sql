-- test/bench/upsert/sql_upsert.sql: an SQL-only upsert with the built-in
-- ||, which does less than the product: null keys are stored, not removed.
-- It returns the document like update_user_metadata does.
-- pgbench variables: users, patch.
\set uid random(1, :users)
INSERT INTO user_metadata.user_metadata AS t (user_id, metadata) VALUES (:uid, :patch)
ON CONFLICT (app_id, user_id) DO UPDATE SET metadata = t.metadata || excluded.metadata, updated_at = now()
RETURNING metadata;
