/*-------------------------------------------------------------------------
 *
 * notify.c
 *	  Change notifications: NOTIFY user_metadata, '{"app_id": ..., "user_id": ...}'
 *	  for every changed user document, when user_metadata.notify is on.
 *
 * Fired as an AFTER ROW trigger on user_metadata.user_metadata, so direct
 * writes by client roles notify as well as the functions do.  NOTIFY itself
 * delivers only at commit, never for a rolled-back change, and folds
 * identical payloads of one transaction into one: at most one notification
 * per user per transaction.
 *
 * src/store/notify.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/async.h"
#include "commands/trigger.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/rel.h"

#include "store/store_table.h"
#include "user_metadata.h"

#define NOTIFY_CHANNEL "user_metadata"

/* user_metadata.notify: send a notification for every committed change */
static bool notify_enabled = false;

void
um_notify_init(void)
{
	/* superuser-only, so that a writer cannot silence its own changes */
	DefineCustomBoolVariable("user_metadata.notify",
							 "Notify channel user_metadata at commit for every changed user document.",
							 "Set it with ALTER DATABASE or ALTER ROLE ... SET as a superuser.",
							 &notify_enabled,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
}

/* One id of the row as a JSON string, null when the row has none */
static void
append_id(StringInfo payload, HeapTuple tuple, TupleDesc tupdesc, AttrNumber attnum)
{
	bool		isnull;
	Datum		id = heap_getattr(tuple, attnum, tupdesc, &isnull);

	if (isnull)
		appendStringInfoString(payload, "null");
	else
		escape_json(payload, TextDatumGetCString(id));
}

static void
notify_document(HeapTuple tuple, TupleDesc tupdesc, const StoreColumns *columns)
{
	StringInfoData payload;

	initStringInfo(&payload);
	appendStringInfoString(&payload, "{\"app_id\": ");
	append_id(&payload, tuple, tupdesc, columns->app_id);
	appendStringInfoString(&payload, ", \"user_id\": ");
	append_id(&payload, tuple, tupdesc, columns->user_id);
	appendStringInfoChar(&payload, '}');
	Async_Notify(NOTIFY_CHANNEL, payload.data);
	pfree(payload.data);
}

/*
 * notify_change() RETURNS trigger
 */
PG_FUNCTION_INFO_V1(notify_change);
Datum
notify_change(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	tupdesc;
	StoreColumns columns;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("notify_change must be fired AFTER ... FOR EACH ROW")));
	if (!notify_enabled)
		return PointerGetDatum(NULL);

	tupdesc = RelationGetDescr(trigdata->tg_relation);
	um_store_columns(trigdata->tg_relation, &columns);
	notify_document(trigdata->tg_trigtuple, tupdesc, &columns);
	/* an UPDATE that moves a document to another id changes both */
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		notify_document(trigdata->tg_newtuple, tupdesc, &columns);
	return PointerGetDatum(NULL);
}
