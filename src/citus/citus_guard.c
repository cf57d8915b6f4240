/*-------------------------------------------------------------------------
 *
 * citus_guard.c
 *	  Planner hook that refuses a NULL user id in a call of a per-user
 *	  admin function before Citus plans it.
 *
 * user_metadata.distribute_on_citus(delegate => true) makes the per-user
 * admin functions Citus distributed functions.  Citus 13.2 then hashes the
 * distribution argument of "SELECT f(...)" while planning, without looking
 * at its null flag: a NULL user id, literal or bound parameter, crashes the
 * backend and with it the whole server.  This hook runs before Citus's
 * planner (user_metadata comes after citus in shared_preload_libraries) and
 * raises the error the function itself raises for a NULL user id (22004),
 * in databases that have Citus.  It is installed only when user_metadata is
 * preloaded, as delegation requires (distribute_on_citus checks), and each
 * backend finds out once per change of pg_proc whether its database has
 * Citus and which functions are the per-user ones: elsewhere a plan costs
 * one flag check.
 *
 * The per-user functions are listed here only: distribute_on_citus and the
 * Citus suite read the list through user_metadata.per_user_functions().
 *
 * src/citus/citus_guard.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "funcapi.h"
#include "nodes/nodeFuncs.h"
#include "nodes/params.h"
#include "optimizer/optimizer.h"
#include "optimizer/planner.h"
#include "nodes/pathnodes.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "args.h"
#include "citus/citus_guard.h"

/*
 * The per-user admin functions: user_id text is their first argument, the
 * one Citus distributes them by
 */
static const struct
{
	const char *name;
	int			nargs;
	Oid			argtypes[3];
}			per_user[] = {
	{"get_user_metadata", 2, {TEXTOID, TEXTOID}},
	{"update_user_metadata", 3, {TEXTOID, JSONBOID, TEXTOID}},
	{"set_user_metadata", 3, {TEXTOID, JSONBOID, TEXTOID}},
	{"clear_user_metadata", 2, {TEXTOID, TEXTOID}},
	{"delete_user_metadata_key", 3, {TEXTOID, TEXTOID, TEXTOID}},
	{"forget_user", 2, {TEXTOID, TEXTOID}},
	{"user_metadata_history", 2, {TEXTOID, TEXTOID}},
	{"get_user_metadata_as_of", 3, {TEXTOID, TIMESTAMPTZOID, TEXTOID}},
};

typedef enum GuardState
{
	GUARD_UNKNOWN,				/* pg_proc changed since the last look */
	GUARD_OFF,					/* no Citus in this database */
	GUARD_ON
} GuardState;

static planner_hook_type prev_planner_hook = NULL;
static GuardState guard_state = GUARD_UNKNOWN;
static Oid	per_user_oids[lengthof(per_user)];

/* The OID of per_user[i], or InvalidOid when the extension has none */
static Oid
per_user_function(int i)
{
	return LookupFuncName(list_make2(makeString("user_metadata"), makeString(pstrdup(per_user[i].name))),
						  per_user[i].nargs, per_user[i].argtypes, true);
}

static void
guard_invalidate(Datum arg, int cacheid, uint32 hashvalue)
{
	guard_state = GUARD_UNKNOWN;
}

static bool
guard_is_on(void)
{
	if (guard_state == GUARD_UNKNOWN)
	{
		bool		citus = OidIsValid(get_extension_oid("citus", true));

		for (int i = 0; i < (int) lengthof(per_user); i++)
			per_user_oids[i] = citus ? per_user_function(i) : InvalidOid;
		guard_state = citus ? GUARD_ON : GUARD_OFF;
		elog(DEBUG1, "user_metadata: the Citus guard is %s in this database",
			 citus ? "on" : "off");
	}
	return guard_state == GUARD_ON;
}

static bool
is_per_user_function(Oid funcid)
{
	for (int i = 0; i < (int) lengthof(per_user); i++)
		if (per_user_oids[i] == funcid && OidIsValid(funcid))
			return true;
	return false;
}

/* Whether an argument is NULL when the statement runs, as far as planning knows */
static bool
argument_is_null(Node *arg, ParamListInfo params)
{
	arg = strip_implicit_coercions(arg);
	if (IsA(arg, Param) && ((Param *) arg)->paramkind == PARAM_EXTERN && params != NULL)
	{
		int			paramid = ((Param *) arg)->paramid;
		ParamExternData workspace;
		ParamExternData *prm;

		if (paramid < 1 || paramid > params->numParams)
			return false;
		prm = params->paramFetch != NULL ?
			params->paramFetch(params, paramid, false, &workspace) : &params->params[paramid - 1];
		return prm != NULL && prm->isnull;
	}
	if (!IsA(arg, Const))
	{
		/* fold with the bound parameters, as the planner will before Citus looks */
		PlannerGlobal glob = {.type = T_PlannerGlobal, .boundParams = params};
		PlannerInfo root = {.type = T_PlannerInfo, .glob = &glob};

		arg = eval_const_expressions(&root, copyObject(arg));
	}
	return IsA(arg, Const) && ((Const *) arg)->constisnull;
}

static void
check_call(Node *expr, ParamListInfo params)
{
	FuncExpr   *call;

	if (expr == NULL || !IsA(expr, FuncExpr))
		return;
	call = (FuncExpr *) expr;
	if (call->args != NIL && is_per_user_function(call->funcid) &&
		argument_is_null(linitial(call->args), params))
		um_null_id("user_id");
}

static PlannedStmt *
um_planner(Query *parse, const char *query_string, int cursor_options, ParamListInfo params)
{
	ListCell   *lc;

	/* Citus delegates SELECT f(...) and SELECT ... FROM f(...) */
	if (parse->commandType == CMD_SELECT && guard_is_on())
	{
		foreach(lc, parse->targetList)
			check_call((Node *) ((TargetEntry *) lfirst(lc))->expr, params);
		foreach(lc, parse->rtable)
		{
			RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);
			ListCell   *fc;

			if (rte->rtekind != RTE_FUNCTION)
				continue;
			foreach(fc, rte->functions)
				check_call(lfirst_node(RangeTblFunction, fc)->funcexpr, params);
		}
	}
	if (prev_planner_hook != NULL)
		return prev_planner_hook(parse, query_string, cursor_options, params);
	return standard_planner(parse, query_string, cursor_options, params);
}

void
um_install_citus_guard(void)
{
	prev_planner_hook = planner_hook;
	planner_hook = um_planner;
	CacheRegisterSyscacheCallback(PROCOID, guard_invalidate, (Datum) 0);
}

/*
 * per_user_functions() RETURNS SETOF regprocedure
 *
 * The per-user admin functions, which distribute_on_citus delegates.
 */
PG_FUNCTION_INFO_V1(per_user_functions);
Datum
per_user_functions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	for (int i = 0; i < (int) lengthof(per_user); i++)
	{
		Oid			fn_oid = per_user_function(i);
		Datum		value = ObjectIdGetDatum(fn_oid);
		bool		isnull = false;

		if (!OidIsValid(fn_oid))
			elog(ERROR, "function user_metadata.%s is missing", per_user[i].name);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
	}
	return (Datum) 0;
}
