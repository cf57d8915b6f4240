/*-------------------------------------------------------------------------
 *
 * citus_table.h
 *	  What does not work yet once Citus distributes the store's table.
 *
 * src/citus/citus_table.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CITUS_TABLE_H
#define CITUS_TABLE_H

/*
 * 0A000 when Citus distributes user_metadata.user_metadata: feature (such
 * as "change history") is read by triggers that fire on the workers'
 * shards, which do not see the coordinator's settings of it.
 */
extern void um_refuse_on_citus(const char *feature, const char *call);

#endif							/* CITUS_TABLE_H */
