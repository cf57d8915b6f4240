/*-------------------------------------------------------------------------
 *
 * citus_table.c
 *	  The features that do not follow the store onto Citus's workers yet
 *	  refuse to be turned on once Citus distributes it.
 *
 * The document rules and the change history are read by the store's row
 * triggers, straight from user_metadata.document_rules and
 * user_metadata.history_settings of the node they fire on.  Distributed,
 * the triggers fire on the workers' shards, whose nodes hold no settings
 * the coordinator was given: rules would go unchecked and changes
 * unrecorded.  So turning either on fails there, and distribute_on_citus
 * refuses a store that has either (user_metadata--1.3--1.4.sql).
 *
 * src/citus/citus_table.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "utils/builtins.h"

#include "citus/citus_table.h"

/* Whether Citus distributes the store's table in this database */
static bool
store_is_distributed(void)
{
	bool		isnull;
	bool		distributed;
	int			rc;

	if (!OidIsValid(get_extension_oid("citus", true)))
		return false;
	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
	rc = SPI_execute("SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_partition p"
					 " WHERE p.logicalrelid OPERATOR(pg_catalog.=) 'user_metadata.user_metadata'::pg_catalog.regclass)",
					 true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1 || SPI_tuptable->tupdesc->natts != 1 ||
		TupleDescAttr(SPI_tuptable->tupdesc, 0)->atttypid != BOOLOID)
		elog(ERROR, "could not read pg_dist_partition: %s", SPI_result_code_string(rc));
	distributed = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) && !isnull;
	SPI_finish();
	return distributed;
}

void
um_refuse_on_citus(const char *feature, const char *call)
{
	if (store_is_distributed())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s is not supported on a store that Citus distributes", feature),
				 errdetail("The store's triggers fire on the workers' shards, which do not see what %s sets on the coordinator.", call),
				 errhint("Keep the store on one node, or scale out with PL/Proxy (user_metadata_proxy), where each partition keeps its own.")));
}
