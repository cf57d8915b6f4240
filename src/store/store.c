/*-------------------------------------------------------------------------
 *
 * store.c
 *	  The per-user metadata table user_metadata.user_metadata: the admin
 *	  API's reads and atomic writes, each one prepared statement planned
 *	  once per backend.
 *
 * A write is a single INSERT ... ON CONFLICT DO UPDATE whose SET clause runs
 * jsonb_merge on the row it has locked, so concurrent writers of one user,
 * including the very first insert, each merge into the latest committed
 * document: no read-lock-write round trip, no retry loop, no lost update.
 * Everything runs inside the caller's transaction.  The table's trigger
 * (document_trigger.c) holds every write to the document rules and sets
 * the timestamps, so the statements pass the caller's document as it is.
 * Every statement is schema-qualified and typed, and runs with pg_catalog
 * (then pg_temp) as the search path, which the SQL functions declare
 * (the admin API through run_as_owner, admin_access.c).  A write that does
 * not store exactly the rows asked for (a trigger a DBA added returned NULL, or moved
 * a row to another user) is an error.
 *
 * src/store/store.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "auth/admin_access.h"
#include "args.h"
#include "merge/jsonb_merge.h"
#include "store/history.h"
#include "store/statement.h"
#include "store/store.h"
#include "store/store_table.h"

typedef enum StoreStatement
{
	STMT_GET,
	STMT_UPDATE,
	STMT_SET,
	STMT_SET_BULK,
	STMT_INSERT_BULK,
	STMT_CLEAR,
	STMT_GET_BULK,
	STMT_FIND,
	NUM_STATEMENTS
} StoreStatement;

/* Every statement takes the app id as $1 */
static const StatementDef statements[NUM_STATEMENTS] = {
	[STMT_GET] = {
		"SELECT metadata FROM user_metadata.user_metadata"
		" WHERE app_id OPERATOR(pg_catalog.=) $1 AND user_id OPERATOR(pg_catalog.=) $2",
		2, {TEXTOID, TEXTOID}, SPI_OK_SELECT, 1, {JSONBOID}
	},
	/* the single writes return the row's ids: a trigger may have moved it */
	[STMT_UPDATE] = {
		"INSERT INTO user_metadata.user_metadata AS t (app_id, user_id, metadata)"
		" VALUES ($1, $2, $3)"
		" ON CONFLICT (app_id, user_id) DO UPDATE"
		" SET metadata = user_metadata.jsonb_merge(t.metadata, $3)"
		" RETURNING app_id, user_id, metadata",
		3, {TEXTOID, TEXTOID, JSONBOID}, SPI_OK_INSERT_RETURNING, 3, {TEXTOID, TEXTOID, JSONBOID}
	},
	[STMT_SET] = {
		"INSERT INTO user_metadata.user_metadata AS t (app_id, user_id, metadata)"
		" VALUES ($1, $2, $3)"
		" ON CONFLICT (app_id, user_id) DO UPDATE"
		" SET metadata = excluded.metadata"
		" RETURNING app_id, user_id, metadata",
		3, {TEXTOID, TEXTOID, JSONBOID}, SPI_OK_INSERT_RETURNING, 3, {TEXTOID, TEXTOID, JSONBOID}
	},
	/*
	 * The bulk writes: one row per array element, in order.  They count the
	 * rows written, and of those the rows still under an asked id (a
	 * trigger may have moved some), by a query: Citus reports rows it did
	 * not insert.
	 */
	[STMT_SET_BULK] = {
		"WITH written AS ("
		"  INSERT INTO user_metadata.user_metadata AS t (app_id, user_id, metadata)"
		"  SELECT $1, u.id, u.doc"
		"  FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3)) AS u (id, doc)"
		"  ON CONFLICT (app_id, user_id) DO UPDATE"
		"  SET metadata = excluded.metadata"
		"  RETURNING app_id, user_id)"
		" SELECT (SELECT pg_catalog.count(*) FROM written),"
		"  (SELECT pg_catalog.count(*) FROM written w JOIN pg_catalog.unnest($2) AS ids (id)"
		"   ON w.app_id OPERATOR(pg_catalog.=) $1 AND w.user_id OPERATOR(pg_catalog.=) ids.id)",
		3, {TEXTOID, TEXTARRAYOID, JSONBARRAYOID}, SPI_OK_SELECT, 2, {INT8OID, INT8OID}
	},
	[STMT_INSERT_BULK] = {
		"WITH written AS ("
		"  INSERT INTO user_metadata.user_metadata (app_id, user_id, metadata)"
		"  SELECT $1, u.id, u.doc"
		"  FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3)) AS u (id, doc)"
		"  ON CONFLICT (app_id, user_id) DO NOTHING"
		"  RETURNING app_id, user_id)"
		" SELECT (SELECT pg_catalog.count(*) FROM written),"
		"  (SELECT pg_catalog.count(*) FROM written w JOIN (SELECT DISTINCT id FROM pg_catalog.unnest($2) AS u (id)) ids"
		"   ON w.app_id OPERATOR(pg_catalog.=) $1 AND w.user_id OPERATOR(pg_catalog.=) ids.id)",
		3, {TEXTOID, TEXTARRAYOID, JSONBARRAYOID}, SPI_OK_SELECT, 2, {INT8OID, INT8OID}
	},
	[STMT_CLEAR] = {
		"DELETE FROM user_metadata.user_metadata"
		" WHERE app_id OPERATOR(pg_catalog.=) $1 AND user_id OPERATOR(pg_catalog.=) $2",
		2, {TEXTOID, TEXTOID}, SPI_OK_DELETE, 0, {InvalidOid}
	},
	/*
	 * One primary-key probe per id asked, in the order asked.  A scalar
	 * subquery, not a join: the planner cannot turn it into a scan of the
	 * app's every row, which a join's generic plan (statement.c) did
	 * for one id when the table's statistics were stale.
	 */
	[STMT_GET_BULK] = {
		"SELECT ids.id, COALESCE((SELECT t.metadata FROM user_metadata.user_metadata t"
		"  WHERE t.app_id OPERATOR(pg_catalog.=) $1 AND t.user_id OPERATOR(pg_catalog.=) ids.id),"
		"  '{}'::pg_catalog.jsonb)"
		" FROM pg_catalog.unnest($2) WITH ORDINALITY AS ids (id, ord)"
		" ORDER BY ids.ord",
		2, {TEXTOID, TEXTARRAYOID}, SPI_OK_SELECT, 2, {TEXTOID, JSONBOID}
	},
	[STMT_FIND] = {
		"SELECT user_id FROM user_metadata.user_metadata"
		" WHERE app_id OPERATOR(pg_catalog.=) $1 AND metadata OPERATOR(pg_catalog.@>) $2"
		" ORDER BY user_id",
		2, {TEXTOID, JSONBOID}, SPI_OK_SELECT, 1, {TEXTOID}
	},
};

