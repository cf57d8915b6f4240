/*-------------------------------------------------------------------------
 *
 * proxy.c
 *	  The API functions of extension user_metadata_proxy, one C function
 *	  for all of them.
 *
 * Each API function of the proxy database is declared LANGUAGE C with
 * symbol um_proxy_call and the store's signature.  A call first checks the
 * real caller's per-app admin scope (SECURITY DEFINER could not: it would
 * see the owner), then, with the owner's rights (run_as_owner, whose owner's
 * user mapping PL/Proxy connects with), runs the function of the same name
 * and argument types in schema user_metadata_remote: a PL/Proxy function,
 * or a SQL or PL/pgSQL one composing them.
 *
 * The app a call acts for is found by position, as the store's signatures
 * place it, never by a parameter's name: the last input argument of type
 * text (set_document_rules(app_id, rules) has its app first), else the
 * session's app (user_metadata.app_id), which the Atlas-style calls act for.  PL/Proxy keeps a partition's SQLSTATE but
 * decorates its text; the caller gets the store's error back.  That wording
 * is pinned by test/suites/proxy.sh, which compares every error of the
 * store's regression calls made directly and through the proxy.
 *
 * src/proxy/proxy.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/syscache.h"

#include "auth/admin_access.h"
#include "args.h"
#include "auth/identity.h"
#include "proxy/proxy.h"

#define REMOTE_SCHEMA "user_metadata_remote"

/* What a call of one API function needs, found once per backend */
typedef struct ProxyTarget
{
	Oid			fn_oid;			/* hash key: the API function */
	SPIPlanPtr	plan;			/* SELECT * FROM user_metadata_remote.f($1, ...) */
	int			app_id_arg;		/* the last input argument if text, or -1 */
	bool		read_only;		/* the API function is not VOLATILE */
} ProxyTarget;

static HTAB *targets = NULL;

/* The API function of fn_oid, its app id argument found on first use */
static ProxyTarget *
lookup_target(Oid fn_oid)
{
	ProxyTarget *target;
	bool		found;

	if (targets == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(ProxyTarget);
		targets = hash_create("user_metadata_proxy targets", 16, &ctl, HASH_ELEM | HASH_BLOBS);
	}
	target = (ProxyTarget *) hash_search(targets, &fn_oid, HASH_FIND, &found);
	if (!found)
	{
		HeapTuple	proc = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn_oid));
		Oid		   *types;
		char	  **names;
		char	   *modes;
		int			nargs;
		int			app_id_arg = -1;

		if (!HeapTupleIsValid(proc))
			elog(ERROR, "cache lookup failed for function %u", fn_oid);
		nargs = get_func_arg_info(proc, &types, &names, &modes);
		for (int i = 0, input = 0; i < nargs; i++)
		{
			if (modes != NULL && (modes[i] == PROARGMODE_OUT || modes[i] == PROARGMODE_TABLE))
				continue;
			if (types[i] == TEXTOID)
				app_id_arg = input;
			input++;
		}
		target = (ProxyTarget *) hash_search(targets, &fn_oid, HASH_ENTER, NULL);
		target->plan = NULL;
		target->app_id_arg = app_id_arg;
		target->read_only = ((Form_pg_proc) GETSTRUCT(proc))->provolatile != PROVOLATILE_VOLATILE;
		ReleaseSysCache(proc);
	}
	return target;
}

/*
 * Prepare SELECT * FROM user_metadata_remote.<name>($1, ...) with the API
 * function's argument types, as the owner: callers have no rights on the
 * internals.  Caller is SPI-connected.
 */
