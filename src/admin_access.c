/*-------------------------------------------------------------------------
 *
 * admin_access.c
 *	  The admin API's access rules: per-app scopes for calling roles, and
 *	  the owner's rights the calls then run with.
 *
 * The admin API is not SECURITY DEFINER: a definer function cannot know
 * who called it, and per-app scopes are about exactly that.  Each call
 * checks the calling role against user_metadata.admin_scopes, then acts as
 * the function's owner for its statements, as SECURITY DEFINER would; the
 * statements pin their own search path (store.c).
 *
 * A role that has the privileges of a role listed in admin_scopes is
 * confined to the apps listed for those roles; any other role granted
 * EXECUTE acts for every app, as in 1.1.  Superusers are never confined.
 * Each backend caches the table; a statement trigger on it sends a relcache
 * invalidation, so every backend reloads after a change commits.
 *
 * src/admin_access.c
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
#include "commands/trigger.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "admin_access.h"

typedef struct AppScope
{
	Oid			role;
	text	   *app_id;
} AppScope;

static AppScope *scopes;
static int	nscopes;
static bool scopes_valid = false;
static uint64 scopes_invalidations = 0;
static Oid	scopes_relid = InvalidOid;
static MemoryContext scopes_context = NULL;

static void
invalidate_scopes(Datum arg, Oid relid)
{
	/* before the table exists, any new relation may be it */
	if (!OidIsValid(scopes_relid) || !OidIsValid(relid) || relid == scopes_relid)
	{
		scopes_valid = false;
		scopes_invalidations++;
	}
}

/* Read user_metadata.admin_scopes, if it exists, into the cache */
static void
load_scopes(void)
{
	Oid			nspid;
	Relation	rel;
	TableScanDesc scan;
	Snapshot	snapshot;
	HeapTuple	tuple;
	MemoryContext oldcontext;
	uint64		start;
	int			allocated = 8;

	if (scopes_context == NULL)
	{
		scopes_context = AllocSetContextCreate(CacheMemoryContext, "user_metadata admin scopes",
											   ALLOCSET_SMALL_SIZES);
		CacheRegisterRelcacheCallback(invalidate_scopes, (Datum) 0);
	}
	MemoryContextReset(scopes_context);
	scopes = NULL;
	nscopes = 0;

	/*
	 * Valid only once the whole table is read, and only if no invalidation
	 * came meanwhile: a load cut short by an error (a cancel, a lock
	 * timeout) must not leave a cache that confines nobody.
	 */
	scopes_valid = false;
	start = scopes_invalidations;
	nspid = get_namespace_oid("user_metadata", true);
	scopes_relid = OidIsValid(nspid) ? get_relname_relid("admin_scopes", nspid) : InvalidOid;
	if (!OidIsValid(scopes_relid))
	{
		scopes_valid = scopes_invalidations == start;
		return;					/* a version before 1.2: no scopes */
	}

	scopes = MemoryContextAlloc(scopes_context, allocated * sizeof(AppScope));
	rel = table_open(scopes_relid, AccessShareLock);
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = table_beginscan(rel, snapshot, 0, NULL);
	while ((tuple = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull[2];
		Datum		values[2];

		heap_deform_tuple(tuple, RelationGetDescr(rel), values, isnull);
		if (isnull[0] || isnull[1])
			continue;			/* NOT NULL columns: cannot happen */
		if (nscopes == allocated)
		{
			allocated *= 2;
			scopes = repalloc(scopes, allocated * sizeof(AppScope));
		}
		scopes[nscopes].role = DatumGetObjectId(values[0]);
		oldcontext = MemoryContextSwitchTo(scopes_context);
		scopes[nscopes].app_id = DatumGetTextPCopy(values[1]);
		MemoryContextSwitchTo(oldcontext);
		nscopes++;
	}
	table_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
	scopes_valid = scopes_invalidations == start;
}

static bool
same_text(text *a, text *b)
{
	return VARSIZE_ANY_EXHDR(a) == VARSIZE_ANY_EXHDR(b) &&
		memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) == 0;
}

static void
require_app_admin(Oid roleid, text *app_id)
{
	bool		confined = false;

	if (!scopes_valid)
		load_scopes();
	if (nscopes == 0 || superuser_arg(roleid))
		return;
	for (int i = 0; i < nscopes; i++)
	{
		if (!has_privs_of_role(roleid, scopes[i].role))
			continue;
		if (same_text(scopes[i].app_id, app_id))
			return;
		confined = true;
	}
	if (confined)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for app \"%s\"", text_to_cstring(app_id)),
				 errdetail("Role \"%s\" may use the user_metadata admin API only for the apps user_metadata.admin_scopes lists for it.",
						   GetUserNameFromId(roleid, false)),
				 errhint("Ask the database owner to add a row (role, app_id) to user_metadata.admin_scopes.")));
}

void
um_admin_begin(FunctionCallInfo fcinfo, text *app_id, UmOwnerSwitch *sw)
{
	HeapTuple	proc;
	Oid			owner;

	GetUserIdAndSecContext(&sw->save_userid, &sw->save_sec_context);
	if (app_id != NULL)
		require_app_admin(sw->save_userid, app_id);

	proc = SearchSysCache1(PROCOID, ObjectIdGetDatum(fcinfo->flinfo->fn_oid));
	if (!HeapTupleIsValid(proc))
		elog(ERROR, "cache lookup failed for function %u", fcinfo->flinfo->fn_oid);
	owner = ((Form_pg_proc) GETSTRUCT(proc))->proowner;
	ReleaseSysCache(proc);

	SetUserIdAndSecContext(owner, sw->save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
}

void
um_admin_end(const UmOwnerSwitch *sw)
{
	SetUserIdAndSecContext(sw->save_userid, sw->save_sec_context);
}

/*
 * admin_scopes_changed() RETURNS trigger
 *
 * AFTER ... FOR EACH STATEMENT on user_metadata.admin_scopes: have every
 * backend reload the scopes once the change commits.
 */
PG_FUNCTION_INFO_V1(admin_scopes_changed);
Datum
admin_scopes_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("admin_scopes_changed must be called as a trigger")));
	CacheInvalidateRelcache(trigdata->tg_relation);
	return PointerGetDatum(NULL);
}