/*
 * With Citus the table is distributed: Citus plans the bulk read's join by
 * fetching every shard's rows of the app, so there the ids go to the shards
 * as one = ANY condition, which Citus sends only to the shards holding them.
 */
static const StatementDef citus_get_bulk = {
	"WITH found AS MATERIALIZED ("
	"  SELECT user_id, metadata FROM user_metadata.user_metadata"
	"  WHERE app_id OPERATOR(pg_catalog.=) $1 AND user_id OPERATOR(pg_catalog.=) ANY ($2))"
	" SELECT ids.id, COALESCE(found.metadata, '{}'::pg_catalog.jsonb)"
	" FROM pg_catalog.unnest($2) WITH ORDINALITY AS ids (id, ord)"
	" LEFT JOIN found ON found.user_id OPERATOR(pg_catalog.=) ids.id"
	" ORDER BY ids.ord",
	2, {TEXTOID, TEXTARRAYOID}, SPI_OK_SELECT, 2, {TEXTOID, JSONBOID}
};

static SPIPlanPtr plans[NUM_STATEMENTS];

/*
 * A statement that did not run as written: a rule a DBA added rewrote it.
 * (store_table.c checks the table's columns before every statement.)
 */
static const StatementSet store_statements = {
	statements, plans, ERRCODE_TRIGGERED_ACTION_EXCEPTION,
	"a user metadata statement did not run as written",
	"Rules on user_metadata.user_metadata must not rewrite the writes of the user_metadata functions.",
	true
};

