/*-------------------------------------------------------------------------
 *
 * store.c
 *	  The per-user metadata table user_metadata.user_metadata: reads and
 *	  atomic writes, each one prepared statement planned once per backend.
 *
 * A write is a single INSERT ... ON CONFLICT DO UPDATE whose SET clause runs
 * jsonb_merge on the row it has locked, so concurrent writers of one user,
 * including the very first insert, each merge into the latest committed
 * document: no read-lock-write round trip, no retry loop, no lost update.
 * Everything runs inside the caller's transaction.  A row trigger on the
 * table holds every write, direct ones by client roles included, to the
 * same rules: an object, no root nulls, within max_document_bytes.
 *
 * src/store.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "jsonb_merge.h"
#include "store.h"
#include "user_metadata.h"

typedef enum StoreStatement
{
	STMT_GET,
	STMT_UPDATE,
	STMT_SET,
	STMT_CLEAR,
	STMT_GET_MANY,
	STMT_FIND,
	NUM_STATEMENTS
} StoreStatement;

/* Every statement takes the app id as $1 */
typedef struct StatementDef
{
	const char *sql;
	int			nargs;
	Oid			argtypes[3];
} StatementDef;

static const StatementDef statements[NUM_STATEMENTS] = {
	[STMT_GET] = {
		"SELECT metadata FROM user_metadata.user_metadata"
		" WHERE app_id OPERATOR(pg_catalog.=) $1 AND user_id OPERATOR(pg_catalog.=) $2",
		2, {TEXTOID, TEXTOID}
	},
	[STMT_UPDATE] = {
		"INSERT INTO user_metadata.user_metadata AS t (app_id, user_id, metadata)"
		" VALUES ($1, $2, user_metadata.jsonb_merge(NULL, $3))"
		" ON CONFLICT (app_id, user_id) DO UPDATE"
		" SET metadata = user_metadata.jsonb_merge(t.metadata, $3), updated_at = pg_catalog.now()"
		" RETURNING metadata",
		3, {TEXTOID, TEXTOID, JSONBOID}
	},
	[STMT_SET] = {
		"INSERT INTO user_metadata.user_metadata AS t (app_id, user_id, metadata)"
		" VALUES ($1, $2, user_metadata.jsonb_merge(NULL, $3))"
		" ON CONFLICT (app_id, user_id) DO UPDATE"
		" SET metadata = excluded.metadata, updated_at = pg_catalog.now()"
		" RETURNING metadata",
		3, {TEXTOID, TEXTOID, JSONBOID}
	},
	[STMT_CLEAR] = {
		"DELETE FROM user_metadata.user_metadata"
		" WHERE app_id OPERATOR(pg_catalog.=) $1 AND user_id OPERATOR(pg_catalog.=) $2",
		2, {TEXTOID, TEXTOID}
	},
	/* one index scan for all ids, then back into the order asked for */
	[STMT_GET_MANY] = {
		"WITH found AS MATERIALIZED ("
		"  SELECT user_id, metadata FROM user_metadata.user_metadata"
		"  WHERE app_id OPERATOR(pg_catalog.=) $1 AND user_id OPERATOR(pg_catalog.=) ANY ($2))"
		" SELECT ids.id, COALESCE(found.metadata, '{}'::pg_catalog.jsonb)"
		" FROM pg_catalog.unnest($2) WITH ORDINALITY AS ids (id, ord)"
		" LEFT JOIN found ON found.user_id OPERATOR(pg_catalog.=) ids.id"
		" ORDER BY ids.ord",
		2, {TEXTOID, TEXTARRAYOID}
	},
	[STMT_FIND] = {
		"SELECT user_id FROM user_metadata.user_metadata"
		" WHERE app_id OPERATOR(pg_catalog.=) $1 AND metadata OPERATOR(pg_catalog.@>) $2"
		" ORDER BY user_id",
		2, {TEXTOID, JSONBOID}
	},
};

static SPIPlanPtr plans[NUM_STATEMENTS];

