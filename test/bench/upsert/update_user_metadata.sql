-- test/bench/upsert/update_user_metadata.sql: the product, one call that
-- merges inside INSERT ... ON CONFLICT and returns the merged document.
-- pgbench variables: users, patch.
\set uid random(1, :users)
SELECT user_metadata.update_user_metadata(:uid, :patch);
