/*-------------------------------------------------------------------------
 *
 * bulk_write.c
 *	  update_user_metadata_bulk, set_user_metadata_bulk and
 *	  insert_user_metadata_bulk: many users' documents written in one call.
 *
 * Each user gets the single call's upsert, so every rule of the single
 * calls holds per user (the atomic merge, the table trigger's normalization
 * and size limit, the id checks).  Whole documents (set, insert) go in one
 * INSERT ... SELECT for all users, which writes them in the order given;
 * patches, and documents whose ids repeat, go through the single-user
 * statement once per user, in order.  The call is one statement of the
 * caller's transaction: any error undoes the whole call.  Every argument is
 * checked before the first write, and the caller's admin scope once for the
 * app, as the single calls do.
 *
 * src/store/bulk_write.c
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

#include "auth/admin_access.h"
#include "args.h"
#include "store/bulk_write.h"
#include "merge/jsonb_merge.h"
#include "store/store.h"

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

/* The elements of the jsonb[] argument argname (in *array): JSON objects */
static Datum *
documents_arg(FunctionCallInfo fcinfo, int argno, const char *argname, int *count, ArrayType **array)
{
	Datum	   *elems;
	bool	   *nulls;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"%s\" must not be null", argname),
				 errhint(DOCUMENTS_HINT)));
	*array = PG_GETARG_ARRAYTYPE_P(argno);
	um_one_dimension(*array, argname);
	deconstruct_array(*array, JSONBOID, -1, false, TYPALIGN_INT, &elems, &nulls, count);
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

static int
compare_ids(const void *a, const void *b)
{
	text	   *x = *(text *const *) a;
	text	   *y = *(text *const *) b;
	int			xlen = VARSIZE_ANY_EXHDR(x);
	int			ylen = VARSIZE_ANY_EXHDR(y);
	int			cmp = memcmp(VARDATA_ANY(x), VARDATA_ANY(y), Min(xlen, ylen));

	return cmp != 0 ? cmp : xlen - ylen;
}

/* Whether an id occurs twice among the count ids */
static bool
has_duplicates(Datum *ids, int count)
{
	text	  **sorted = palloc(sizeof(text *) * Max(count, 1));

	for (int i = 0; i < count; i++)
		sorted[i] = DatumGetTextPP(ids[i]);
	qsort(sorted, count, sizeof(text *), compare_ids);
	for (int i = 1; i < count; i++)
		if (compare_ids(&sorted[i - 1], &sorted[i]) == 0)
			return true;
	return false;
}

/*
 * The arguments (user_ids text[], documents jsonb[], app_id text) checked,
 * before any write.
 */
typedef struct BulkArgs
{
	ArrayType  *id_array;
	ArrayType  *doc_array;
	Datum	   *ids;
	Datum	   *docs;
	int			count;
	text	   *app_id;
} BulkArgs;

static void
bulk_args(FunctionCallInfo fcinfo, const char *docname, BulkArgs *args)
{
	int			ndocs;

	args->id_array = um_id_array_arg(fcinfo, 0, "user_ids");
	args->docs = documents_arg(fcinfo, 1, docname, &ndocs, &args->doc_array);
	args->app_id = um_id_arg(fcinfo, 2, "app_id");
	deconstruct_array(args->id_array, TEXTOID, -1, false, TYPALIGN_INT, &args->ids, NULL, &args->count);
	if (args->count != ndocs)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("arguments \"user_ids\" and \"%s\" must have the same length", docname),
				 errdetail("user_ids has %d elements, %s has %d.", args->count, docname, ndocs),
				 errhint("Give one document per user id, in the same order.")));
}

