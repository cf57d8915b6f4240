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
 * The table is read on every call, never cached: a cache kept valid by a
 * trigger failed open when the trigger did not fire (replica mode,
 * DISABLE TRIGGER).
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
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "admin_access.h"

#define SCOPES_HINT "Give user_metadata.admin_scopes back its columns role regrole and app_id text, as CREATE EXTENSION made them."

/* The attribute number of column name of admin_scopes, of type type */
static AttrNumber
scopes_column(Relation rel, const char *name, Oid type)
{
	TupleDesc	desc = RelationGetDescr(rel);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || strcmp(NameStr(att->attname), name) != 0)
			continue;
		if (att->atttypid != type)
			break;
		return att->attnum;
	}
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("table user_metadata.admin_scopes has no column \"%s\" of type %s",
					name, format_type_be(type)),
			 errdetail("The admin API reads the scopes from that column, and refuses every call of a role that is not a superuser until it can."),
			 errhint(SCOPES_HINT)));
	pg_unreachable();
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
		return;					/* a version before 1.2: no scopes */

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

			allowed = VARSIZE_ANY_EXHDR(scope) == VARSIZE_ANY_EXHDR(app_id) &&
				memcmp(VARDATA_ANY(scope), VARDATA_ANY(app_id), VARSIZE_ANY_EXHDR(app_id)) == 0;
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
 * AFTER ... FOR EACH STATEMENT on user_metadata.admin_scopes, as 1.2
 * installs it.  The scopes are no longer cached (require_app_admin reads
 * them on every call), so the invalidation it sends only costs a relcache
 * rebuild; the trigger goes with the next version's upgrade script.
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
