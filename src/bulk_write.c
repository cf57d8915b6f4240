/*-------------------------------------------------------------------------
 *
 * bulk_write.c
 *	  update_user_metadata_bulk, set_user_metadata_bulk and
 *	  insert_user_metadata_bulk: many users' documents written in one call.
 *
 * Each user is written by the store's own single-user statement, in the
 * order given, so every rule of the single calls holds per user (the
 * upsert's atomic merge, the table trigger's normalization and size limit,
 * the id checks) and a duplicated id is simply written twice, in order.
 * The call is one statement of the caller's transaction: any error undoes
 * the whole call.  Every argument is checked before the first write, and
 * the caller's admin scope once for the app, as the single calls do.
 *
 * src/bulk_write.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "admin_access.h"
#include "args.h"
#include "bulk_write.h"
#include "jsonb_merge.h"
#include "store.h"

#define DOCUMENTS_HINT "Pass one JSON object per user id, such as {\"theme\": \"dark\"}."

/* Where a failing write was, for the error's context */
typedef struct BulkPosition
{
	int			index;
	text	   *user_id;
} BulkPosition;

static void
bulk_error_context(void *arg)
{
	BulkPosition *pos = (BulkPosition *) arg;

	errcontext("bulk write of element %d, user \"%s\"", pos->index + 1, text_to_cstring(pos->user_id));
}

/* The elements of the jsonb[] argument argname: each a JSON object */
static Datum *
documents_arg(FunctionCallInfo fcinfo, int argno, const char *argname, int *count)
{
	ArrayType  *array;
	Datum	   *elems;
	bool	   *nulls;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"%s\" must not be null", argname),
				 errhint(DOCUMENTS_HINT)));
	array = PG_GETARG_ARRAYTYPE_P(argno);
	deconstruct_array(array, JSONBOID, -1, false, TYPALIGN_INT, &elems, &nulls, count);
	for (int i = 0; i < *count; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("argument \"%s\" must not contain nulls", argname),
					 errdetail("Element %d is null.", i + 1),
					 errhint(DOCUMENTS_HINT)));
		if (!JB_ROOT_IS_OBJECT(DatumGetJsonbP(elems[i])))
			um_not_an_object(DatumGetJsonbP(elems[i]),
							 psprintf("element %d of argument \"%s\"", i + 1, argname), DOCUMENTS_HINT);
	}
	return elems;
}

/*
 * Check the arguments (user_ids text[], documents jsonb[], app_id text),
 * then write each user with write, in order, as the function's owner;
 * returns the number of documents stored.
 */
static int64
bulk_write(FunctionCallInfo fcinfo, const char *docname, BulkWriter write)
{
	ArrayType  *id_array = um_id_array_arg(fcinfo, 0, "user_ids");
	int			ndocs;
	Datum	   *docs = documents_arg(fcinfo, 1, docname, &ndocs);
	text	   *app_id = um_id_arg(fcinfo, 2, "app_id");
	Datum	   *ids;
	int			nids;
	int64		stored = 0;
	UmOwnerSwitch sw;
	BulkPosition pos;
	ErrorContextCallback callback;
	MemoryContext per_user;
	MemoryContext caller = CurrentMemoryContext;

	deconstruct_array(id_array, TEXTOID, -1, false, TYPALIGN_INT, &ids, NULL, &nids);
	if (nids != ndocs)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("arguments \"user_ids\" and \"%s\" must have the same length", docname),
				 errdetail("user_ids has %d elements, %s has %d.", nids, docname, ndocs),
				 errhint("Give one document per user id, in the same order.")));

	um_admin_begin(fcinfo, app_id, &sw);
	callback.callback = bulk_error_context;
	callback.arg = &pos;
	callback.previous = error_context_stack;
	error_context_stack = &callback;
	/* a write's result is not needed: free it before the next one */
	per_user = AllocSetContextCreate(caller, "bulk write", ALLOCSET_DEFAULT_SIZES);
	for (int i = 0; i < nids; i++)
	{
		pos.index = i;
		pos.user_id = DatumGetTextPP(ids[i]);
		MemoryContextSwitchTo(per_user);
		if (write(app_id, pos.user_id, DatumGetJsonbP(docs[i])))
			stored++;
		MemoryContextSwitchTo(caller);
		MemoryContextReset(per_user);
	}
	MemoryContextDelete(per_user);
	error_context_stack = callback.previous;
	um_admin_end(&sw);
	return stored;
}

static bool
write_update(text *app_id, text *user_id, Jsonb *patch)
{
	um_store_update(app_id, user_id, patch);
	return true;
}

static bool
write_set(text *app_id, text *user_id, Jsonb *document)
{
	um_store_set(app_id, user_id, document);
	return true;
}

/*
 * update_user_metadata_bulk(user_ids text[], patches jsonb[],
 *							 app_id text DEFAULT 'public') RETURNS bigint
 */
PG_FUNCTION_INFO_V1(update_user_metadata_bulk);
Datum
update_user_metadata_bulk(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(bulk_write(fcinfo, "patches", write_update));
}

/*
 * set_user_metadata_bulk(user_ids text[], documents jsonb[],
 *						  app_id text DEFAULT 'public') RETURNS bigint
 */
PG_FUNCTION_INFO_V1(set_user_metadata_bulk);
Datum
set_user_metadata_bulk(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(bulk_write(fcinfo, "documents", write_set));
}

/*
 * insert_user_metadata_bulk(user_ids text[], documents jsonb[],
 *							 app_id text DEFAULT 'public') RETURNS bigint
 */
PG_FUNCTION_INFO_V1(insert_user_metadata_bulk);
Datum
insert_user_metadata_bulk(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(bulk_write(fcinfo, "documents", um_store_insert));
}
