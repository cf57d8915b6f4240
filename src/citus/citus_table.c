/*-------------------------------------------------------------------------
 *
 * citus_table.c
 *	  Where the rows of the extension's tables are on this node once
 *	  Citus distributes them.
 *
 * distribute_on_citus makes document_rules and history_settings reference
 * tables and user_metadata_history a table co-located with the store by
 * user_id (user_metadata--1.3--1.4.sql).  Their rows then live in shards:
 * the tables of those names on a node hold none, or stale ones.  The
 * store's row triggers, which fire on the workers' shards of the store,
 * read the settings and the user's last history row straight from a
 * relation (document_rules.c, history.c): here they learn which one, the
 * table itself or its shard on this node.  Their SQL statements name the
 * tables as they are, and Citus routes them: from a trigger on a shard to
 * the co-located shard, which is on the same node.
 *
 * A trigger on the store itself is on a node without Citus's shards, and
 * costs a string comparison; everything else asks pg_dist_partition.
 *
 * src/citus/citus_table.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "citus/citus_table.h"
#include "store/statement.h"

#define STORE_NAME "user_metadata"

typedef enum CitusStatement
{
	CSTMT_PLACEMENT,
	NUM_CITUS_STATEMENTS
} CitusStatement;

static const StatementDef citus_statement_defs[NUM_CITUS_STATEMENTS] = {
	/*
	 * Whether Citus manages table $1, and its shard on this node: a
	 * reference table's one shard, or the shard of a distributed table
	 * whose hash range is that of the store's shard $2
	 */
	[CSTMT_PLACEMENT] = {
		"SELECT p.partmethod, (SELECT s.shardid FROM pg_catalog.pg_dist_shard s, pg_catalog.pg_dist_placement pl"
		"  WHERE s.logicalrelid OPERATOR(pg_catalog.=) p.logicalrelid"
		"   AND pl.shardid OPERATOR(pg_catalog.=) s.shardid"
		"   AND pl.groupid OPERATOR(pg_catalog.=) (SELECT g.groupid FROM pg_catalog.pg_dist_local_group g)"
		"   AND (p.partmethod OPERATOR(pg_catalog.=) 'n'::pg_catalog.\"char\""
		"    OR s.shardminvalue OPERATOR(pg_catalog.=) (SELECT o.shardminvalue FROM pg_catalog.pg_dist_shard o"
		"     WHERE o.shardid OPERATOR(pg_catalog.=) $2)))"
		" FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid OPERATOR(pg_catalog.=) $1",
		2, {OIDOID, INT8OID}, SPI_OK_SELECT, 2, {CHAROID, INT8OID}
	},
};

static SPIPlanPtr citus_plans[NUM_CITUS_STATEMENTS];

static const StatementSet citus_statements = {
	citus_statement_defs, citus_plans, ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
	"Citus's metadata could not be read as user_metadata expects",
	"Check that the Citus installed is a release user_metadata supports (docs/citus.md).",
	false						/* Citus's own tables, which it does not route */
};

/* The shard id of a shard of the store: its name's suffix; 0 if none */
static int64
store_shard_id(Relation store_shard)
{
	const char *name = store_shard != NULL ? RelationGetRelationName(store_shard) : "";
	size_t		prefix = strlen(STORE_NAME "_");

	if (strncmp(name, STORE_NAME "_", prefix) != 0 ||
		strspn(name + prefix, "0123456789") != strlen(name + prefix) || name[prefix] == '\0')
		return 0;
	return strtoi64(name + prefix, NULL, 10);
}

/*
 * Whether Citus manages table relid, and its shard on this node (0: none);
 * *method is its pg_dist_partition.partmethod, '\0' when it has no row
 */
static int64
placement(Oid relid, int64 store_shard, char *method)
{
	Datum		values[2] = {ObjectIdGetDatum(relid), Int64GetDatum(store_shard)};
	int64		shardid = 0;
	int			rc;

	*method = '\0';
	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
	um_run_statement(&citus_statements, CSTMT_PLACEMENT, values, NULL, true, NULL);
	if (SPI_processed == 1)
	{
		bool		isnull;
		Datum		value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		*method = isnull ? '\0' : DatumGetChar(value);
		value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
		shardid = isnull ? 0 : DatumGetInt64(value);
	}
	SPI_finish();
	return shardid;
}

Oid
um_local_table(const char *name, Relation fired_on)
{
	Oid			namespace = get_namespace_oid("user_metadata", false);
	Oid			relid = get_relname_relid(name, namespace);
	char		method;
	int64		shardid;
	Oid			shard;

	if (!OidIsValid(relid) ||
		(fired_on != NULL && strcmp(RelationGetRelationName(fired_on), STORE_NAME) == 0) ||
		!OidIsValid(get_extension_oid("citus", true)))
		return relid;
	shardid = placement(relid, fired_on != NULL ? store_shard_id(fired_on) : 0, &method);
	if (method == '\0')
		return relid;			/* not a Citus table */
	shard = shardid == 0 ? InvalidOid :
		get_relname_relid(psprintf("%s_" INT64_FORMAT, name, shardid), namespace);
	if (!OidIsValid(shard))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("this node holds no shard of table user_metadata.%s", name),
				 errdetail(method == 'n' ?
						   "Citus keeps the table's rows in a shard on every node of its metadata." :
						   "The store's triggers read the shard co-located with the store's shard they fire on."),
				 errhint(method == 'n' ?
						 "Add the coordinator to Citus's metadata with citus_set_coordinator_host(), or call this on a worker." :
						 "Distribute the tables with user_metadata.distribute_on_citus(), which co-locates them.")));
	return shard;
}

bool
um_citus_distributes(const char *name)
{
	Oid			relid = get_relname_relid(name, get_namespace_oid("user_metadata", false));
	char		method;

	if (!OidIsValid(relid) || !OidIsValid(get_extension_oid("citus", true)))
		return false;
	(void) placement(relid, 0, &method);
	return method != '\0';
}

bool
um_citus_routes(const char *name)
{
	return GetConfigOption("citus.version", true, false) != NULL && um_citus_distributes(name);
}

void
um_check_follows_store(const char *name, const char *call)
{
	if (um_citus_distributes("user_metadata") && !um_citus_distributes(name))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table user_metadata.%s is not distributed with the store", name),
				 errdetail("Citus distributes user_metadata.user_metadata, whose triggers on the workers would not see what %s sets here.", call),
				 errhint("Run user_metadata.distribute_on_citus() again, as after ALTER EXTENSION user_metadata UPDATE on a distributed store.")));
}
