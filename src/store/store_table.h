/*-------------------------------------------------------------------------
 *
 * store_table.h
 *	  The columns of user_metadata.user_metadata that the C code reads and
 *	  writes, found by name and checked against the table's descriptor.
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

#endif							/* STORE_TABLE_H */
