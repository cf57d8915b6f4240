-- test/reliability/table_calls.sql: every way of writing or reading
-- user_metadata.user_metadata, called by test/suites/table_changes.sh after
-- each change a DBA may make to the table.
--
-- An entry starts at a line "--! NAME"; its lines up to "--? call" run
-- first and may note in psql variable "pre" what the check needs to know of
-- the table before the call.  The lines from "--? call" to "--? check" are
-- the call, run in a transaction of its own that is committed, so that a
-- wrong write would show.  The lines after "--? check" run after the commit and
-- must set psql variable "right" to true when the call's answer agrees with
-- what the table holds.  The call may keep its answer in variable "ret".
-- public.stored(user_id) is the stored document read through to_jsonb and
-- public.document, so that it works whatever the DBA did to the columns.

--! get_user_metadata of a stored user
--? call
SELECT user_metadata.get_user_metadata('u1')::text AS ret \gset
--? check
SELECT :'ret'::jsonb = coalesce(public.stored('u1'), '{}') AS right \gset

--! get_user_metadata of an unknown user
--? call
SELECT user_metadata.get_user_metadata('nobody')::text AS ret \gset
--? check
SELECT :'ret'::jsonb = '{}' AND public.stored('nobody') IS NULL AS right \gset

--! update_user_metadata of a stored user
--? call
SELECT user_metadata.update_user_metadata('u1', '{"z": 1, "k": null}')::text AS ret \gset
--? check
SELECT :'ret'::jsonb = public.stored('u1') AS right \gset

--! update_user_metadata of a new user
--? call
SELECT user_metadata.update_user_metadata('n1', '{"z": 1}')::text AS ret \gset
--? check
SELECT :'ret'::jsonb = public.stored('n1') AS right \gset

--! set_user_metadata
--? call
SELECT user_metadata.set_user_metadata('u1', '{"s": 1, "gone": null}')::text AS ret \gset
--? check
SELECT :'ret'::jsonb = public.stored('u1') AS right \gset

--! clear_user_metadata
SELECT (public.stored('u2') IS NOT NULL)::text AS pre \gset
--? call
SELECT user_metadata.clear_user_metadata('u2')::text AS ret \gset
--? check
SELECT CASE WHEN :'ret'::boolean THEN :'pre'::boolean AND public.stored('u2') IS NULL
	   ELSE (public.stored('u2') IS NOT NULL) = :'pre'::boolean END AS right \gset

--! get_user_metadata_bulk
--? call
SELECT string_agg(b.user_id || '=' || b.metadata::text, ',') AS ret
FROM user_metadata.get_user_metadata_bulk(ARRAY['u1', 'u3', 'nobody']) b \gset
--? check
SELECT :'ret' = string_agg(id || '=' || coalesce(public.stored(id), '{}')::text, ',' ORDER BY ord) AS right
FROM unnest(ARRAY['u1', 'u3', 'nobody']) WITH ORDINALITY AS i (id, ord) \gset

--! find_users
--? call
SELECT coalesce(array_agg(f ORDER BY f COLLATE "C"), '{}')::text AS ret FROM user_metadata.find_users('{"k": 1}') f \gset
--? check
SELECT :'ret' = coalesce(array_agg(to_jsonb(t) ->> 'user_id' ORDER BY to_jsonb(t) ->> 'user_id' COLLATE "C"), '{}')::text AS right
FROM user_metadata.user_metadata t
WHERE to_jsonb(t) ->> 'app_id' = 'public' AND public.document(to_jsonb(t)) @> '{"k": 1}' \gset

--! update_user_metadata_bulk
--? call
SELECT user_metadata.update_user_metadata_bulk(ARRAY['u1', 'n2'], ARRAY['{"b": 1}', '{"b": 2}']::jsonb[]) AS ret \gset
--? check
SELECT :'ret' = '2' AND public.stored('u1') IS NOT NULL AND public.stored('n2') IS NOT NULL AS right \gset

--! set_user_metadata_bulk
--? call
SELECT user_metadata.set_user_metadata_bulk(ARRAY['u1', 'n3'], ARRAY['{"c": 1}', '{"c": 2}']::jsonb[]) AS ret \gset
--? check
SELECT :'ret' = '2' AND public.stored('u1') IS NOT NULL AND public.stored('n3') IS NOT NULL AS right \gset

