/*-------------------------------------------------------------------------
 *
 * store.h
 *	  The per-user metadata table: reads and atomic merging writes.
 *
 * src/store.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef STORE_H
#define STORE_H

#include "fmgr.h"
#include "utils/jsonb.h"

/* Columns of user_metadata.user_metadata */
#define ATTNUM_APP_ID 1
#define ATTNUM_USER_ID 2
#define ATTNUM_METADATA 3

/* The stored document of one user, or {} when there is none */
extern Jsonb *store_get(text *app_id, text *user_id);

/*
 * Merge patch, a JSON object, into one user's document and return the
 * result; raises 54000 when it exceeds user_metadata.max_document_bytes.
 */
extern Jsonb *store_update(text *app_id, text *user_id, Jsonb *patch);

/* Argument checks: 22004 for SQL NULL, 22023 for a non-object */
extern void require_not_null(FunctionCallInfo fcinfo, int argno, const char *argname);
extern Jsonb *object_arg(FunctionCallInfo fcinfo, int argno, const char *argname);

#endif							/* STORE_H */
