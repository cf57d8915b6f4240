/*-------------------------------------------------------------------------
 *
 * args.h
 *	  Argument checks shared by the SQL-callable functions.
 *
 * src/args.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARGS_H
#define ARGS_H

#include "fmgr.h"
#include "utils/array.h"
#include "utils/jsonb.h"

#include "pg_compat.h"

/* 22004 for a NULL user or app id */
pg_noreturn extern void um_null_id(const char *argname);

/* A user or app id: 22004 for SQL NULL, 22023 when empty */
extern text *um_id_arg(FunctionCallInfo fcinfo, int argno, const char *argname);

/* A document or patch: 22004 for SQL NULL, 22023 unless a JSON object */
extern Jsonb *um_object_arg(FunctionCallInfo fcinfo, int argno, const char *argname);

/* The patch {key: null} removing the root key named by argument argno: 22004 for SQL NULL */
extern Jsonb *um_key_removal_arg(FunctionCallInfo fcinfo, int argno, const char *argname);

/* 2202E unless array, the argument argname, has at most one dimension */
extern void um_one_dimension(ArrayType *array, const char *argname);

/* An array of ids (one dimension, else 2202E): 22004 for SQL NULL or a null element, 22023 for an empty one */
extern ArrayType *um_id_array_arg(FunctionCallInfo fcinfo, int argno, const char *argname);

/* Whether two ids are the same bytes (a collation's equality may be wider) */
static inline bool
um_same_id(const text *a, const text *b)
{
	return VARSIZE_ANY_EXHDR(a) == VARSIZE_ANY_EXHDR(b) &&
		memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) == 0;
}

#endif							/* ARGS_H */