/* Write each user with write, in order; returns the number of writes */
static int64
write_each(BulkArgs *args, BulkWriter write)
{
	BulkPosition pos;
	ErrorContextCallback callback;
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext per_user = AllocSetContextCreate(caller, "bulk write", ALLOCSET_DEFAULT_SIZES);

	callback.callback = bulk_error_context;
	callback.arg = &pos;
	callback.previous = error_context_stack;
	error_context_stack = &callback;
	for (int i = 0; i < args->count; i++)
	{
		pos.index = i;
		pos.user_id = DatumGetTextPP(args->ids[i]);
		/* a write's result is not needed: free it before the next one */
		MemoryContextSwitchTo(per_user);
		write(args->app_id, pos.user_id, DatumGetJsonbP(args->docs[i]));
		MemoryContextSwitchTo(caller);
		MemoryContextReset(per_user);
	}
	error_context_stack = callback.previous;
	MemoryContextDelete(per_user);
	return args->count;
}

/* A set-based write must store every row: a trigger that skips one is an error */
static void
require_all_stored(BulkArgs *args, uint64 stored)
{
	if (stored != (uint64) args->count)
		ereport(ERROR,
				(errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
				 errmsg("a user metadata write was skipped by a trigger"),
				 errdetail("A BEFORE trigger on user_metadata.user_metadata returned NULL for %lld of %d users of app \"%s\".",
						   (long long) args->count - (long long) stored, args->count, text_to_cstring(args->app_id)),
				 errhint("Triggers on user_metadata.user_metadata must not skip rows; raise an error to refuse a write.")));
}

static Jsonb *
write_update(text *app_id, text *user_id, Jsonb *patch)
{
	return um_store_update(app_id, user_id, patch);
}

/* update_user_metadata_bulk's work, with the owner's rights */
static Datum
update_as_owner(FunctionCallInfo fcinfo, void *arg)
{
	return Int64GetDatum(write_each(arg, write_update));
}

/* set_user_metadata_bulk's work, with the owner's rights */
static Datum
set_as_owner(FunctionCallInfo fcinfo, void *arg)
{
	BulkArgs   *args = arg;
	uint64		written;

	if (has_duplicates(args->ids, args->count))
		return Int64GetDatum(write_each(args, um_store_set));
	written = um_store_set_many(args->app_id, args->id_array, args->doc_array);
	require_all_stored(args, written);
	return Int64GetDatum((int64) written);
}

/* insert_user_metadata_bulk's work, with the owner's rights */
static Datum
insert_as_owner(FunctionCallInfo fcinfo, void *arg)
{
	BulkArgs   *args = arg;

	return Int64GetDatum((int64) um_store_insert_many(args->app_id, args->id_array, args->doc_array));
}

/*
 * update_user_metadata_bulk(user_ids text[], patches jsonb[],
 *							 app_id text DEFAULT 'public') RETURNS bigint
 *
 * One upsert per user: a merge needs the patch's root nulls, which the
 * table's BEFORE trigger removes from an INSERT's excluded row.
 */
PG_FUNCTION_INFO_V1(update_user_metadata_bulk);
Datum
update_user_metadata_bulk(PG_FUNCTION_ARGS)
{
	BulkArgs	args;

	bulk_args(fcinfo, "patches", &args);
	return um_admin_call(fcinfo, args.app_id, update_as_owner, &args);
}

/*
 * set_user_metadata_bulk(user_ids text[], documents jsonb[],
 *						  app_id text DEFAULT 'public') RETURNS bigint
 *
 * One statement for all users; one per user, in order, when an id repeats
 * (an upsert cannot change a row twice).
 */
PG_FUNCTION_INFO_V1(set_user_metadata_bulk);
Datum
set_user_metadata_bulk(PG_FUNCTION_ARGS)
{
	BulkArgs	args;

	bulk_args(fcinfo, "documents", &args);
	return um_admin_call(fcinfo, args.app_id, set_as_owner, &args);
}

/*
 * insert_user_metadata_bulk(user_ids text[], documents jsonb[],
 *							 app_id text DEFAULT 'public') RETURNS bigint
 *
 * Stores each document whose user has none; returns how many it stored.
 */
PG_FUNCTION_INFO_V1(insert_user_metadata_bulk);
Datum
insert_user_metadata_bulk(PG_FUNCTION_ARGS)
{
	BulkArgs	args;

	bulk_args(fcinfo, "documents", &args);
	return um_admin_call(fcinfo, args.app_id, insert_as_owner, &args);
}