/*
 * Connect to SPI and run one statement (statement.c), once the table is
 * checked (store_table.c).  The caller calls SPI_finish.
 */
static void
run_statement(StoreStatement stmt, Datum *values, bool read_only, Tuplestorestate *store)
{
	int			rc;

	um_check_store_table();
	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
	if (plans[stmt] == NULL && stmt == STMT_GET_BULK && OidIsValid(get_extension_oid("citus", true)))
		plans[stmt] = um_prepare_statement(&citus_get_bulk, 0);
	um_run_statement(&store_statements, stmt, values, NULL, read_only, store);
}

/*
 * Column column of the first result row copied out of SPI, or 0 for no row
 * or a null.  It may carry a short varlena header, so callers detoast it
 * only after SPI_finish, in their own memory context.
 */
static Datum
result_datum(int column)
{
	bool		isnull;
	Datum		value;

	if (SPI_processed == 0)
		return (Datum) 0;
	value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, column, &isnull);
	return isnull ? (Datum) 0 : SPI_datumTransfer(value, false, -1);
}

/* Whether column column of the first result row is the id id */
static bool
result_is_id(int column, text *id)
{
	bool		isnull;
	Datum		value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, column, &isnull);
	text	   *got;
	bool		same;

	if (isnull)
		return false;
	got = DatumGetTextPP(value);
	same = um_same_id(got, id);
	if ((Pointer) got != DatumGetPointer(value))
		pfree(got);
	return same;
}

static void
write_skipped(text *app_id, text *user_id, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
			 errmsg("the user metadata write was %s by a trigger", what),
			 errdetail("A BEFORE trigger on user_metadata.user_metadata %s, so the document of user \"%s\" in app \"%s\" was not written.",
					   strcmp(what, "skipped") == 0 ? "returned NULL" : "changed the row's app_id or user_id",
					   text_to_cstring(user_id), text_to_cstring(app_id)),
			 errhint("Triggers on user_metadata.user_metadata must not skip rows or move them to other users; raise an error to refuse a write.")));
}

/* Run a write statement and return the document it stored */
static Jsonb *
write_document(StoreStatement stmt, text *app_id, text *user_id, Jsonb *document)
{
	Datum		values[3];
	Datum		stored;

	values[0] = PointerGetDatum(app_id);
	values[1] = PointerGetDatum(user_id);
	values[2] = JsonbPGetDatum(document);

	/* the history trigger records a merge's patch as given (history.c) */
	if (stmt == STMT_UPDATE)
		um_history_set_patch(app_id, user_id, document);
	PG_TRY();
	{
		run_statement(stmt, values, false, NULL);
	}
	PG_FINALLY();
	{
		um_history_set_patch(NULL, NULL, NULL);
	}
	PG_END_TRY();
	if (SPI_processed != 1)
		write_skipped(app_id, user_id, "skipped");
	if (!result_is_id(1, app_id) || !result_is_id(2, user_id))
		write_skipped(app_id, user_id, "moved");
	stored = result_datum(3);
	SPI_finish();

	return DatumGetJsonbP(stored);
}

Jsonb *
um_store_get(text *app_id, text *user_id)
{
	Datum		values[2];
	Datum		stored;

	values[0] = PointerGetDatum(app_id);
	values[1] = PointerGetDatum(user_id);

	run_statement(STMT_GET, values, true, NULL);
	stored = result_datum(1);
	SPI_finish();

	return stored ? DatumGetJsonbP(stored) : um_merge_root(NULL, NULL);
}

