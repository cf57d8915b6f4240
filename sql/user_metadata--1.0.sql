/* user_metadata--1.0.sql: merge functions and the per-user store */

\echo Use "CREATE EXTENSION user_metadata" to load this file. \quit

CREATE FUNCTION user_metadata.jsonb_merge(stored jsonb, patch jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'jsonb_merge'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION user_metadata.jsonb_merge(jsonb, jsonb) IS
'root-level merge: each root key of patch replaces the stored one, root nulls are removed';

CREATE FUNCTION user_metadata.jsonb_merge_patch(target jsonb, patch jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'jsonb_merge_patch'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION user_metadata.jsonb_merge_patch(jsonb, jsonb) IS
'RFC 7396 JSON Merge Patch: objects merge recursively, a null removes the key at any depth';
