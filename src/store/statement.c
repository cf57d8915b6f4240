/*-------------------------------------------------------------------------
 *
 * statement.c
 *	  Running the extension's own SQL statements: the one runner that the
 *	  store, the change history and the document rules share.
 *
 * A statement is prepared on first use and its plan kept for the backend's
 * life: generic, since its parameters never change the best plan (a module
 * may prepare its own first, as the store does on Citus).  The SQL
 * functions that get here pin the search path with their SET clause
 * (run_as_owner for the admin API), so that one cached plan serves every
 * call.  The result is checked against the definition, so that whatever a
 * rule or a DBA did, no datum is read as another type.
 *
 * src/store/statement.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "nodes/params.h"
#include "tcop/dest.h"
#include "utils/builtins.h"

#include "store/statement.h"

void
um_statement_changed(const StatementSet *set, const char *detail)
{
	ereport(ERROR,
			(errcode(set->sqlstate),
			 errmsg("%s", set->message),
			 errdetail("%s", detail),
			 errhint("%s", set->hint)));
	pg_unreachable();
}

/* The result columns of a statement as its definition describes them */
static void
check_columns(const StatementSet *set, const StatementDef *def, TupleDesc desc)
{
	if (desc->natts != def->ncolumns)
		um_statement_changed(set, psprintf("Its result has %d columns where %d were expected.",
										   desc->natts, def->ncolumns));
	for (int i = 0; i < def->ncolumns; i++)
	{
		Oid			type = TupleDescAttr(desc, i)->atttypid;

		if (type != def->coltypes[i] && !(def->coltypes[i] == TEXTOID && type == VARCHAROID))
			um_statement_changed(set, psprintf("Column %d of its result is of type %s where %s was expected.",
											   i + 1, format_type_be(type), format_type_be(def->coltypes[i])));
	}
}

/*
 * A set-returning call's rows go from the executor straight into its
 * tuplestore, not through SPI's tuple table: one copy of each row, not two.
 * (DestTuplestore, not DestNone, so that SPI reports a SELECT as one.)
 */
typedef struct RowsReceiver
{
	DestReceiver pub;
	const StatementSet *set;
	const StatementDef *def;
	Tuplestorestate *store;
} RowsReceiver;

static void
rows_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	RowsReceiver *receiver = (RowsReceiver *) self;

	check_columns(receiver->set, receiver->def, typeinfo);
}

static bool
rows_receive(TupleTableSlot *slot, DestReceiver *self)
{
	tuplestore_puttupleslot(((RowsReceiver *) self)->store, slot);
	return true;
}

static void
rows_done(DestReceiver *self)
{
}

SPIPlanPtr
um_prepare_statement(const StatementDef *def, int cursor_options)
{
	SPIPlanPtr	plan = SPI_prepare_cursor(def->sql, def->nargs, (Oid *) def->argtypes, cursor_options);
	int			rc;

	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	if ((rc = SPI_keepplan(plan)) != 0)
		elog(ERROR, "SPI_keepplan failed: %s", SPI_result_code_string(rc));
	return plan;
}

void
um_run_statement(const StatementSet *set, int stmt, const Datum *values,
				 const bool *nulls, bool read_only, Tuplestorestate *store)
{
	const StatementDef *def = &set->defs[stmt];
	ParamListInfo params = makeParamList(def->nargs);
	RowsReceiver receiver = {
		{rows_receive, rows_startup, rows_done, rows_done, DestTuplestore}, set, def, store
	};
	SPIExecuteOptions options = {
		.params = params, .read_only = read_only, .dest = store ? &receiver.pub : NULL
	};
	int			rc;

	if (set->plans[stmt] == NULL)
		set->plans[stmt] = um_prepare_statement(def, set->per_call_plans_on_citus &&
												OidIsValid(get_extension_oid("citus", true)) ?
												0 : CURSOR_OPT_GENERIC_PLAN);
	for (int i = 0; i < def->nargs; i++)
	{
		params->params[i].value = values[i];
		params->params[i].isnull = nulls != NULL && nulls[i];
		params->params[i].pflags = PARAM_FLAG_CONST;
		params->params[i].ptype = def->argtypes[i];
	}
	rc = SPI_execute_plan_extended(set->plans[stmt], &options);
	if (rc != def->result)
		um_statement_changed(set, psprintf("The statement reported %s where %s was expected.",
										   SPI_result_code_string(rc), SPI_result_code_string(def->result)));
	if (store == NULL && def->ncolumns > 0)
		check_columns(set, def, SPI_tuptable->tupdesc);
}