/* Run one statement, preparing it on first use; caller is SPI-connected */
static void
run_statement(StoreStatement stmt, Datum *values, bool read_only)
{
	int			rc;

	if (plans[stmt] == NULL)
	{
		const StatementDef *def = &statements[stmt];
		SPIPlanPtr	plan = SPI_prepare(def->sql, def->nargs, (Oid *) def->argtypes);

		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		plans[stmt] = plan;
	}
	rc = SPI_execute_plan(plans[stmt], values, NULL, read_only, 0);
	if (rc < 0)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));
}

/*
 * The first column of the first result row copied out of SPI, or 0 for no
 * row.  It may carry a short varlena header, so callers detoast it only
 * after SPI_finish, in their own memory context.
 */
static Datum
result_datum(void)
{
	bool		isnull;
	Datum		value;

	if (SPI_processed == 0)
		return (Datum) 0;
	value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? (Datum) 0 : SPI_datumTransfer(value, false, -1);
}

static void
check_document_size(Jsonb *document)
{
	Size		size = VARSIZE(document);

	if (um_max_document_bytes > 0 && size > (Size) um_max_document_bytes)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("user metadata document is too large"),
				 errdetail("The document would take %zu bytes; user_metadata.max_document_bytes allows %d.",
						   size, um_max_document_bytes),
				 errhint("Store less data for this user, or raise user_metadata.max_document_bytes.")));
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

	SPI_connect();
	run_statement(stmt, values, false);
	stored = result_datum();
	SPI_finish();

	return DatumGetJsonbP(stored);
}

Jsonb *
store_get(text *app_id, text *user_id)
{
	Datum		values[2];
	Datum		stored;

	values[0] = PointerGetDatum(app_id);
	values[1] = PointerGetDatum(user_id);

	SPI_connect();
	run_statement(STMT_GET, values, true);
	stored = result_datum();
	SPI_finish();

	return stored ? DatumGetJsonbP(stored) : merge_root(NULL, NULL);
}

Jsonb *
store_update(text *app_id, text *user_id, Jsonb *patch)
{
	return write_document(STMT_UPDATE, app_id, user_id, patch);
}

void
require_not_null(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"%s\" must not be null", argname),
				 errhint("Pass a value; to remove keys, pass them with a JSON null value.")));
}

static void
require_nonempty(text *id, const char *argname)
{
	if (VARSIZE_ANY_EXHDR(id) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"%s\" must not be empty", argname),
				 errhint("Users and apps are named by non-empty text ids.")));
}

static text *
id_arg(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	text	   *id;

	require_not_null(fcinfo, argno, argname);
	id = PG_GETARG_TEXT_PP(argno);
	require_nonempty(id, argname);
	return id;
}

Jsonb *
object_arg(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	Jsonb	   *jb;

	require_not_null(fcinfo, argno, argname);
	jb = PG_GETARG_JSONB_P(argno);
	require_json_object(jb, argname);
	return jb;
}

/* Copy the rows of the last statement into the function's result set */
static void
return_rows(FunctionCallInfo fcinfo)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	for (uint64 i = 0; i < SPI_processed; i++)
		tuplestore_puttuple(rsinfo->setResult, SPI_tuptable->vals[i]);
}

/*
 * normalize_document() RETURNS trigger
 *
 * BEFORE INSERT OR UPDATE FOR EACH ROW on user_metadata.user_metadata.
 */
PG_FUNCTION_INFO_V1(normalize_document);
Datum
normalize_document(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	tupdesc;
	HeapTuple	tuple;
	Jsonb	   *document;
	Jsonb	   *normal;
	Datum		value;
	bool		isnull;
	int			attnum = ATTNUM_METADATA;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) || TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("normalize_document must be fired BEFORE INSERT OR UPDATE FOR EACH ROW")));

	tupdesc = RelationGetDescr(trigdata->tg_relation);
	tuple = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? trigdata->tg_newtuple : trigdata->tg_trigtuple;
	value = heap_getattr(tuple, attnum, tupdesc, &isnull);
	if (isnull)
		return PointerGetDatum(tuple);	/* the NOT NULL constraint reports it */

	document = DatumGetJsonbP(value);
	require_json_object(document, "metadata");
	normal = merge_root(NULL, document);
	check_document_size(normal);
	if (normal == document)
		return PointerGetDatum(tuple);
	value = JsonbPGetDatum(normal);
	return PointerGetDatum(heap_modify_tuple_by_cols(tuple, tupdesc, 1, &attnum, &value, &isnull));
}

