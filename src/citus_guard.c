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
 * in databases that have Citus.  Only statements of the shapes Citus
 * delegates are inspected, and the catalog is consulted only for a
 * top-level function call.
 *
 * src/citus_guard.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "nodes/nodeFuncs.h"
#include "nodes/params.h"
#include "optimizer/optimizer.h"
#include "optimizer/planner.h"
#include "nodes/pathnodes.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "args.h"
#include "citus_guard.h"

static planner_hook_type prev_planner_hook = NULL;

/* The per-user admin functions: schema user_metadata, user_id text first */
static bool
is_per_user_admin_function(Oid funcid)
{
	static const char *const names[] = {
		"get_user_metadata", "update_user_metadata", "set_user_metadata", "clear_user_metadata"
	};
	HeapTuple	tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	Form_pg_proc proc;
	bool		found = false;

	if (!HeapTupleIsValid(tuple))
		return false;
	proc = (Form_pg_proc) GETSTRUCT(tuple);
	if (proc->pronargs >= 1 && proc->proargtypes.values[0] == TEXTOID)
	{
		for (size_t i = 0; i < lengthof(names) && !found; i++)
			found = strcmp(NameStr(proc->proname), names[i]) == 0;
		if (found)
		{
			char	   *nspname = get_namespace_name(proc->pronamespace);

			found = nspname != NULL && strcmp(nspname, "user_metadata") == 0;
		}
	}
	ReleaseSysCache(tuple);
	return found;
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
	if (call->args == NIL || !is_per_user_admin_function(call->funcid))
		return;
	/* without Citus the function reports the NULL itself, when it runs */
	if (argument_is_null(linitial(call->args), params) && OidIsValid(get_extension_oid("citus", true)))
		um_null_id("user_id");
}

static PlannedStmt *
um_planner(Query *parse, const char *query_string, int cursor_options, ParamListInfo params)
{
	ListCell   *lc;

	/* Citus delegates SELECT f(...) and SELECT ... FROM f(...) */
	if (parse->commandType == CMD_SELECT)
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
}