Jsonb *
um_store_update(text *app_id, text *user_id, Jsonb *patch)
{
	return write_document(STMT_UPDATE, app_id, user_id, patch);
}

Jsonb *
um_store_set(text *app_id, text *user_id, Jsonb *document)
{
	return write_document(STMT_SET, app_id, user_id, document);
}

/*
 * Run a bulk write statement; returns the number of rows it stored.  A row
 * that a trigger moved to an id not asked for is an error.
 */
static uint64
write_documents(StoreStatement stmt, text *app_id, ArrayType *user_ids, ArrayType *documents)
{
	Datum		values[3];
	int64		stored;
	int64		kept;
	bool		isnull;

	values[0] = PointerGetDatum(app_id);
	values[1] = PointerGetDatum(user_ids);
	values[2] = PointerGetDatum(documents);

	run_statement(stmt, values, false, NULL);
	if (SPI_processed != 1)
		um_statement_changed(&store_statements, "The count of the rows written is missing.");
	stored = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	kept = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	SPI_finish();
	if (kept != stored)
		ereport(ERROR,
				(errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
				 errmsg("a user metadata write was moved by a trigger"),
				 errdetail("A BEFORE trigger on user_metadata.user_metadata changed the app_id or user_id of %lld of the %lld rows written for app \"%s\".",
						   (long long) (stored - kept), (long long) stored, text_to_cstring(app_id)),
				 errhint("Triggers on user_metadata.user_metadata must not skip rows or move them to other users; raise an error to refuse a write.")));
	return (uint64) stored;
}

uint64
um_store_set_many(text *app_id, ArrayType *user_ids, ArrayType *documents)
{
	return write_documents(STMT_SET_BULK, app_id, user_ids, documents);
}

uint64
um_store_insert_many(text *app_id, ArrayType *user_ids, ArrayType *documents)
{
	return write_documents(STMT_INSERT_BULK, app_id, user_ids, documents);
}

/* One admin API call: a statement, its parameters ($1 the app id), its document */
typedef struct StoreCall
{
	StoreStatement stmt;
	Datum		values[2];
	Jsonb	   *document;
} StoreCall;

/* A call of one user's document: get, update, set or clear */
static Datum
one_user_as_owner(FunctionCallInfo fcinfo, void *arg)
{
	StoreCall  *call = arg;
	text	   *app_id = DatumGetTextPP(call->values[0]);
	text	   *user_id = DatumGetTextPP(call->values[1]);
	bool		found;

	switch (call->stmt)
	{
		case STMT_GET:
			return JsonbPGetDatum(um_store_get(app_id, user_id));
		case STMT_UPDATE:
		case STMT_SET:
			return JsonbPGetDatum(write_document(call->stmt, app_id, user_id, call->document));
		case STMT_CLEAR:
			run_statement(STMT_CLEAR, call->values, false, NULL);
			found = SPI_processed > 0;
			SPI_finish();
			return BoolGetDatum(found);
		default:
			elog(ERROR, "statement %d is not a call of one user", (int) call->stmt);
	}
	pg_unreachable();
}

/* A call whose result set is the rows of its statement */
static Datum
rows_as_owner(FunctionCallInfo fcinfo, void *arg)
{
	StoreCall  *call = arg;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	run_statement(call->stmt, call->values, true, rsinfo->setResult);
	SPI_finish();
	return (Datum) 0;
}

/* How an admin API call reads its argument 1 into the statement's document */
typedef Jsonb *(*DocumentArg) (FunctionCallInfo fcinfo, int argno, const char *argname);

/*
 * The admin API's calls of one user: user_id is argument 0, app_id the
 * last, and the document, when read_document reads one, argument 1
 */
