/*-------------------------------------------------------------------------
 *
 * citus_table.h
 *	  Where the rows of the extension's tables are on this node once
 *	  Citus distributes them.
 *
 * src/citus/citus_table.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CITUS_TABLE_H
#define CITUS_TABLE_H

#include "utils/relcache.h"

/*
 * The relation holding the rows of table user_metadata.name on this node
 * (InvalidOid: no such table): the table itself, or when Citus manages it
 * its shard here, a reference table's or, for a trigger fired on shard
 * fired_on of the store, the co-located one.  55000 when this node has no
 * such shard.
 */
extern Oid	um_local_table(const char *name, Relation fired_on);

/* Whether Citus manages table user_metadata.name in this database */
extern bool um_citus_distributes(const char *name);

/*
 * Whether Citus routes a statement on table user_metadata.name: as
 * um_citus_distributes, without a catalog read where no Citus is loaded
 */
extern bool um_citus_routes(const char *name);

/*
 * 55000 when Citus distributes the store but not table user_metadata.name,
 * which call is about to write: a store distributed before 1.4 whose new
 * tables distribute_on_citus has not distributed yet
 */
extern void um_check_follows_store(const char *name, const char *call);

#endif							/* CITUS_TABLE_H */
