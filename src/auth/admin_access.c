/*-------------------------------------------------------------------------
 *
 * admin_access.c
 *	  The admin API's access rules: per-app scopes for calling roles, and
 *	  the owner's rights the calls then run with.
 *
 * An admin API function is itself SECURITY INVOKER: a definer function
 * cannot know who called it, and per-app scopes are about exactly that.
 * Each call checks the calling role against user_metadata.admin_scopes,
 * then does its work inside user_metadata.run_as_owner, the extension's one
 * SECURITY DEFINER function, whose SET search_path = pg_catalog, pg_temp
 * is declared in the catalogs with it.  Work already inside a definer's
 * switch with exactly those rights and that search path (the history
 * trigger fired by an admin API statement) is done in place when no
 * fmgr_hook asks for run_as_owner: there is nothing to raise.
 *
 * A role that has the privileges of a role listed in admin_scopes is
 * confined to the apps listed for those roles; any other role granted
 * EXECUTE acts for every app, as in 1.1.  Superusers are never confined.
 * The table is read on every call, never cached: a cache kept valid by a
 * trigger failed open when the trigger did not fire (replica mode,
 * DISABLE TRIGGER).
 *
 * src/auth/admin_access.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "args.h"
#include "auth/admin_access.h"
#include "store/store_table.h"

static bool find_owner_function(void);

#define SCOPES_HINT "Give user_metadata.admin_scopes back its columns role regrole and app_id text, as CREATE EXTENSION made them."

/* The attribute number of column name of admin_scopes, of type type */
static AttrNumber
scopes_column(Relation rel, const char *name, Oid type)
{
	return um_table_column(rel, name, type,
						   "The admin API reads the scopes from that column, and refuses every call of a role that is not a superuser until it can.",
						   SCOPES_HINT);
}

/*
 * Raise 42501 unless roleid may act for app_id.  The scopes are read on
 * every call, with the latest snapshot, straight from the table: whatever
 * wrote them (in replica mode, with triggers disabled, by pg_restore), the
 * next call of every session sees the committed change, and a read cut
 * short by an error or a cancel fails the call.  The table is tiny.
 */
static void
require_app_admin(Oid roleid, text *app_id)
{
	Oid			nspid;
	Oid			relid;
	Relation	rel;
	TableScanDesc scan;
	Snapshot	snapshot;
	HeapTuple	tuple;
	AttrNumber	role_attnum;
	AttrNumber	app_attnum;
	bool		listed = false;
	bool		allowed = false;

	if (superuser_arg(roleid))
		return;
	nspid = get_namespace_oid("user_metadata", false);
	relid = get_relname_relid("admin_scopes", nspid);
	if (!OidIsValid(relid))
	{
		if (!find_owner_function())
			return;				/* a version before 1.2: no scopes */
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table user_metadata.admin_scopes does not exist"),
				 errdetail("The admin API reads the scopes from that table, and refuses every call of a role that is not a superuser until it can."),
				 errhint("Restore the table from a dump, or recreate the extension.")));
	}

	rel = table_open(relid, AccessShareLock);
	role_attnum = scopes_column(rel, "role", REGROLEOID);
	app_attnum = scopes_column(rel, "app_id", TEXTOID);
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = table_beginscan(rel, snapshot, 0, NULL);
	while (!allowed && (tuple = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		role_null;
		bool		app_null;
		Datum		role = heap_getattr(tuple, role_attnum, RelationGetDescr(rel), &role_null);
		Datum		app = heap_getattr(tuple, app_attnum, RelationGetDescr(rel), &app_null);

		if (role_null || !has_privs_of_role(roleid, DatumGetObjectId(role)))
			continue;
		listed = true;
		if (!app_null)
		{
			text	   *scope = DatumGetTextPP(app);

			allowed = um_same_id(scope, app_id);
		}
	}
	table_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);

	if (listed && !allowed)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for app \"%s\"", text_to_cstring(app_id)),
				 errdetail("Role \"%s\" may use the user_metadata admin API only for the apps user_metadata.admin_scopes lists for it.",
						   GetUserNameFromId(roleid, false)),
				 errhint("Ask the database owner to add a row (role, app_id) to user_metadata.admin_scopes.")));
}

/*
 * What run_as_owner runs: the work of one admin API call, and its result
 */
typedef struct AdminCall
{
	UmAdminAction action;
	FunctionCallInfo fcinfo;
	void	   *arg;
	Datum		result;
} AdminCall;

/*
 * user_metadata.run_as_owner(internal), found once and kept until pg_proc
 * changes; absent before version 1.3.
 */
typedef enum OwnerFunctionState
{
	OWNER_FUNCTION_UNKNOWN,
	OWNER_FUNCTION_ABSENT,
	OWNER_FUNCTION_FOUND
} OwnerFunctionState;

static OwnerFunctionState owner_function_state = OWNER_FUNCTION_UNKNOWN;
static FmgrInfo owner_function;
static MemoryContext owner_function_context = NULL;
/* its owner, and the search path its SET clause declares (NULL: none) */
static Oid	owner_function_owner;
static char *owner_search_path;