static Datum
one_user_call(FunctionCallInfo fcinfo, StoreStatement stmt, DocumentArg read_document, const char *argname)
{
	StoreCall	call = {.stmt = stmt};
	text	   *app_id;

	call.values[1] = PointerGetDatum(um_id_arg(fcinfo, 0, "user_id"));
	if (read_document != NULL)
		call.document = read_document(fcinfo, 1, argname);
	app_id = um_id_arg(fcinfo, read_document != NULL ? 2 : 1, "app_id");
	call.values[0] = PointerGetDatum(app_id);
	return um_admin_call(fcinfo, app_id, one_user_as_owner, &call);
}

/*
 * get_user_metadata(user_id text, app_id text DEFAULT 'public') RETURNS jsonb
 */
PG_FUNCTION_INFO_V1(get_user_metadata);
Datum
get_user_metadata(PG_FUNCTION_ARGS)
{
	return one_user_call(fcinfo, STMT_GET, NULL, NULL);
}

/*
 * update_user_metadata(user_id text, patch jsonb, app_id text DEFAULT 'public')
 * RETURNS jsonb
 */
PG_FUNCTION_INFO_V1(update_user_metadata);
Datum
update_user_metadata(PG_FUNCTION_ARGS)
{
	return one_user_call(fcinfo, STMT_UPDATE, um_object_arg, "patch");
}

/*
 * set_user_metadata(user_id text, metadata jsonb, app_id text DEFAULT 'public')
 * RETURNS jsonb
 */
PG_FUNCTION_INFO_V1(set_user_metadata);
Datum
set_user_metadata(PG_FUNCTION_ARGS)
{
	return one_user_call(fcinfo, STMT_SET, um_object_arg, "metadata");
}

/*
 * delete_user_metadata_key(user_id text, key text, app_id text DEFAULT 'public')
 * RETURNS jsonb
 *
 * update_user_metadata with the patch {key: null}, in one atomic upsert.
 */
PG_FUNCTION_INFO_V1(delete_user_metadata_key);
Datum
delete_user_metadata_key(PG_FUNCTION_ARGS)
{
	return one_user_call(fcinfo, STMT_UPDATE, um_key_removal_arg, "key");
}

/*
 * clear_user_metadata(user_id text, app_id text DEFAULT 'public') RETURNS boolean
 */
PG_FUNCTION_INFO_V1(clear_user_metadata);
Datum
clear_user_metadata(PG_FUNCTION_ARGS)
{
	return one_user_call(fcinfo, STMT_CLEAR, NULL, NULL);
}

/*
 * get_user_metadata_bulk(user_ids text[], app_id text DEFAULT 'public')
 * RETURNS TABLE (user_id text, metadata jsonb)
 *
 * Also the deprecated get_user_metadata(text[], text).
 */
PG_FUNCTION_INFO_V1(get_many_user_metadata);
Datum
get_many_user_metadata(PG_FUNCTION_ARGS)
{
	StoreCall	call = {.stmt = STMT_GET_BULK};

	call.values[1] = PointerGetDatum(um_id_array_arg(fcinfo, 0, "user_ids"));
	call.values[0] = PointerGetDatum(um_id_arg(fcinfo, 1, "app_id"));
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	return um_admin_call(fcinfo, DatumGetTextPP(call.values[0]), rows_as_owner, &call);
}

/*
 * find_users(filter jsonb, app_id text DEFAULT 'public') RETURNS SETOF text
 */
PG_FUNCTION_INFO_V1(find_users);
Datum
find_users(PG_FUNCTION_ARGS)
{
	StoreCall	call = {.stmt = STMT_FIND};

	call.values[1] = JsonbPGetDatum(um_object_arg(fcinfo, 0, "filter"));
	call.values[0] = PointerGetDatum(um_id_arg(fcinfo, 1, "app_id"));
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	return um_admin_call(fcinfo, DatumGetTextPP(call.values[0]), rows_as_owner, &call);
}
