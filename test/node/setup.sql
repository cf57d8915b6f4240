-- test/node/setup.sql: what the Node.js example and its test need, run by
-- test/suites/node.sh and test/node/run-example as a superuser:
--   psql -v db=DATABASE -v role=CLIENT_ROLE -d postgres -f test/node/setup.sql
-- A new database with the extension and change notifications on, and a login
-- role with the README's client privileges.
\set ON_ERROR_STOP 1
CREATE DATABASE :"db";
CREATE ROLE :"role" LOGIN;
ALTER DATABASE :"db" SET user_metadata.notify = on;
\c :"db"
CREATE EXTENSION user_metadata;
GRANT SELECT, INSERT, UPDATE, DELETE ON user_metadata.user_metadata TO :"role";
GRANT EXECUTE ON FUNCTION user_metadata.custom_user_data() TO :"role";
GRANT EXECUTE ON PROCEDURE user_metadata.write_custom_user_data(jsonb, jsonb) TO :"role";