static void
owner_function_changed(Datum arg, int cacheid, uint32 hashvalue)
{
	owner_function_state = OWNER_FUNCTION_UNKNOWN;
}

static bool
find_owner_function(void)
{
	Oid			argtype = INTERNALOID;
	Oid			fn_oid;

	if (owner_function_state != OWNER_FUNCTION_UNKNOWN)
		return owner_function_state == OWNER_FUNCTION_FOUND;

	fn_oid = LookupFuncName(list_make2(makeString("user_metadata"), makeString("run_as_owner")),
							1, &argtype, true);
	if (owner_function_context == NULL)
		owner_function_context = AllocSetContextCreate(TopMemoryContext, "user_metadata run_as_owner",
													   ALLOCSET_SMALL_SIZES);
	MemoryContextReset(owner_function_context);
	owner_search_path = NULL;
	if (OidIsValid(fn_oid))
	{
		HeapTuple	proc = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn_oid));
		bool		isnull;
		Datum		config;

		if (!HeapTupleIsValid(proc))
			elog(ERROR, "cache lookup failed for function %u", fn_oid);
		owner_function_owner = ((Form_pg_proc) GETSTRUCT(proc))->proowner;
		config = SysCacheGetAttr(PROCOID, proc, Anum_pg_proc_proconfig, &isnull);
		if (!isnull)
		{
			Datum	   *settings;
			int			nsettings;

			deconstruct_array(DatumGetArrayTypeP(config), TEXTOID, -1, false, TYPALIGN_INT,
							  &settings, NULL, &nsettings);
			/* its only setting: any other would have to be applied too */
			if (nsettings == 1)
			{
				char	   *setting = TextDatumGetCString(settings[0]);

				if (strncmp(setting, "search_path=", 12) == 0)
					owner_search_path = MemoryContextStrdup(owner_function_context, setting + 12);
			}
		}
		ReleaseSysCache(proc);
		fmgr_info_cxt(fn_oid, &owner_function, owner_function_context);
	}
	owner_function_state = OidIsValid(fn_oid) ? OWNER_FUNCTION_FOUND : OWNER_FUNCTION_ABSENT;
	return owner_function_state == OWNER_FUNCTION_FOUND;
}

/*
 * The owner's rights come from the catalogs: fmgr runs run_as_owner, a
 * SECURITY DEFINER function with SET search_path, as for any other call,
 * fmgr_hook included.  Before ALTER EXTENSION ... UPDATE to 1.3 there is
 * none: 1.0's single-user calls are SECURITY DEFINER themselves, and the
 * other functions run with their caller's rights, which fails closed
 * (42501 on the table) for every role but a superuser.
 */
Datum
um_admin_call(FunctionCallInfo fcinfo, text *app_id, UmAdminAction action, void *arg)
{
	AdminCall	call = {action, fcinfo, arg, (Datum) 0};

	if (app_id != NULL)
		require_app_admin(GetUserId(), app_id);
	if (!find_owner_function())
		return action(fcinfo, arg);
	/*
	 * Already inside a definer's switch with the rights and the search path
	 * run_as_owner would give (a trigger fired by the statement of an admin
	 * API call), and no fmgr_hook to run: nothing to raise.
	 */
	if (InLocalUserIdChange() && GetUserId() == owner_function_owner &&
		owner_search_path != NULL && strcmp(namespace_search_path, owner_search_path) == 0 &&
		!FmgrHookIsNeeded(owner_function.fn_oid))
		return action(fcinfo, arg);
	(void) FunctionCall1(&owner_function, PointerGetDatum(&call));
	return call.result;
}

/*
 * run_as_owner(internal) RETURNS internal
 *
 * SECURITY DEFINER, SET search_path = pg_catalog, pg_temp; not executable
 * by PUBLIC, and no SQL caller can make an internal argument: only
 * um_admin_call calls it, through fmgr.
 */
PG_FUNCTION_INFO_V1(run_as_owner);
Datum
run_as_owner(PG_FUNCTION_ARGS)
{
	AdminCall  *call = (AdminCall *) PG_GETARG_POINTER(0);

	call->result = call->action(call->fcinfo, call->arg);
	PG_RETURN_POINTER(call);
}

void
um_admin_access_init(void)
{
	CacheRegisterSyscacheCallback(PROCOID, owner_function_changed, (Datum) 0);
}

/*
 * admin_scopes_changed() RETURNS trigger
 *
 * Version 1.2's statement trigger on user_metadata.admin_scopes, kept
 * until ALTER EXTENSION ... UPDATE drops it: the scopes are no longer
 * cached, so it has nothing to do.
 */
PG_FUNCTION_INFO_V1(admin_scopes_changed);
Datum
admin_scopes_changed(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("admin_scopes_changed must be called as a trigger")));
	return PointerGetDatum(NULL);
}