--! set_user_metadata_bulk with an id twice
--? call
SELECT user_metadata.set_user_metadata_bulk(ARRAY['n5', 'n5'], ARRAY['{"c": 1}', '{"c": 2}']::jsonb[]) AS ret \gset
--? check
SELECT :'ret' = '2' AND public.stored('n5') IS NOT NULL AS right \gset

--! insert_user_metadata_bulk
SELECT (public.stored('u3') IS NOT NULL)::text AS pre \gset
--? call
SELECT user_metadata.insert_user_metadata_bulk(ARRAY['u3', 'n4'], ARRAY['{"i": 1}', '{"i": 2}']::jsonb[]) AS ret \gset
--? check
-- what it stored: n4, and u3 unless u3 was there (a skipping trigger stores neither)
SELECT :'ret'::int = (public.stored('n4') IS NOT NULL)::int
	   + (NOT :'pre'::boolean AND public.stored('u3') IS NOT NULL)::int AS right \gset

--! import_atlas_custom_user_data
--? call
SELECT detail AS ret FROM user_metadata.import_atlas_custom_user_data('public.atlas_lines') WHERE outcome = 'summary' \gset
--? check
SELECT :'ret' = '2 imported, 0 kept, 0 duplicates, 0 bad' AND public.stored('a1') IS NOT NULL AS right \gset

--! import_supertokens
--? call
SELECT detail AS ret FROM user_metadata.import_supertokens('public.supertokens_rows') WHERE outcome = 'summary' \gset
--? check
SELECT :'ret' LIKE '1 imported%' AND public.stored('st1') IS NOT NULL AS right \gset

--! a client role's INSERT
--? call
SET LOCAL ROLE um_tc_client;
SET LOCAL user_metadata.user_id = 'c1';
INSERT INTO user_metadata.user_metadata (user_id, metadata) VALUES ('c1', '{"x": 1, "y": null}');
\set ret :ROW_COUNT
--? check
-- a plain INSERT's answer is its row count (a trigger may skip the row)
SELECT (:'ret' = '1') = (public.stored('c1') IS NOT NULL) AS right \gset

--! a client role's UPDATE
--? call
SET LOCAL ROLE um_tc_client;
SET LOCAL user_metadata.user_id = 'u1';
UPDATE user_metadata.user_metadata SET metadata = '{"w": 1}';
\set ret :ROW_COUNT
--? check
SELECT :'ret' = '0' OR public.stored('u1') IS NOT NULL AS right \gset

--! write_custom_user_data
--? call
SET LOCAL ROLE um_tc_client;
SET LOCAL user_metadata.user_id = 'u3';
CALL user_metadata.write_custom_user_data('{"cw": 1}') \gset
\set ret :custom_data
--? check
SELECT :'ret'::jsonb = public.stored('u3') AS right \gset

--! custom_user_data
-- what the client may see of the table (policies a DBA added included)
BEGIN;
SET LOCAL ROLE um_tc_client;
SET LOCAL user_metadata.user_id = 'u3';
SELECT coalesce((SELECT public.document(to_jsonb(t)) FROM user_metadata.user_metadata t
				 WHERE to_jsonb(t) ->> 'user_id' = 'u3'), '{}')::text AS pre \gset
COMMIT;
--? call
SET LOCAL ROLE um_tc_client;
SET LOCAL user_metadata.user_id = 'u3';
SELECT user_metadata.custom_user_data()::text AS ret \gset
--? check
SELECT :'ret'::jsonb = :'pre'::jsonb AS right \gset

--! update_user_metadata by a role granted it, not a superuser
--? call
SET LOCAL ROLE um_tc_admin;
SELECT user_metadata.update_user_metadata('u4', '{"adm": 1}')::text AS ret \gset
--? check
SELECT :'ret'::jsonb = public.stored('u4') AS right \gset

--! update_user_metadata with notifications on
--? call
SET LOCAL user_metadata.notify = on;
SELECT user_metadata.update_user_metadata('u1', '{"nt": 1}')::text AS ret \gset
--? check
SELECT :'ret'::jsonb = public.stored('u1') AS right \gset

--! merge_trigger on a table of the application
--? call
UPDATE public.prefs SET settings = '{"a": null, "b": 2}' WHERE id = 1;
--? check
-- in replica mode, as PostgreSQL documents, the trigger does not fire
SELECT settings = CASE current_setting('session_replication_role') WHEN 'replica' THEN '{"a": null, "b": 2}'
		ELSE '{"b": 2}' END::jsonb AS right FROM public.prefs WHERE id = 1 \gset
