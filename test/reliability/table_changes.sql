-- test/reliability/table_changes.sql: changes a DBA may make to
-- user_metadata.user_metadata and its neighbours, for
-- test/suites/table_changes.sh.
--
-- An entry starts at a line "--! NAME"; its SQL runs as a superuser in a
-- fresh copy of the suite's database (psql variable db names it), then every
-- call of test/reliability/table_calls.sql runs against the changed table.
-- "--! NAME [hold]" also has another session hold an ACCESS EXCLUSIVE lock
-- on the table while the calls run.

--! no change (the calls' own baseline)
SELECT 1;

--! BEFORE trigger (fired first) sets created_at to NULL
CREATE FUNCTION public.tc_f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.created_at := NULL; RETURN NEW; END $$;
CREATE TRIGGER a_tc BEFORE INSERT OR UPDATE ON user_metadata.user_metadata FOR EACH ROW EXECUTE FUNCTION public.tc_f();

--! BEFORE trigger (fired last) sets created_at to NULL
CREATE FUNCTION public.tc_f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.created_at := NULL; RETURN NEW; END $$;
CREATE TRIGGER z_tc BEFORE INSERT OR UPDATE ON user_metadata.user_metadata FOR EACH ROW EXECUTE FUNCTION public.tc_f();

--! BEFORE trigger (fired last) sets updated_at to NULL
CREATE FUNCTION public.tc_f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := NULL; RETURN NEW; END $$;
CREATE TRIGGER z_tc BEFORE INSERT OR UPDATE ON user_metadata.user_metadata FOR EACH ROW EXECUTE FUNCTION public.tc_f();

--! BEFORE trigger (fired first) sets metadata to NULL
CREATE FUNCTION public.tc_f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.metadata := NULL; RETURN NEW; END $$;
CREATE TRIGGER a_tc BEFORE INSERT OR UPDATE ON user_metadata.user_metadata FOR EACH ROW EXECUTE FUNCTION public.tc_f();

--! BEFORE trigger (fired last) sets metadata to NULL
CREATE FUNCTION public.tc_f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.metadata := NULL; RETURN NEW; END $$;
CREATE TRIGGER z_tc BEFORE INSERT OR UPDATE ON user_metadata.user_metadata FOR EACH ROW EXECUTE FUNCTION public.tc_f();

--! BEFORE trigger (fired last) sets metadata to an array
CREATE FUNCTION public.tc_f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.metadata := '[1, 2]'; RETURN NEW; END $$;
CREATE TRIGGER z_tc BEFORE INSERT OR UPDATE ON user_metadata.user_metadata FOR EACH ROW EXECUTE FUNCTION public.tc_f();

--! BEFORE trigger (fired first) sets metadata to a string
CREATE FUNCTION public.tc_f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.metadata := '"text"'; RETURN NEW; END $$;
CREATE TRIGGER a_tc BEFORE INSERT OR UPDATE ON user_metadata.user_metadata FOR EACH ROW EXECUTE FUNCTION public.tc_f();

--! BEFORE trigger (fired last) adds a root null to metadata
CREATE FUNCTION public.tc_f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.metadata := NEW.metadata || '{"n": null}'; RETURN NEW; END $$;
CREATE TRIGGER z_tc BEFORE INSERT OR UPDATE ON user_metadata.user_metadata FOR EACH ROW EXECUTE FUNCTION public.tc_f();

--! BEFORE trigger sets user_id to NULL
CREATE FUNCTION public.tc_f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.user_id := NULL; RETURN NEW; END $$;
CREATE TRIGGER a_tc BEFORE INSERT OR UPDATE ON user_metadata.user_metadata FOR EACH ROW EXECUTE FUNCTION public.tc_f();

--! BEFORE trigger sets user_id to another type's value
CREATE FUNCTION public.tc_f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.user_id := 42; RETURN NEW; END $$;
CREATE TRIGGER a_tc BEFORE INSERT OR UPDATE ON user_metadata.user_metadata FOR EACH ROW EXECUTE FUNCTION public.tc_f();

--! BEFORE trigger moves the row to another user
CREATE FUNCTION public.tc_f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.user_id := 'moved_' || NEW.user_id; RETURN NEW; END $$;
CREATE TRIGGER a_tc BEFORE INSERT OR UPDATE ON user_metadata.user_metadata FOR EACH ROW EXECUTE FUNCTION public.tc_f();

--! BEFORE trigger moves the row to another app
CREATE FUNCTION public.tc_f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.app_id := 'elsewhere'; RETURN NEW; END $$;
CREATE TRIGGER a_tc BEFORE INSERT OR UPDATE ON user_metadata.user_metadata FOR EACH ROW EXECUTE FUNCTION public.tc_f();

--! BEFORE trigger returns a different row
CREATE FUNCTION public.tc_f() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RETURN ROW('public', 'other', '{"other": true}', now(), now())::user_metadata.user_metadata;
END $$;
CREATE TRIGGER a_tc BEFORE INSERT OR UPDATE ON user_metadata.user_metadata FOR EACH ROW EXECUTE FUNCTION public.tc_f();

--! BEFORE UPDATE trigger returns OLD
CREATE FUNCTION public.tc_f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$;
CREATE TRIGGER z_tc BEFORE UPDATE ON user_metadata.user_metadata FOR EACH ROW EXECUTE FUNCTION public.tc_f();

--! BEFORE trigger returns NULL
CREATE FUNCTION public.tc_f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER a_tc BEFORE INSERT OR UPDATE OR DELETE ON user_metadata.user_metadata FOR EACH ROW EXECUTE FUNCTION public.tc_f();

--! BEFORE trigger raises
CREATE FUNCTION public.tc_f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the DBA'; END $$;
CREATE TRIGGER a_tc BEFORE INSERT OR UPDATE OR DELETE ON user_metadata.user_metadata FOR EACH ROW EXECUTE FUNCTION public.tc_f();

--! AFTER trigger raises
CREATE FUNCTION public.tc_f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused after the fact' USING ERRCODE = 'check_violation'; END $$;
CREATE TRIGGER a_tc AFTER INSERT OR UPDATE OR DELETE ON user_metadata.user_metadata FOR EACH ROW EXECUTE FUNCTION public.tc_f();

--! a column added
ALTER TABLE user_metadata.user_metadata ADD COLUMN note text;

--! a NOT NULL column added with a default, before the others in a rewrite
ALTER TABLE user_metadata.user_metadata ADD COLUMN tenant int NOT NULL DEFAULT 7;

--! a NOT NULL column added without a default on an empty table
DELETE FROM user_metadata.user_metadata;
ALTER TABLE user_metadata.user_metadata ADD COLUMN required int NOT NULL;

--! created_at dropped and added again (attnums move)
ALTER TABLE user_metadata.user_metadata DROP COLUMN created_at;
ALTER TABLE user_metadata.user_metadata ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();

--! updated_at dropped and added again (attnums move)
ALTER TABLE user_metadata.user_metadata DROP COLUMN updated_at;
ALTER TABLE user_metadata.user_metadata ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

--! updated_at dropped and added again NOT NULL without a default
ALTER TABLE user_metadata.user_metadata DROP COLUMN updated_at;
ALTER TABLE user_metadata.user_metadata ADD COLUMN updated_at timestamptz;
UPDATE user_metadata.user_metadata SET updated_at = now();
ALTER TABLE user_metadata.user_metadata ALTER COLUMN updated_at SET NOT NULL;

--! metadata dropped and added again (attnums move)
ALTER TABLE user_metadata.user_metadata DROP COLUMN metadata;
ALTER TABLE user_metadata.user_metadata ADD COLUMN metadata jsonb NOT NULL DEFAULT '{"k": 1}';

--! user_id dropped and added again (attnums move, primary key gone)
ALTER TABLE user_metadata.user_metadata DROP COLUMN user_id CASCADE;
ALTER TABLE user_metadata.user_metadata ADD COLUMN user_id text;
UPDATE user_metadata.user_metadata t SET user_id = v.id
FROM (SELECT ctid AS c, 'u' || row_number() OVER (ORDER BY ctid) AS id FROM user_metadata.user_metadata) v
WHERE t.ctid = v.c;

--! user_id and app_id dropped and added again with a new primary key
ALTER TABLE user_metadata.user_metadata DROP COLUMN user_id CASCADE;
ALTER TABLE user_metadata.user_metadata DROP COLUMN app_id CASCADE;
DELETE FROM user_metadata.user_metadata;
ALTER TABLE user_metadata.user_metadata ADD COLUMN app_id text NOT NULL DEFAULT 'public';
ALTER TABLE user_metadata.user_metadata ADD COLUMN user_id text NOT NULL;
ALTER TABLE user_metadata.user_metadata ADD PRIMARY KEY (app_id, user_id);

--! all columns dropped but one, added again in another order
DELETE FROM user_metadata.user_metadata;
ALTER TABLE user_metadata.user_metadata DROP COLUMN updated_at, DROP COLUMN created_at, DROP COLUMN metadata;
ALTER TABLE user_metadata.user_metadata DROP COLUMN user_id CASCADE;
ALTER TABLE user_metadata.user_metadata ADD COLUMN updated_at timestamptz, ADD COLUMN metadata jsonb NOT NULL,
	ADD COLUMN created_at timestamptz, ADD COLUMN user_id text NOT NULL;
ALTER TABLE user_metadata.user_metadata ADD PRIMARY KEY (app_id, user_id);

--! metadata renamed
ALTER TABLE user_metadata.user_metadata RENAME COLUMN metadata TO document;

--! updated_at renamed
ALTER TABLE user_metadata.user_metadata RENAME COLUMN updated_at TO modified_at;

--! created_at and updated_at swapped by renaming
ALTER TABLE user_metadata.user_metadata RENAME COLUMN created_at TO tmp;
ALTER TABLE user_metadata.user_metadata RENAME COLUMN updated_at TO created_at;
ALTER TABLE user_metadata.user_metadata RENAME COLUMN tmp TO updated_at;

--! metadata and user_id swapped by renaming
DROP POLICY current_user_only ON user_metadata.user_metadata;
DROP INDEX user_metadata.user_metadata_metadata_idx;
ALTER TABLE user_metadata.user_metadata DROP CONSTRAINT user_metadata_ids_valid;
ALTER TABLE user_metadata.user_metadata DROP CONSTRAINT user_metadata_metadata_is_object;
ALTER TABLE user_metadata.user_metadata ALTER COLUMN user_id TYPE jsonb USING to_jsonb(user_id);
ALTER TABLE user_metadata.user_metadata ALTER COLUMN metadata TYPE text;
ALTER TABLE user_metadata.user_metadata RENAME COLUMN user_id TO tmp;
ALTER TABLE user_metadata.user_metadata RENAME COLUMN metadata TO user_id;
ALTER TABLE user_metadata.user_metadata RENAME COLUMN tmp TO metadata;

--! defaults dropped
ALTER TABLE user_metadata.user_metadata ALTER COLUMN app_id DROP DEFAULT,
	ALTER COLUMN created_at DROP DEFAULT, ALTER COLUMN updated_at DROP DEFAULT;

--! NOT NULL dropped
ALTER TABLE user_metadata.user_metadata ALTER COLUMN metadata DROP NOT NULL,
	ALTER COLUMN created_at DROP NOT NULL, ALTER COLUMN updated_at DROP NOT NULL;

--! metadata becomes json
ALTER TABLE user_metadata.user_metadata DROP CONSTRAINT user_metadata_metadata_is_object;
DROP INDEX user_metadata.user_metadata_metadata_idx;
ALTER TABLE user_metadata.user_metadata ALTER COLUMN metadata TYPE json USING metadata::json;

--! metadata becomes text
ALTER TABLE user_metadata.user_metadata DROP CONSTRAINT user_metadata_metadata_is_object;
DROP INDEX user_metadata.user_metadata_metadata_idx;
ALTER TABLE user_metadata.user_metadata ALTER COLUMN metadata TYPE text USING metadata::text;

--! metadata becomes jsonb[]
ALTER TABLE user_metadata.user_metadata DROP CONSTRAINT user_metadata_metadata_is_object;
DROP INDEX user_metadata.user_metadata_metadata_idx;
ALTER TABLE user_metadata.user_metadata ALTER COLUMN metadata TYPE jsonb[] USING ARRAY[metadata];

--! created_at becomes timestamp without time zone
ALTER TABLE user_metadata.user_metadata ALTER COLUMN created_at TYPE timestamp;

--! updated_at becomes text
ALTER TABLE user_metadata.user_metadata ALTER COLUMN updated_at TYPE text;

--! updated_at becomes bigint
ALTER TABLE user_metadata.user_metadata ALTER COLUMN updated_at DROP DEFAULT;
ALTER TABLE user_metadata.user_metadata ALTER COLUMN updated_at TYPE bigint USING extract(epoch FROM updated_at)::bigint;

--! user_id becomes varchar(8)
DROP POLICY current_user_only ON user_metadata.user_metadata;
ALTER TABLE user_metadata.user_metadata ALTER COLUMN user_id TYPE varchar(8);

--! user_id becomes bytea
DROP POLICY current_user_only ON user_metadata.user_metadata;
ALTER TABLE user_metadata.user_metadata DROP CONSTRAINT user_metadata_ids_valid;
ALTER TABLE user_metadata.user_metadata ALTER COLUMN user_id TYPE bytea USING convert_to(user_id, 'UTF8');

--! app_id becomes name
DROP POLICY current_user_only ON user_metadata.user_metadata;
ALTER TABLE user_metadata.user_metadata DROP CONSTRAINT user_metadata_ids_valid;
ALTER TABLE user_metadata.user_metadata ALTER COLUMN app_id TYPE name;

--! a CHECK constraint that every write breaks
ALTER TABLE user_metadata.user_metadata ADD CONSTRAINT tc_never CHECK (metadata ? 'never') NOT VALID;

--! a unique index on a key of the document
CREATE UNIQUE INDEX tc_unique_s ON user_metadata.user_metadata ((metadata ->> 'b'));

--! a restrictive policy that denies every row, FORCE ROW LEVEL SECURITY
CREATE POLICY tc_deny ON user_metadata.user_metadata AS RESTRICTIVE USING (false) WITH CHECK (false);
ALTER TABLE user_metadata.user_metadata FORCE ROW LEVEL SECURITY;

--! FORCE ROW LEVEL SECURITY, the table owned by another role
ALTER TABLE user_metadata.user_metadata OWNER TO um_tc_owner;
ALTER TABLE user_metadata.user_metadata FORCE ROW LEVEL SECURITY;

--! a permissive policy for everyone
CREATE POLICY tc_all ON user_metadata.user_metadata USING (true) WITH CHECK (true);

--! row-level security disabled
ALTER TABLE user_metadata.user_metadata DISABLE ROW LEVEL SECURITY;

--! a rule: INSERT does nothing instead
CREATE RULE tc_rule AS ON INSERT TO user_metadata.user_metadata DO INSTEAD NOTHING;

--! a rule: UPDATE does nothing instead
CREATE RULE tc_rule AS ON UPDATE TO user_metadata.user_metadata DO INSTEAD NOTHING;

--! a rule: DELETE also writes a log
CREATE TABLE public.tc_log (user_id text, at timestamptz DEFAULT now());
CREATE RULE tc_rule AS ON DELETE TO user_metadata.user_metadata DO ALSO INSERT INTO public.tc_log (user_id) VALUES (OLD.user_id);

--! session_replication_role = replica for the database
ALTER DATABASE :"db" SET session_replication_role = replica;

--! the table's triggers disabled
ALTER TABLE user_metadata.user_metadata DISABLE TRIGGER USER;

--! normalize_document disabled, a trigger of the DBA's always fires
ALTER TABLE user_metadata.user_metadata DISABLE TRIGGER normalize_document;
CREATE FUNCTION public.tc_f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := NULL; RETURN NEW; END $$;
CREATE TRIGGER z_tc BEFORE INSERT OR UPDATE ON user_metadata.user_metadata FOR EACH ROW EXECUTE FUNCTION public.tc_f();
ALTER TABLE user_metadata.user_metadata ENABLE ALWAYS TRIGGER z_tc;

--! the table owned by another role
ALTER TABLE user_metadata.user_metadata OWNER TO um_tc_owner;

--! privileges revoked from the client role
REVOKE ALL ON user_metadata.user_metadata FROM um_tc_client;

--! a generated column added
ALTER TABLE user_metadata.user_metadata ADD COLUMN theme text GENERATED ALWAYS AS (metadata ->> 'theme') STORED;

--! metadata stored out of line, uncompressed
ALTER TABLE user_metadata.user_metadata ALTER COLUMN metadata SET STORAGE EXTERNAL;

--! the table renamed and a view put in its place
ALTER TABLE user_metadata.user_metadata RENAME TO user_metadata_old;
CREATE VIEW user_metadata.user_metadata AS SELECT * FROM user_metadata.user_metadata_old;

--! lock_timeout while another session holds the table [hold]
ALTER DATABASE :"db" SET lock_timeout = '200ms';

--! statement_timeout hit in a slow trigger
CREATE FUNCTION public.tc_f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(2); RETURN NEW; END $$;
CREATE TRIGGER a_tc BEFORE INSERT OR UPDATE ON user_metadata.user_metadata FOR EACH ROW EXECUTE FUNCTION public.tc_f();
ALTER DATABASE :"db" SET statement_timeout = '200ms';

--! max_document_bytes lowered below the stored documents
ALTER DATABASE :"db" SET user_metadata.max_document_bytes = 8;

--! admin_scopes: role becomes oid
ALTER TABLE user_metadata.admin_scopes ALTER COLUMN role TYPE oid;

--! admin_scopes: app_id dropped and added again (attnums move)
ALTER TABLE user_metadata.admin_scopes DROP COLUMN app_id CASCADE;
ALTER TABLE user_metadata.admin_scopes ADD COLUMN app_id text;
INSERT INTO user_metadata.admin_scopes (role, app_id) VALUES ('um_tc_admin', 'public');

--! admin_scopes: a scope for the admin role in another app only
INSERT INTO user_metadata.admin_scopes VALUES ('um_tc_admin', 'elsewhere');
