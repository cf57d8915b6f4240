-- test/demo.sql: the seeds' flows, run by test/demo on a throwaway cluster.
\set ON_ERROR_STOP on
\pset footer off
CREATE EXTENSION user_metadata;

\echo
\echo '== SuperTokens: the stored document of the documentation example'
SELECT user_metadata.update_user_metadata('user-1',
	'{"preferences": {"theme": "dark"}, "notifications": {"email": true}, "todos": ["use-text-notifs"]}');

\echo '== change the notification setting, remove the todo list (a null removes a root key)'
SELECT user_metadata.update_user_metadata('user-1', '{"notifications": {"sms": true}, "todos": null}');

\echo '== updateinfo: add one key, keep the rest'
SELECT user_metadata.update_user_metadata('user-1', '{"newKey": "data"}');

\echo '== read it back; an unknown user reads as {}'
SELECT user_metadata.get_user_metadata('user-1') AS "user-1", user_metadata.get_user_metadata('nobody') AS nobody;

\echo '== the dashboard''s clear-then-update, in one atomic call'
SELECT user_metadata.set_user_metadata('user-1', '{"onboarding": {"step": 1}}');

\echo '== Atlas: writeCustomUserData for the current user (set by the trusted tier), then refreshCustomData'
BEGIN;
SET LOCAL user_metadata.user_id = 'atlas-user';
CALL user_metadata.write_custom_user_data('{"userId": "atlas-user", "favoriteFood": "pizza", "lastUpdated": 1700000000000}');
SELECT user_metadata.custom_user_data();
COMMIT;

\echo '== the merge itself, as a pure function'
SELECT user_metadata.jsonb_merge('{"a": 1, "b": {"x": 1}}', '{"b": {"y": 2}, "a": null}') AS root_merge,
	   user_metadata.jsonb_merge_patch('{"a": 1, "b": {"x": 1}}', '{"b": {"y": 2}, "a": null}') AS rfc7396;

\echo '== bad input gets a clear error and changes nothing'
\set ON_ERROR_STOP off
\set VERBOSITY verbose
SELECT user_metadata.update_user_metadata('user-1', '["not", "an", "object"]');
SELECT user_metadata.get_user_metadata('user-1');
