/*-------------------------------------------------------------------------
 *
 * store_table.c
 *	  The columns of user_metadata.user_metadata that the C code relies on,
 *	  and the calls of its CHECK constraints.
 *
 * A DBA may add, drop, re-add, rename or retype columns of the table.  The
 * C code therefore never reads a column by a fixed position: the triggers
 * find each column by name in the descriptor of the row they are given, and
 * the store checks the table before each statement, so that a column that
 * is missing or of another type is a clear error instead of a datum read as
 * the wrong type.  Ids may be text or varchar, whose datums are alike.
 *
 * src/store/store_table.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/relation.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "store/store_table.h"

#define STORE_HINT "Give user_metadata.user_metadata back the columns app_id text, user_id text, metadata jsonb, created_at timestamptz and updated_at timestamptz, as CREATE EXTENSION made them."

/* The attribute number of column name of rel, of type type or also alt */
static AttrNumber
store_column(Relation rel, const char *name, Oid type, Oid alt)
{
	TupleDesc	desc = RelationGetDescr(rel);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || strcmp(NameStr(att->attname), name) != 0)
			continue;
		if (att->atttypid != type && att->atttypid != alt)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of table \"%s\" is of type %s, not %s",
							name, RelationGetRelationName(rel),
							format_type_be(att->atttypid), format_type_be(type)),
					 errdetail("The user_metadata functions and triggers read that column as %s.",
							   format_type_be(type)),
					 errhint(STORE_HINT)));
		return att->attnum;
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("column \"%s\" of table \"%s\" does not exist", name, RelationGetRelationName(rel)),
			 errdetail("The user_metadata functions and triggers read and write that column."),
			 errhint(STORE_HINT)));
	pg_unreachable();
}

void
um_store_columns(Relation rel, StoreColumns *columns)
{
	columns->app_id = store_column(rel, "app_id", TEXTOID, VARCHAROID);
	columns->user_id = store_column(rel, "user_id", TEXTOID, VARCHAROID);
	columns->metadata = store_column(rel, "metadata", JSONBOID, JSONBOID);
	columns->created_at = store_column(rel, "created_at", TIMESTAMPTZOID, TIMESTAMPTZOID);
	columns->updated_at = store_column(rel, "updated_at", TIMESTAMPTZOID, TIMESTAMPTZOID);
}

void
um_check_store_table(void)
{
	Oid			nspid = get_namespace_oid("user_metadata", false);
	Oid			relid = get_relname_relid("user_metadata", nspid);
	Relation	rel;
	StoreColumns columns;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"user_metadata.user_metadata\" does not exist"),
				 errhint(STORE_HINT)));
	/* the lock the statement takes anyway keeps the columns as checked */
	rel = relation_open(relid, AccessShareLock);
	um_store_columns(rel, &columns);
	relation_close(rel, NoLock);
}

AttrNumber
um_table_column(Relation rel, const char *name, Oid type, const char *detail, const char *hint)
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
			 errmsg("table user_metadata.%s has no column \"%s\" of type %s",
					RelationGetRelationName(rel), name, format_type_be(type)),
			 errdetail("%s", detail),
			 errhint("%s", hint)));
	pg_unreachable();
}

/*
 * The CHECK constraints are one call of C each, not SQL expressions (as up
 * to 1.3): the executor rebuilds a CHECK's expression from its stored text
 * at the start of every statement that writes the table, and for those
 * expressions that took a third of a single-row upsert.
 */

/*
 * ids_valid(app_id text, user_id text) RETURNS boolean
 *
 * CHECK user_metadata_ids_valid: each id 1 to 512 bytes, counted as
 * octet_length() counts them.
 */
PG_FUNCTION_INFO_V1(ids_valid);
Datum
ids_valid(PG_FUNCTION_ARGS)
{
	Size		app_id = toast_raw_datum_size(PG_GETARG_DATUM(0)) - VARHDRSZ;
	Size		user_id = toast_raw_datum_size(PG_GETARG_DATUM(1)) - VARHDRSZ;

	PG_RETURN_BOOL(app_id >= 1 && app_id <= 512 && user_id >= 1 && user_id <= 512);
}

/*
 * metadata_is_object(metadata jsonb) RETURNS boolean
 *
 * CHECK user_metadata_metadata_is_object: a JSON object, as
 * jsonb_typeof() = 'object'.  Only the root container's header is read: an
 * UPDATE that keeps a compressed or TOASTed document is not expanded for it.
 */
PG_FUNCTION_INFO_V1(metadata_is_object);
Datum
metadata_is_object(PG_FUNCTION_ARGS)
{
	struct varlena *metadata = (struct varlena *) PG_GETARG_POINTER(0);

	/* the merge's new documents are plain: read in place */
	if (VARATT_IS_EXTENDED(metadata))
		metadata = PG_DETOAST_DATUM_SLICE(PointerGetDatum(metadata), 0, sizeof(uint32));
	PG_RETURN_BOOL(VARSIZE(metadata) - VARHDRSZ >= sizeof(uint32) &&
				   (*(uint32 *) VARDATA(metadata) & JB_FOBJECT) != 0);
}
