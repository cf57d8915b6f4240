/*-------------------------------------------------------------------------
 *
 * jsonb_merge.h
 *	  Root-level (SuperTokens) and RFC 7396 merges of jsonb objects.
 *
 * src/jsonb_merge.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef JSONB_MERGE_H
#define JSONB_MERGE_H

#include "utils/jsonb.h"

/*
 * Merge patch into stored at the root and drop root nulls.  Either may be
 * NULL (SQL NULL); a stored JSON null counts as {}.  Returns stored or patch
 * itself when the result equals it, otherwise a new palloc'd value.
 */
extern Jsonb *merge_root(Jsonb *stored, Jsonb *patch);

/* Raise 22023 unless jb, the argument argname, is a JSON object */
extern void require_json_object(const Jsonb *jb, const char *argname);

/* "object", "array", "string", "number", "boolean" or "null" */
extern const char *json_type_name(const Jsonb *jb);

#endif							/* JSONB_MERGE_H */