static void
prepare_remote_call(ProxyTarget *target)
{
	HeapTuple	proc = SearchSysCache1(PROCOID, ObjectIdGetDatum(target->fn_oid));
	Form_pg_proc form;
	StringInfoData sql;
	SPIPlanPtr	plan;

	if (!HeapTupleIsValid(proc))
		elog(ERROR, "cache lookup failed for function %u", target->fn_oid);
	form = (Form_pg_proc) GETSTRUCT(proc);
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT * FROM %s.%s(", REMOTE_SCHEMA, quote_identifier(NameStr(form->proname)));
	for (int i = 0; i < form->pronargs; i++)
		appendStringInfo(&sql, "%s$%d", i > 0 ? ", " : "", i + 1);
	appendStringInfoChar(&sql, ')');

	plan = SPI_prepare(sql.data, form->pronargs, form->proargtypes.values);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql.data, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	target->plan = plan;
	ReleaseSysCache(proc);
}

/* s past "user_metadata_remote.<name>(<nargs>): ", or NULL */
static const char *
skip_function(const char *s)
{
	static const char schema[] = REMOTE_SCHEMA ".";
	size_t		n;

	if (strncmp(s, schema, sizeof(schema) - 1) != 0)
		return NULL;
	s += sizeof(schema) - 1;
	if ((n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_")) == 0)
		return NULL;
	s += n;
	if (*s++ != '(' || (n = strspn(s, "0123456789")) == 0)
		return NULL;
	s += n;
	return strncmp(s, "): ", 3) == 0 ? s + 3 : NULL;
}

/* s past "[<database>] ", or NULL */
static const char *
skip_database(const char *s)
{
	const char *end;

	if (s == NULL || *s != '[' || (end = strchr(s, ']')) == NULL || end[1] != ' ')
		return NULL;
	return end + 2;
}

static bool
starts_with(const char *s, const char *prefix)
{
	return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

static char *
without_prefix(char *s, const char *prefix)
{
	return starts_with(s, prefix) ? s + strlen(prefix) : s;
}

/*
 * A partition's error reaches us as "<function>(<nargs>): [<database>]
 * REMOTE ERROR: <message>", "Remote detail: ...", "Remote hint: ...":
 * undecorated, it is exactly the store's.  PL/Proxy reports a partition it
 * cannot reach as XX000 (internal error); that becomes 08006 (connection
 * failure), message unchanged.  Anything else stays as it came.
 */
static void
undecorate(ErrorData *edata)
{
	const char *message = skip_database(skip_function(edata->message));
	const char *reason;

	if (starts_with(message, "REMOTE ERROR: "))
	{
		edata->message = pstrdup(message + strlen("REMOTE ERROR: "));
		if (edata->detail != NULL)
			edata->detail = without_prefix(edata->detail, "Remote detail: ");
		if (edata->hint != NULL)
			edata->hint = without_prefix(edata->hint, "Remote hint: ");
		return;
	}
	if (edata->sqlerrcode != ERRCODE_INTERNAL_ERROR || !starts_with(edata->message, "PL/Proxy function "))
		return;
	reason = skip_function(edata->message + strlen("PL/Proxy function "));
	if (starts_with(skip_database(reason), "PQ") || starts_with(reason, "connect timeout"))
		edata->sqlerrcode = ERRCODE_CONNECTION_FAILURE;
}

/* Run the remote call; errors come out undecorated */
static void
run_remote(ProxyTarget *target, FunctionCallInfo fcinfo, MemoryContext caller_context)
{
	Datum	   *values = palloc(sizeof(Datum) * Max(fcinfo->nargs, 1));
	char	   *nulls = palloc(Max(fcinfo->nargs, 1));

	for (int i = 0; i < fcinfo->nargs; i++)
	{
		values[i] = fcinfo->args[i].value;
		nulls[i] = fcinfo->args[i].isnull ? 'n' : ' ';
	}
	PG_TRY();
	{
		int			rc = SPI_execute_plan(target->plan, values, nulls, target->read_only, 0);

		if (rc != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(caller_context);
		edata = CopyErrorData();
		FlushErrorState();
		undecorate(edata);
		ReThrowError(edata);
	}
	PG_END_TRY();
}

/*
 * The remote call's result as this function's: its rows for a set, a
 * record of its one column for a procedure's output arguments, else its
 * one value.  Copied out of SPI before SPI_finish.
 */
static Datum
return_result(FunctionCallInfo fcinfo)
{
	TupleDesc	tupdesc;
	Form_pg_attribute attr;
	Datum		value;
	bool		isnull;

	if (fcinfo->flinfo->fn_retset)
	{
		ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

		for (uint64 i = 0; i < SPI_processed; i++)
			tuplestore_puttuple(rsinfo->setResult, SPI_tuptable->vals[i]);
		return (Datum) 0;
	}
	if (SPI_processed != 1)
		elog(ERROR, "the remote call returned " UINT64_FORMAT " rows, not 1", SPI_processed);
	value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) == TYPEFUNC_COMPOSITE)
	{
		HeapTuple	tuple;

		if (tupdesc->natts != 1)
			elog(ERROR, "a proxied procedure must have one output argument");
		tuple = heap_form_tuple(BlessTupleDesc(tupdesc), &value, &isnull);
		return SPI_datumTransfer(HeapTupleGetDatum(tuple), false, -1);
	}
	fcinfo->isnull = isnull;
	if (isnull)
		return (Datum) 0;
	attr = TupleDescAttr(SPI_tuptable->tupdesc, 0);
	return SPI_datumTransfer(value, attr->attbyval, attr->attlen);
}

/* What a proxied call runs with the owner's rights */
typedef struct RemoteCall
{
	ProxyTarget *target;
	MemoryContext caller_context;
} RemoteCall;

static Datum
remote_call_as_owner(FunctionCallInfo fcinfo, void *arg)
{
	RemoteCall *call = arg;
	Datum		result;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (call->target->plan == NULL)
		prepare_remote_call(call->target);
	run_remote(call->target, fcinfo, call->caller_context);
	result = return_result(fcinfo);
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
	return result;
}

PG_FUNCTION_INFO_V1(um_proxy_call);
Datum
um_proxy_call(PG_FUNCTION_ARGS)
{
	RemoteCall	call = {lookup_target(fcinfo->flinfo->fn_oid), CurrentMemoryContext};
	text	   *app_id;

	/*
	 * A NULL or empty app id is not checked: the partition rejects that call
	 * (22004, 22023) before it reads anything, as the store would.
	 */
	if (call.target->app_id_arg < 0)
		app_id = um_identity_app_id();
	else if (PG_ARGISNULL(call.target->app_id_arg))
		app_id = NULL;
	else
		app_id = PG_GETARG_TEXT_PP(call.target->app_id_arg);
	if (app_id != NULL && VARSIZE_ANY_EXHDR(app_id) == 0)
		app_id = NULL;
	if (fcinfo->flinfo->fn_retset)
		InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	return um_admin_call(fcinfo, app_id, remote_call_as_owner, &call);
}

PG_FUNCTION_INFO_V1(um_proxy_write_custom_user_data);
Datum
um_proxy_write_custom_user_data(PG_FUNCTION_ARGS)
{
	/* the partition would check it as update_user_metadata's "patch" */
	um_object_arg(fcinfo, 0, "new_data");
	return um_proxy_call(fcinfo);
}
