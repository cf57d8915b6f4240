/*-------------------------------------------------------------------------
 *
 * store_table.h
 *	  The columns of user_metadata.user_metadata (and of the extension's
 *	  small tables) that the C code reads and writes, found by name and
 *	  checked against the table's descriptor.
 *
 * src/store/store_table.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef STORE_TABLE_H
#define STORE_TABLE_H

#include "utils/relcache.h"

/* Attribute numbers of the columns, as the table has them now */
typedef struct StoreColumns
{
	AttrNumber	app_id;
	AttrNumber	user_id;
	AttrNumber	metadata;
	AttrNumber	created_at;
	AttrNumber	updated_at;
} StoreColumns;

/*
 * The columns of rel, which is user_metadata.user_metadata (in a trigger) or
 * what now bears its name: 42703 when one is missing, 42804 when one is not
 * of the type the extension reads it as.
 */
extern void um_store_columns(Relation rel, StoreColumns *columns);

/* The same check of the relation named user_metadata.user_metadata; 42P01 without one */
extern void um_check_store_table(void);

/*
 * The attribute number of column name, of type type, of rel, one of the
 * extension's small tables the C code reads (admin_scopes, document_rules):
 * 42804 with detail and hint when it has none of that type.
 */
extern AttrNumber um_table_column(Relation rel, const char *name, Oid type, const char *detail, const char *hint);

#endif							/* STORE_TABLE_H */
