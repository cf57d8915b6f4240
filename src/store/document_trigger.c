/*-------------------------------------------------------------------------
 *
 * document_trigger.c
 *	  The rules every write of user_metadata.user_metadata follows, held by
 *	  its BEFORE INSERT OR UPDATE row trigger normalize_document.
 *
 * Direct writes by client roles and the store's own statements alike: the
 * document is a JSON object without root nulls within max_document_bytes,
 * created_at is set on insert and kept, updated_at is set on every write.
 * Keeping timestamps here, not in the store's statements, leaves the
 * upsert's SET clause free of now(), which Citus requires of distributed
 * tables.  The table's owner (and superusers, who can disable triggers
 * anyway) may insert rows with their timestamps: pg_restore and resharding
 * copy rows as they were.  The document also follows the per-app rules of
 * user_metadata.document_rules (document_rules.c).
 *
 * src/store/document_trigger.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "merge/jsonb_merge.h"
#include "store/document_rules.h"
#include "pg_compat.h"
#include "store/store_table.h"
#include "user_metadata.h"

/* 1 MB: far above preferences and flags, far below jsonb's 256 MB ceiling */
#define DEFAULT_MAX_DOCUMENT_BYTES (1024 * 1024)

/* user_metadata.max_document_bytes: largest stored document, 0 = no limit */
static int	max_document_bytes = DEFAULT_MAX_DOCUMENT_BYTES;

void
um_document_trigger_init(void)
{
	DefineCustomIntVariable("user_metadata.max_document_bytes",
							"Largest user metadata document a write may store.",
							"Measured as the stored jsonb size in bytes before compression; 0 disables the limit.",
							&max_document_bytes,
							DEFAULT_MAX_DOCUMENT_BYTES,
							0, MaxAllocSize,
							PGC_SUSET,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);
}

static void
check_document_size(Jsonb *document)
{
	Size		size = VARSIZE(document);

	if (max_document_bytes > 0 && size > (Size) max_document_bytes)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("user metadata document is too large"),
				 errdetail("The document would take %zu bytes; user_metadata.max_document_bytes allows %d.",
						   size, max_document_bytes),
				 errhint("Store less data for this user, or raise user_metadata.max_document_bytes.")));
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
	StoreColumns columns;
	int			attnums[3];
	Datum		values[3];
	bool		isnull[3] = {false, false, false};
	int			ncolumns = 1;
	Jsonb	   *document;
	Jsonb	   *normal;
	Datum		now;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) || TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("normalize_document must be fired BEFORE INSERT OR UPDATE FOR EACH ROW")));

	tupdesc = RelationGetDescr(trigdata->tg_relation);
	tuple = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? trigdata->tg_newtuple : trigdata->tg_trigtuple;
	um_store_columns(trigdata->tg_relation, &columns);
	attnums[0] = columns.metadata;
	attnums[1] = columns.created_at;
	attnums[2] = columns.updated_at;

	values[0] = heap_getattr(tuple, columns.metadata, tupdesc, &isnull[0]);
	if (isnull[0])
		return PointerGetDatum(tuple);	/* the NOT NULL constraint reports it */
	document = DatumGetJsonbP(values[0]);
	if (!JB_ROOT_IS_OBJECT(document))
		um_not_an_object(document, "column \"metadata\"",
						 "User metadata is an object of root keys, such as {\"theme\": \"dark\"}.");
	normal = um_merge_root(NULL, document);
	check_document_size(normal);
	{
		bool		app_null;
		bool		user_null;
		Datum		app_id = heap_getattr(tuple, columns.app_id, tupdesc, &app_null);
		Datum		user_id = heap_getattr(tuple, columns.user_id, tupdesc, &user_null);

		/* a NULL id: the NOT NULL constraint reports it */
		if (!app_null && !user_null)
			um_check_document_rules(fcinfo->flinfo, trigdata->tg_relation, DatumGetTextPP(app_id), DatumGetTextPP(user_id), normal);
	}
	if (normal != document)
		values[0] = JsonbPGetDatum(normal);

	now = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		values[1] = heap_getattr(trigdata->tg_trigtuple, columns.created_at, tupdesc, &isnull[1]);
		values[2] = now;
		ncolumns = 3;
	}
	else if (!um_relation_ownercheck(RelationGetRelid(trigdata->tg_relation), GetUserId()))
	{
		values[1] = values[2] = now;
		ncolumns = 3;
	}
	else if (normal == document)
		return PointerGetDatum(tuple);

	return PointerGetDatum(heap_modify_tuple_by_cols(tuple, tupdesc, ncolumns, attnums, values, isnull));
}
