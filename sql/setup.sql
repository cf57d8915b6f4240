--
-- setup: the extension and the helpers the other regression files share.
--
-- IF NOT EXISTS: test/suites/upgrade.sh runs these files in a database whose
-- extension was created at an older version and updated
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS user_metadata;
RESET client_min_messages;
-- jsonb and bytea are both plain varlenas: this cast exposes a value's bytes
CREATE CAST (jsonb AS bytea) WITHOUT FUNCTION;
-- true when a value's bytes are exactly those PostgreSQL builds from its text
CREATE FUNCTION canonical(j jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$ SELECT j::bytea = (j::text)::jsonb::bytea $$;
-- the root-level merge written in plain SQL, the reference for jsonb_merge
CREATE FUNCTION reference_merge(stored jsonb, patch jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
	SELECT coalesce(jsonb_object_agg(key, value), '{}')
	FROM jsonb_each(coalesce(nullif(stored, 'null'), '{}') || coalesce(patch, '{}'))
	WHERE jsonb_typeof(value) <> 'null'
$$;
-- an object of n keys k1..kn whose values are produced by f(i)
CREATE FUNCTION wide(n int, prefix text DEFAULT 'k', val text DEFAULT 'i') RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE r jsonb;
BEGIN
	EXECUTE format('SELECT coalesce(jsonb_object_agg(%L || i, %s), ''{}'') FROM generate_series(1, $1) i',
				   prefix, val) INTO r USING n;
	RETURN r;
END $$;
