/*-------------------------------------------------------------------------
 *
 * jsonb_merge.h
 *	  Root-level (SuperTokens) and RFC 7396 merges of jsonb objects.
 *
 * src/merge/jsonb_merge.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef JSONB_MERGE_H
#define JSONB_MERGE_H

#include "utils/jsonb.h"

#include "pg_compat.h"

/* A JSON null at the root */
static inline bool
um_is_json_null(const Jsonb *jb)
{
	return JB_ROOT_IS_SCALAR(jb) &&
		(jb->root.children[0] & JENTRY_TYPEMASK) == JENTRY_ISNULL;
}

/*
 * Merge patch into stored at the root and drop root nulls.  Either may be
 * NULL (SQL NULL); a stored JSON null counts as {}.  Returns stored or patch
 * itself when the result equals it, otherwise a new palloc'd value.  Raises
 * 22023 naming argument "stored" or "patch" for a non-object: callers that
 * check their own inputs first name them better.
 */
extern Jsonb *um_merge_root(Jsonb *stored, Jsonb *patch);

/*
 * Raise 22023: jb, described by what (such as: argument "patch"), is not a
 * JSON object; the detail gives its JSON type.
 */
pg_noreturn extern void um_not_an_object(const Jsonb *jb, const char *what, const char *hint);

#endif							/* JSONB_MERGE_H */