/*
 * get_user_metadata(user_id text, app_id text DEFAULT 'public') RETURNS jsonb
 */
PG_FUNCTION_INFO_V1(get_user_metadata);
Datum
get_user_metadata(PG_FUNCTION_ARGS)
{
	text	   *user_id = id_arg(fcinfo, 0, "user_id");
	text	   *app_id = id_arg(fcinfo, 1, "app_id");

	PG_RETURN_JSONB_P(store_get(app_id, user_id));
}

/*
 * update_user_metadata(user_id text, patch jsonb, app_id text DEFAULT 'public')
 * RETURNS jsonb
 */
PG_FUNCTION_INFO_V1(update_user_metadata);
Datum
update_user_metadata(PG_FUNCTION_ARGS)
{
	text	   *user_id = id_arg(fcinfo, 0, "user_id");
	Jsonb	   *patch = object_arg(fcinfo, 1, "patch");
	text	   *app_id = id_arg(fcinfo, 2, "app_id");

	PG_RETURN_JSONB_P(store_update(app_id, user_id, patch));
}

/*
 * set_user_metadata(user_id text, metadata jsonb, app_id text DEFAULT 'public')
 * RETURNS jsonb
 */
PG_FUNCTION_INFO_V1(set_user_metadata);
Datum
set_user_metadata(PG_FUNCTION_ARGS)
{
	text	   *user_id = id_arg(fcinfo, 0, "user_id");
	Jsonb	   *metadata = object_arg(fcinfo, 1, "metadata");
	text	   *app_id = id_arg(fcinfo, 2, "app_id");

	PG_RETURN_JSONB_P(write_document(STMT_SET, app_id, user_id, metadata));
}

/*
 * clear_user_metadata(user_id text, app_id text DEFAULT 'public') RETURNS boolean
 */
PG_FUNCTION_INFO_V1(clear_user_metadata);
Datum
clear_user_metadata(PG_FUNCTION_ARGS)
{
	Datum		values[2];
	bool		found;

	values[1] = PointerGetDatum(id_arg(fcinfo, 0, "user_id"));
	values[0] = PointerGetDatum(id_arg(fcinfo, 1, "app_id"));

	SPI_connect();
	run_statement(STMT_CLEAR, values, false);
	found = SPI_processed > 0;
	SPI_finish();

	PG_RETURN_BOOL(found);
}

/*
 * get_user_metadata(user_ids text[], app_id text DEFAULT 'public')
 * RETURNS TABLE (user_id text, metadata jsonb)
 */
PG_FUNCTION_INFO_V1(get_many_user_metadata);
Datum
get_many_user_metadata(PG_FUNCTION_ARGS)
{
	ArrayType  *user_ids;
	Datum	   *ids;
	bool	   *nulls;
	int			count;
	Datum		values[2];

	require_not_null(fcinfo, 0, "user_ids");
	user_ids = PG_GETARG_ARRAYTYPE_P(0);
	values[0] = PointerGetDatum(id_arg(fcinfo, 1, "app_id"));
	values[1] = PointerGetDatum(user_ids);

	deconstruct_array(user_ids, TEXTOID, -1, false, TYPALIGN_INT, &ids, &nulls, &count);
	for (int i = 0; i < count; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("argument \"user_ids\" must not contain nulls")));
		require_nonempty(DatumGetTextPP(ids[i]), "user_ids");
	}

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	SPI_connect();
	run_statement(STMT_GET_MANY, values, true);
	return_rows(fcinfo);
	SPI_finish();

	return (Datum) 0;
}

/*
 * find_users(filter jsonb, app_id text DEFAULT 'public') RETURNS SETOF text
 */
PG_FUNCTION_INFO_V1(find_users);
Datum
find_users(PG_FUNCTION_ARGS)
{
	Datum		values[2];

	values[1] = JsonbPGetDatum(object_arg(fcinfo, 0, "filter"));
	values[0] = PointerGetDatum(id_arg(fcinfo, 1, "app_id"));

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	SPI_connect();
	run_statement(STMT_FIND, values, true);
	return_rows(fcinfo);
	SPI_finish();

	return (Datum) 0;
}
