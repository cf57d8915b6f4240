--
-- test/bench/upsert/reset.sql: before every pgbench run, the same starting
-- state: :users rows holding the 2 KB document, vacuumed, checkpointed.
--
-- psql variables: users, doc.
--
\set ON_ERROR_STOP 1
TRUNCATE user_metadata.user_metadata;
INSERT INTO user_metadata.user_metadata (user_id, metadata)
SELECT g::text, :'doc'::jsonb FROM generate_series(1, :users) g;
VACUUM ANALYZE user_metadata.user_metadata;
CHECKPOINT;
