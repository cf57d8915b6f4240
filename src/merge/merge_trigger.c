/*-------------------------------------------------------------------------
 *
 * merge_trigger.c
 *	  A row trigger that turns plain writes of jsonb columns into merges.
 *
 *	  CREATE TRIGGER ... BEFORE INSERT OR UPDATE ON t FOR EACH ROW
 *	  EXECUTE FUNCTION user_metadata.merge_trigger('settings', ...);
 *
 * On UPDATE each named column becomes jsonb_merge(OLD.col, NEW.col), so
 * UPDATE t SET settings = '{"theme": null}' acts as a patch; on INSERT it
 * becomes jsonb_merge(NULL, NEW.col), which drops root nulls.
 *
 * src/merge/merge_trigger.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/jsonb.h"
#include "utils/rel.h"

#include "merge/jsonb_merge.h"

typedef struct MergeColumn
{
	const char *column;
	Relation	relation;
} MergeColumn;

static void
merge_column_context(void *arg)
{
	MergeColumn *mc = (MergeColumn *) arg;

	errcontext("merge_trigger on column \"%s\" of table \"%s\"",
			   mc->column, RelationGetRelationName(mc->relation));
}

static int
jsonb_column(Relation relation, const char *column)
{
	TupleDesc	tupdesc = RelationGetDescr(relation);
	int			attnum = SPI_fnumber(tupdesc, column);

	if (attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of table \"%s\" does not exist",
						column, RelationGetRelationName(relation)),
				 errhint("Name existing jsonb columns in the trigger's arguments.")));
	if (TupleDescAttr(tupdesc, attnum - 1)->atttypid != JSONBOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of table \"%s\" is not of type jsonb",
						column, RelationGetRelationName(relation)),
				 errhint("merge_trigger merges jsonb columns only.")));
	return attnum;
}

/*
 * A value of the column as a Jsonb object, the stored (OLD) or the new one.
 * A stored JSON null counts as {}.
 */
static Jsonb *
column_object(Datum value, bool stored, const MergeColumn *mc)
{
	Jsonb	   *jb = DatumGetJsonbP(value);

	if (!JB_ROOT_IS_OBJECT(jb) && !(stored && um_is_json_null(jb)))
		um_not_an_object(jb,
						 psprintf("the %s value of column \"%s\" of table \"%s\"",
								  stored ? "stored" : "new", mc->column, RelationGetRelationName(mc->relation)),
						 "merge_trigger merges JSON objects: on UPDATE the new value is a patch such as {\"theme\": \"dark\"}.");
	return jb;
}

/*
 * merge_trigger() RETURNS trigger
 */
PG_FUNCTION_INFO_V1(merge_trigger);
Datum
merge_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Trigger    *trigger;
	Relation	relation;
	TupleDesc	tupdesc;
	HeapTuple	newtuple;
	HeapTuple	oldtuple = NULL;
	int		   *attnums;
	Datum	   *values;
	bool	   *nulls;
	MergeColumn mc;
	ErrorContextCallback errcallback;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!(TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) || TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("merge_trigger must be fired BEFORE INSERT OR UPDATE FOR EACH ROW")));

	trigger = trigdata->tg_trigger;
	relation = trigdata->tg_relation;
	tupdesc = RelationGetDescr(relation);
	if (trigger->tgnargs == 0)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("merge_trigger on table \"%s\" names no columns",
						RelationGetRelationName(relation)),
				 errhint("Pass the jsonb columns to merge, as in merge_trigger('settings').")));

	newtuple = trigdata->tg_trigtuple;
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		oldtuple = trigdata->tg_trigtuple;
		newtuple = trigdata->tg_newtuple;
	}

	attnums = palloc(trigger->tgnargs * sizeof(int));
	values = palloc(trigger->tgnargs * sizeof(Datum));
	nulls = palloc(trigger->tgnargs * sizeof(bool));

	mc.relation = relation;
	errcallback.callback = merge_column_context;
	errcallback.arg = &mc;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	for (int i = 0; i < trigger->tgnargs; i++)
	{
		Jsonb	   *stored = NULL;
		Jsonb	   *patch = NULL;
		bool		isnull;
		Datum		value;

		mc.column = trigger->tgargs[i];
		attnums[i] = jsonb_column(relation, mc.column);
		value = heap_getattr(newtuple, attnums[i], tupdesc, &isnull);
		if (!isnull)
			patch = column_object(value, false, &mc);
		if (oldtuple != NULL)
		{
			value = heap_getattr(oldtuple, attnums[i], tupdesc, &isnull);
			if (!isnull)
				stored = column_object(value, true, &mc);
		}
		values[i] = JsonbPGetDatum(um_merge_root(stored, patch));
		nulls[i] = false;
	}

	error_context_stack = errcallback.previous;

	return PointerGetDatum(heap_modify_tuple_by_cols(newtuple, tupdesc, trigger->tgnargs,
													 attnums, values, nulls));
}
