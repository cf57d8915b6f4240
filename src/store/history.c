/*-------------------------------------------------------------------------
 *
 * history.c
 *	  Change history of user_metadata.user_metadata, per app when
 *	  user_metadata.history_settings turns it on: the AFTER row trigger
 *	  record_history, and the admin API's set_history, prune_history,
 *	  forget_user, user_metadata_history and get_user_metadata_as_of.
 *
 * Every writer of the table passes the trigger, so every write is recorded
 * in the writer's own transaction: a rollback records nothing.  Writers of
 * one user are serialized by the row's lock, which they hold when the
 * AFTER trigger fires, so a history row's seq (the user's last one plus
 * one: no sequence, which on Citus would be each node's own) and its
 * clock_timestamp() follow the order in which the writes commit.
 *
 * Storage: a history row holds the patch as given when the store's merging
 * statements wrote it (um_history_set_patch), and the whole resulting
 * document only when it cannot be rebuilt from the row before by
 * jsonb_merge: for a replace, clear or direct write (no patch), the user's
 * first row, the first row after a gap (history off, triggers disabled,
 * pruning: the hash of the document before the write differs from the
 * hash of the last recorded one), or when HISTORY_FULL_EVERY rows have
 * passed since the last whole document.  A rebuild thus replays at most
 * HISTORY_FULL_EVERY - 1 patches.
 *
 * Retention: keep_max_count and keep_max_age of history_settings.  Pruning
 * keeps the rows needed to answer any moment inside the limits, back to a
 * row holding a whole document, which it marks gap_before.  The trigger
 * prunes a user's rows when it writes a whole document (every
 * HISTORY_FULL_EVERY writes at most; under a count limit alone, once the
 * user is past it, record_as_owner); prune_history() prunes a whole app.
 *
 * The settings are read once per writing statement, straight from the
 * table, as the admin scopes are (admin_access.c): never cached beyond it.
 * On Citus the trigger fires on a worker's shard of the store: it reads
 * the settings' and the last history row's shards on that node
 * (citus_table.c), and its statements name the tables, which Citus routes
 * to the co-located shard.  Without delegation the worker runs the store's
 * statement, not the call, and records no patch.
 *
 * src/store/history.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "args.h"
#include "auth/admin_access.h"
#include "auth/identity.h"
#include "citus/citus_table.h"
#include "merge/jsonb_merge.h"
#include "pg_compat.h"
#include "store/history.h"
#include "store/statement.h"
#include "store/store_table.h"

/* A whole document at least every HISTORY_FULL_EVERY rows of a user */
#define HISTORY_FULL_EVERY 16

#define HISTORY_TABLE "user_metadata.user_metadata_history"
#define HISTORY_HINT "Give user_metadata.user_metadata_history back its columns and its primary key (app_id, user_id, seq) as CREATE EXTENSION made them."
#define SETTINGS_HINT "Give user_metadata.history_settings back its columns app_id text, enabled boolean, keep_max_age interval and keep_max_count integer, as CREATE EXTENSION made them."

/*
 * A history row's columns: HSTMT_RECORD's parameters in this order, and
 * record_as_owner's values
 */
typedef enum HistoryColumn
{
	HCOL_APP_ID,
	HCOL_USER_ID,
	HCOL_SEQ,
	HCOL_CHANGED_AT,
	HCOL_CHANGED_BY,
	HCOL_CHANGED_BY_USER_ID,
	HCOL_PATCH,
	HCOL_METADATA,
	HCOL_DOC_HASH,
	HCOL_SINCE_FULL,
	HCOL_GAP_BEFORE,
	NUM_HISTORY_COLUMNS
} HistoryColumn;

static const struct
{
	const char *name;
	Oid			type;
}			history_columns[NUM_HISTORY_COLUMNS] = {
	[HCOL_APP_ID] = {"app_id", TEXTOID},
	[HCOL_USER_ID] = {"user_id", TEXTOID},
	[HCOL_SEQ] = {"seq", INT8OID},
	[HCOL_CHANGED_AT] = {"changed_at", TIMESTAMPTZOID},
	[HCOL_CHANGED_BY] = {"changed_by", TEXTOID},
	[HCOL_CHANGED_BY_USER_ID] = {"changed_by_user_id", TEXTOID},
	[HCOL_PATCH] = {"patch", JSONBOID},
	[HCOL_METADATA] = {"metadata", JSONBOID},
	[HCOL_DOC_HASH] = {"doc_hash", INT8OID},
	[HCOL_SINCE_FULL] = {"since_full", INT4OID},
	[HCOL_GAP_BEFORE] = {"gap_before", BOOLOID},
};

/* The merging statement running now, set by the store */
static text *pending_app_id = NULL;
static text *pending_user_id = NULL;
static Jsonb *pending_patch = NULL;

void
um_history_set_patch(text *app_id, text *user_id, Jsonb *patch)
{
	pending_app_id = app_id;
	pending_user_id = user_id;
	pending_patch = patch;
}

/* Byte equality: the rebuild must give back exactly the stored document */
static bool
same_document(Jsonb *a, Jsonb *b)
{
	return VARSIZE(a) == VARSIZE(b) && memcmp(VARDATA(a), VARDATA(b), VARSIZE(a) - VARHDRSZ) == 0;
}

static int64
document_hash(Jsonb *doc)
{
	return (int64) hash_any_extended((const unsigned char *) VARDATA(doc), VARSIZE(doc) - VARHDRSZ, 0);
}

/*
 * The settings of one app
 */
typedef struct HistorySettings
{
	bool		enabled;
	bool		has_age;
	Interval	age;
	bool		has_count;
	int32		count;
} HistorySettings;

/* A column of history_settings or user_metadata_history, or 42804 */
static AttrNumber
history_table_column(Relation rel, const char *name, Oid type)
{
	/* on Citus rel may be a shard, history_settings_102008 */
	bool		settings = strncmp(RelationGetRelationName(rel), "history_settings", strlen("history_settings")) == 0;

	return um_table_column(rel, name, type,
						   settings ? "Every write of user_metadata.user_metadata reads from that table whether the change history of its app is on." :
						   "Every write of an app with history on reads and writes that table.",
						   settings ? SETTINGS_HINT : HISTORY_HINT);
}

/*
 * The OID of table name of schema user_metadata, or 42P01; with rows, of
 * the relation holding its rows on this node, for a trigger fired on
 * fired_on (a shard of the store on Citus, citus_table.c)
 */
static Oid
history_relation(const char *name, bool rows, Relation fired_on, const char *detail)
{
	Oid			relid = rows ? um_local_table(name, fired_on) :
		get_relname_relid(name, get_namespace_oid("user_metadata", false));

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table user_metadata.%s does not exist", name),
				 errdetail("%s", detail),
				 errhint("Restore the table from a dump, or recreate the extension.")));
	return relid;
}

/*
 * Read the settings of app_id (all zero: none), or with app_id NULL those of
 * every app with history on, as a list of AppHistory (NIL: none), in one
 * scan with the latest snapshot: the settings a concurrent set_history
 * committed count from the next statement on (the trigger reads them once
 * per statement, statement_settings).  The trigger asks for the apps
 * with history on before it reads a column of the store, which a DBA may
 * have dropped while history is off everywhere.
 */
typedef struct AppHistory
{
	text	   *app_id;
	HistorySettings settings;
} AppHistory;

static List *
read_settings(text *app_id, Relation fired_on)
{
	Relation	rel;
	TableScanDesc scan;
	Snapshot	snapshot;
	HeapTuple	tuple;
	AttrNumber	attnums[4];
	List	   *apps = NIL;

	rel = table_open(history_relation("history_settings", true, fired_on,
									  "Every write of user_metadata.user_metadata reads from that table whether the change history of its app is on."),
					 AccessShareLock);
	attnums[0] = history_table_column(rel, "app_id", TEXTOID);
	attnums[1] = history_table_column(rel, "enabled", BOOLOID);
	attnums[2] = history_table_column(rel, "keep_max_age", INTERVALOID);
	attnums[3] = history_table_column(rel, "keep_max_count", INT4OID);
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = table_beginscan(rel, snapshot, 0, NULL);
	while ((tuple = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		TupleDesc	desc = RelationGetDescr(rel);
		AppHistory *app;
		bool		isnull;
		Datum		value = heap_getattr(tuple, attnums[0], desc, &isnull);

		if (isnull || (app_id != NULL && !um_same_id(DatumGetTextPP(value), app_id)))
			continue;
		app = palloc0(sizeof(AppHistory));
		app->app_id = DatumGetTextPCopy(value);
		value = heap_getattr(tuple, attnums[1], desc, &isnull);
		app->settings.enabled = !isnull && DatumGetBool(value);
		if (app_id == NULL && !app->settings.enabled)
			continue;
		value = heap_getattr(tuple, attnums[2], desc, &isnull);
		app->settings.has_age = !isnull;
		if (!isnull)
			app->settings.age = *DatumGetIntervalP(value);
		value = heap_getattr(tuple, attnums[3], desc, &isnull);
		app->settings.has_count = !isnull;
		if (!isnull)
			app->settings.count = DatumGetInt32(value);
		apps = lappend(apps, app);
		if (app_id != NULL)
			break;
	}
	table_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
	return apps;
}

/*
 * The apps with history on, read once per statement: kept in the trigger's
 * FmgrInfo, which lives as long as the statement's executor, for its other
 * rows (a bulk write's, an import's).  So is the relation of the history
 * rows, found when the first change is recorded: a statement on Citus
 * writes one shard of the store, and one co-located shard of the history.
 */
typedef struct StatementSettings
{
	List	   *apps;
	Oid			history_rows;
	bool		own_heap;		/* its rows are its own, not Citus's to route */
} StatementSettings;

static StatementSettings *
statement_settings(FmgrInfo *flinfo, Relation fired_on)
{
	MemoryContext caller;
	StatementSettings *memo;

	if (flinfo->fn_extra != NULL)
		return flinfo->fn_extra;
	caller = MemoryContextSwitchTo(flinfo->fn_mcxt);
	memo = palloc0(sizeof(StatementSettings));
	memo->apps = read_settings(NULL, fired_on);
	flinfo->fn_extra = memo;
	MemoryContextSwitchTo(caller);
	return memo;
}

/* The settings of app_id in apps, a list of read_settings; NULL: none */
static const HistorySettings *
settings_of(List *apps, text *app_id)
{
	ListCell   *cell;

	foreach(cell, apps)
	{
		AppHistory *app = lfirst(cell);

		if (um_same_id(app->app_id, app_id))
			return &app->settings;
	}
	return NULL;
}

/*
 * The statements, each prepared once per backend with a generic plan and
 * run with the owner's rights (run_as_owner's search path)
 */
typedef enum HistoryStatement
{
	HSTMT_RECORD,
	HSTMT_PRUNE,
	HSTMT_APP_USERS,
	HSTMT_ROWS,
	HSTMT_AS_OF,
	HSTMT_OLDEST,
	HSTMT_SET,
	HSTMT_FORGET_DOCUMENT,
	HSTMT_FORGET_HISTORY,
	NUM_HISTORY_STATEMENTS
} HistoryStatement;

#define USER_ROWS(h) \
	h ".app_id OPERATOR(pg_catalog.=) $1 AND " h ".user_id OPERATOR(pg_catalog.=) $2"

static const StatementDef hstatements[NUM_HISTORY_STATEMENTS] = {
	/* the columns in the order of history_columns, which record_as_owner fills */
	[HSTMT_RECORD] = {
		"INSERT INTO " HISTORY_TABLE
		" (app_id, user_id, seq, changed_at, changed_by, changed_by_user_id, patch, metadata, doc_hash, since_full, gap_before)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
		NUM_HISTORY_COLUMNS,
		{TEXTOID, TEXTOID, INT8OID, TIMESTAMPTZOID, TEXTOID, TEXTOID, JSONBOID, JSONBOID, INT8OID, INT4OID, BOOLOID},
		SPI_OK_INSERT, 0, {InvalidOid}
	},
	/*
	 * Keep the user's last $3 writes (by seq: $5 is the newest, NULL to
	 * read it) and those of the last $4, and before them the row that
	 * answers the moment the limits begin, back to the nearest whole
	 * document; that row becomes the oldest, marked gap_before.  The row at
	 * the bound says how far back that document is (since_full): two probes
	 * of the primary key, the search back only when a DBA deleted it.
	 */
	[HSTMT_PRUNE] = {
		"WITH bound AS (SELECT GREATEST("
		"  CASE WHEN $3 IS NOT NULL THEN"
		"   COALESCE($5, (SELECT pg_catalog.max(h.seq) FROM " HISTORY_TABLE " h WHERE " USER_ROWS("h") "))"
		"   OPERATOR(pg_catalog.-) $3 OPERATOR(pg_catalog.+) 1 END,"
		"  (SELECT h.seq FROM " HISTORY_TABLE " h WHERE " USER_ROWS("h") " AND $4 IS NOT NULL"
		"   AND h.changed_at OPERATOR(pg_catalog.<=) (pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) $4)"
		"   ORDER BY h.seq DESC LIMIT 1)) AS seq),"
		" base AS (SELECT COALESCE("
		"  (SELECT w.seq FROM " HISTORY_TABLE " x, " HISTORY_TABLE " w, bound b"
		"   WHERE " USER_ROWS("x") " AND x.seq OPERATOR(pg_catalog.=) b.seq"
		"   AND " USER_ROWS("w") " AND w.seq OPERATOR(pg_catalog.=) (x.seq OPERATOR(pg_catalog.-) x.since_full)"
		"   AND w.seq OPERATOR(pg_catalog.<=) b.seq AND w.metadata IS NOT NULL),"
		"  (SELECT pg_catalog.max(h.seq) FROM " HISTORY_TABLE " h, bound b"
		"   WHERE " USER_ROWS("h") " AND h.seq OPERATOR(pg_catalog.<=) b.seq AND h.metadata IS NOT NULL)) AS seq),"
		" gone AS (DELETE FROM " HISTORY_TABLE " h USING base b"
		"  WHERE " USER_ROWS("h") " AND h.seq OPERATOR(pg_catalog.<) b.seq RETURNING h.seq),"
		" marked AS (UPDATE " HISTORY_TABLE " h SET gap_before = true FROM base b"
		"  WHERE " USER_ROWS("h") " AND h.seq OPERATOR(pg_catalog.=) b.seq AND EXISTS (SELECT FROM gone)"
		"  RETURNING h.seq)"
		" SELECT pg_catalog.count(*) FROM gone",
		5, {TEXTOID, TEXTOID, INT4OID, INTERVALOID, INT8OID}, SPI_OK_SELECT, 1, {INT8OID}
	},
	[HSTMT_APP_USERS] = {
		"SELECT DISTINCT h.user_id FROM " HISTORY_TABLE " h WHERE h.app_id OPERATOR(pg_catalog.=) $1",
		1, {TEXTOID}, SPI_OK_SELECT, 1, {TEXTOID}
	},
	[HSTMT_ROWS] = {
		"SELECT h.changed_at, h.changed_by, h.patch, h.metadata, h.changed_by_user_id"
		" FROM " HISTORY_TABLE " h WHERE " USER_ROWS("h") " ORDER BY h.seq",
		2, {TEXTOID, TEXTOID}, SPI_OK_SELECT, 5, {TIMESTAMPTZOID, TEXTOID, JSONBOID, JSONBOID, TEXTOID}
	},
	/* the last row at $3 and the rows back to its nearest whole document */
	[HSTMT_AS_OF] = {
		"WITH t AS (SELECT pg_catalog.max(h.seq) AS seq FROM " HISTORY_TABLE " h"
		"  WHERE " USER_ROWS("h") " AND h.changed_at OPERATOR(pg_catalog.<=) $3),"
		" b AS (SELECT pg_catalog.max(h.seq) AS seq FROM " HISTORY_TABLE " h, t"
		"  WHERE " USER_ROWS("h") " AND h.seq OPERATOR(pg_catalog.<=) t.seq AND h.metadata IS NOT NULL)"
		" SELECT h.patch, h.metadata FROM " HISTORY_TABLE " h, t, b"
		" WHERE " USER_ROWS("h") " AND h.seq OPERATOR(pg_catalog.>=) b.seq AND h.seq OPERATOR(pg_catalog.<=) t.seq"
		" ORDER BY h.seq",
		3, {TEXTOID, TEXTOID, TIMESTAMPTZOID}, SPI_OK_SELECT, 2, {JSONBOID, JSONBOID}
	},
	/* whether the moment $3 lies before what the history knows */
	[HSTMT_OLDEST] = {
		"SELECT h.gap_before OR h.changed_at OPERATOR(pg_catalog.<=) $3"
		" FROM " HISTORY_TABLE " h WHERE " USER_ROWS("h") " ORDER BY h.seq LIMIT 1",
		3, {TEXTOID, TEXTOID, TIMESTAMPTZOID}, SPI_OK_SELECT, 1, {BOOLOID}
	},
	[HSTMT_SET] = {
		"INSERT INTO user_metadata.history_settings AS s (app_id, enabled, keep_max_age, keep_max_count)"
		" VALUES ($1, $2, $3, $4) ON CONFLICT (app_id) DO UPDATE"
		" SET enabled = excluded.enabled, keep_max_age = excluded.keep_max_age,"
		"  keep_max_count = excluded.keep_max_count",
		4, {TEXTOID, BOOLOID, INTERVALOID, INT4OID}, SPI_OK_INSERT, 0, {InvalidOid}
	},
	[HSTMT_FORGET_DOCUMENT] = {
		"DELETE FROM user_metadata.user_metadata t WHERE " USER_ROWS("t"),
		2, {TEXTOID, TEXTOID}, SPI_OK_DELETE, 0, {InvalidOid}
	},
	[HSTMT_FORGET_HISTORY] = {
		"DELETE FROM " HISTORY_TABLE " h WHERE " USER_ROWS("h"),
		2, {TEXTOID, TEXTOID}, SPI_OK_DELETE, 0, {InvalidOid}
	},
};

static SPIPlanPtr hplans[NUM_HISTORY_STATEMENTS];

static const StatementSet history_statements = {
	hstatements, hplans, ERRCODE_DATATYPE_MISMATCH,
	"a user metadata history statement did not run as written",
	"Give user_metadata.user_metadata_history back its columns as CREATE EXTENSION made them.",
	true
};

/* Run one statement (statement.c) inside a connected SPI, once the table is there */
static void
run_history_statement(HistoryStatement stmt, Datum *values, const bool *nulls, bool read_only)
{
	(void) history_relation("user_metadata_history", false, NULL,
							"The change history of the user documents is kept in that table.");
	um_run_statement(&history_statements, stmt, values, nulls, read_only, NULL);
}

static void
history_connect(void)
{
	int			rc;

	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
}

/*
 * Prune one user's rows to the app's limits, newest_seq that of the user's
 * newest row (0: unknown); returns the rows removed
 */
static int64
prune_user(text *app_id, text *user_id, const HistorySettings *settings, int64 newest_seq)
{
	Datum		values[5];
	bool		nulls[5] = {false, false, !settings->has_count, !settings->has_age, newest_seq == 0};
	bool		isnull;
	Datum		count;

	values[0] = PointerGetDatum(app_id);
	values[1] = PointerGetDatum(user_id);
	values[2] = Int32GetDatum(settings->count);
	values[3] = IntervalPGetDatum(&settings->age);
	values[4] = Int64GetDatum(newest_seq);
	run_history_statement(HSTMT_PRUNE, values, nulls, false);
	if (SPI_processed != 1)
		um_statement_changed(&history_statements, "The count of the rows pruned is missing.");
	count = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt64(count);
}

/* One change to record */
typedef struct HistoryChange
{
	text	   *app_id;
	text	   *user_id;
	Jsonb	   *patch;			/* NULL: a replace, clear or direct write */
	Jsonb	   *document;		/* the resulting document, {} when gone */
	int64		before_hash;	/* the hash of the document before ({} if none) */
	bool		had_document;
	bool		mismatch;		/* the patch does not rebuild document */
	HistorySettings settings;
	const StatementSettings *statement; /* where the user's rows are */
} HistoryChange;

/* The newest history row of a user: what the next row is built on */
typedef struct LastRow
{
	bool		exists;			/* the user has a history row */
	bool		found;			/* and the last one can be built on */
	int64		seq;
	int64		doc_hash;
	int32		since_full;
} LastRow;

/*
 * Find each of the history columns in rel, InvalidAttrNumber where it is
 * missing or of another type; returns whether rel has those columns and no
 * other, none of them generated or identity (what insert_row fills)
 */
static bool
find_history_columns(Relation rel, AttrNumber *attnums)
{
	TupleDesc	desc = RelationGetDescr(rel);
	bool		only_these = true;
	int			found = 0;

	for (int column = 0; column < NUM_HISTORY_COLUMNS; column++)
		attnums[column] = InvalidAttrNumber;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		int			column;

		if (att->attisdropped)
			continue;
		for (column = 0; column < NUM_HISTORY_COLUMNS; column++)
			if (strcmp(NameStr(att->attname), history_columns[column].name) == 0)
				break;
		if (column == NUM_HISTORY_COLUMNS || att->atttypid != history_columns[column].type)
		{
			only_these = false;
			continue;
		}
		if (att->attgenerated != '\0' || att->attidentity != '\0')
			only_these = false;
		attnums[column] = att->attnum;
		found++;
	}
	return only_these && found == NUM_HISTORY_COLUMNS;
}

/* A column found by find_history_columns, or 42804 where it was not */
static AttrNumber
needed_column(Relation rel, const AttrNumber *attnums, HistoryColumn column)
{
	if (attnums[column] != InvalidAttrNumber)
		return attnums[column];
	return history_table_column(rel, history_columns[column].name, history_columns[column].type);
}

/*
 * Read it straight from the primary key, backwards, with the latest
 * snapshot: the writer that held the user's row lock before us has
 * committed its row.  Joined into the insert as a query, its executor
 * start alone took a quarter of the recording.
 */
static LastRow
last_row(Relation heap, const AttrNumber *attnums, text *app_id, text *user_id)
{
	LastRow		last = {false};
	AttrNumber	keys[3] = {
		needed_column(heap, attnums, HCOL_APP_ID),
		needed_column(heap, attnums, HCOL_USER_ID),
		needed_column(heap, attnums, HCOL_SEQ)
	};
	AttrNumber	doc_hash = needed_column(heap, attnums, HCOL_DOC_HASH);
	AttrNumber	since_full = needed_column(heap, attnums, HCOL_SINCE_FULL);
	Oid			indexid = um_primary_key_index(heap);
	Relation	index = OidIsValid(indexid) ? index_open(indexid, AccessShareLock) : NULL;
	ScanKeyData scankeys[2];
	Snapshot	snapshot;
	IndexScanDesc scan;
	TupleTableSlot *slot;

	if (index == NULL || index->rd_rel->relam != BTREE_AM_OID ||
		IndexRelationGetNumberOfKeyAttributes(index) != 3 ||
		index->rd_index->indkey.values[0] != keys[0] || index->rd_index->indkey.values[1] != keys[1] ||
		index->rd_index->indkey.values[2] != keys[2] || (index->rd_indoption[2] & INDOPTION_DESC) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table user_metadata.user_metadata_history has no primary key (app_id, user_id, seq)"),
				 errdetail("Every write of an app with history on finds the user's last history row by it."),
				 errhint(HISTORY_HINT)));
	for (int i = 0; i < 2; i++)
		ScanKeyEntryInitialize(&scankeys[i], 0, i + 1, BTEqualStrategyNumber, InvalidOid,
							   index->rd_indcollation[i], F_TEXTEQ, PointerGetDatum(i == 0 ? app_id : user_id));
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = um_index_beginscan(heap, index, snapshot, 2);
	index_rescan(scan, scankeys, 2, NULL, 0);
	slot = table_slot_create(heap, NULL);
	if (index_getnext_slot(scan, BackwardScanDirection, slot))
	{
		bool		seq_null;
		bool		hash_null;
		bool		since_null;
		Datum		hash = slot_getattr(slot, doc_hash, &hash_null);
		Datum		since = slot_getattr(slot, since_full, &since_null);

		/* a row without them (a DBA's) cannot be built on: a whole document follows */
		last.exists = true;
		last.seq = DatumGetInt64(slot_getattr(slot, keys[2], &seq_null));
		last.found = !hash_null && !since_null;
		last.doc_hash = hash_null ? 0 : DatumGetInt64(hash);
		last.since_full = since_null ? 0 : DatumGetInt32(since);
	}
	ExecDropSingleTupleTableSlot(slot);
	index_endscan(scan);
	UnregisterSnapshot(snapshot);
	index_close(index, AccessShareLock);
	return last;
}

/*
 * Whether a history row can go straight into the heap and its indexes
 * (insert_row): the table is a plain one of this node (own_heap) with only
 * its own columns (find_history_columns), as CREATE EXTENSION made it, or
 * has only what ExecSimpleRelationInsert applies as the executor would
 * (indexes, CHECK and NOT NULL constraints).  What it would miss sends the
 * row through HSTMT_RECORD: triggers (foreign keys and deferred unique
 * constraints are triggers too), rules, forced row security or another
 * owner's policies and privileges, another column (its default), a
 * generated or identity column, a partitioned or Citus table.
 */
static bool
plain_history_table(Relation rel, bool own_heap, bool only_own_columns)
{
	return own_heap && only_own_columns && rel->rd_rel->relkind == RELKIND_RELATION &&
		rel->trigdesc == NULL && rel->rd_rules == NULL && !rel->rd_rel->relforcerowsecurity &&
		rel->rd_rel->relowner == GetUserId();
}

/*
 * The row into the heap and its indexes, as logical replication's apply
 * does: an executor start of HSTMT_RECORD took half of its cost.  The
 * command counter moves on, as after a statement, for pruning's and the
 * next row's reads.
 */
static void
insert_row(Relation rel, const AttrNumber *attnums, const Datum *values, const bool *nulls)
{
	EState	   *estate = CreateExecutorState();
	ResultRelInfo *result = makeNode(ResultRelInfo);
	TupleDesc	desc = RelationGetDescr(rel);
	TupleTableSlot *slot = ExecInitExtraTupleSlot(estate, desc, &TTSOpsVirtual);

	estate->es_output_cid = GetCurrentCommandId(true);
	InitResultRelInfo(result, rel, 0, NULL, 0);
	ExecOpenIndices(result, false);
	ExecClearTuple(slot);
	memset(slot->tts_isnull, true, desc->natts * sizeof(bool));
	for (int column = 0; column < NUM_HISTORY_COLUMNS; column++)
	{
		slot->tts_values[attnums[column] - 1] = values[column];
		slot->tts_isnull[attnums[column] - 1] = nulls[column];
	}
	ExecStoreVirtualTuple(slot);
	ExecSimpleRelationInsert(result, estate, slot);
	ExecCloseIndices(result);
	ExecResetTupleTable(estate->es_tupleTable, false);
	FreeExecutorState(estate);
	CommandCounterIncrement();
}

static Datum
record_as_owner(FunctionCallInfo fcinfo, void *arg)
{
	HistoryChange *change = arg;
	Datum		values[NUM_HISTORY_COLUMNS];
	bool		nulls[NUM_HISTORY_COLUMNS] = {false};
	AttrNumber	attnums[NUM_HISTORY_COLUMNS];
	text	   *user_id = um_identity_user_id_if_set();
	Relation	heap = table_open(change->statement->history_rows, RowExclusiveLock);
	bool		only_own_columns = find_history_columns(heap, attnums);
	LastRow		last = last_row(heap, attnums, change->app_id, change->user_id);
	bool		gap = last.found ? last.doc_hash != change->before_hash : change->had_document;
	bool		whole = change->patch == NULL || change->mismatch || gap || !last.found ||
		last.since_full >= HISTORY_FULL_EVERY - 1;

	values[HCOL_APP_ID] = PointerGetDatum(change->app_id);
	values[HCOL_USER_ID] = PointerGetDatum(change->user_id);
	values[HCOL_SEQ] = Int64GetDatum(last.exists ? last.seq + 1 : 1);
	values[HCOL_CHANGED_AT] = TimestampTzGetDatum(GetCurrentTimestamp());
	values[HCOL_CHANGED_BY] = CStringGetTextDatum(GetUserNameFromId(GetOuterUserId(), false));
	values[HCOL_CHANGED_BY_USER_ID] = PointerGetDatum(user_id);
	nulls[HCOL_CHANGED_BY_USER_ID] = user_id == NULL;
	values[HCOL_PATCH] = PointerGetDatum(change->patch);
	nulls[HCOL_PATCH] = change->patch == NULL;
	values[HCOL_METADATA] = JsonbPGetDatum(change->document);
	nulls[HCOL_METADATA] = !whole;
	values[HCOL_DOC_HASH] = Int64GetDatum(document_hash(change->document));
	values[HCOL_SINCE_FULL] = Int32GetDatum(whole ? 0 : last.since_full + 1);
	values[HCOL_GAP_BEFORE] = BoolGetDatum(gap);

	if (plain_history_table(heap, change->statement->own_heap, only_own_columns))
		insert_row(heap, attnums, values, nulls);
	else
	{
		history_connect();
		run_history_statement(HSTMT_RECORD, values, nulls, false);
		if (SPI_processed != 1)
			um_statement_changed(&history_statements, "It recorded no history row.");
		SPI_finish();
	}
	table_close(heap, RowExclusiveLock);
	/*
	 * Pruning keeps a whole document: the time to prune is when one comes,
	 * unless it is the user's first row, with nothing before it to prune.
	 * Under a count limit alone, it waits until the user has written more
	 * rows (seq counts them) than the limit and a run of HISTORY_FULL_EVERY:
	 * before that the limit's oldest row is nearly always newer than the
	 * first whole document, which pruning keeps, so the statement would
	 * remove nothing.
	 */
	if (whole && last.exists &&
		(change->settings.has_age ||
		 (change->settings.has_count &&
		  last.seq + 1 > (int64) change->settings.count + HISTORY_FULL_EVERY - 1)))
	{
		history_connect();
		(void) prune_user(change->app_id, change->user_id, &change->settings, last.seq + 1);
		SPI_finish();
	}
	return (Datum) 0;
}

/*
 * Record that the document of (app_id, user_id) went from before (NULL:
 * none) to after (NULL: gone), if the app is among the statement's apps
 * with history on
 */
static void
record_change(FunctionCallInfo fcinfo, StatementSettings *statement, text *app_id, text *user_id,
			  Jsonb *before, Jsonb *after)
{
	HistoryChange change = {.app_id = app_id, .user_id = user_id};
	const HistorySettings *settings = settings_of(statement->apps, app_id);
	Jsonb	   *empty;

	if (settings == NULL)
		return;
	if (!OidIsValid(statement->history_rows))
	{
		statement->history_rows =
			history_relation("user_metadata_history", true, ((TriggerData *) fcinfo->context)->tg_relation,
							 "The change history of the user documents is kept in that table.");
		statement->own_heap = !um_citus_routes("user_metadata_history");
	}
	change.statement = statement;
	change.settings = *settings;
	empty = um_merge_root(NULL, NULL);
	change.had_document = before != NULL;
	if (before == NULL)
		before = empty;
	change.document = after != NULL ? after : empty;
	if (after != NULL && pending_patch != NULL &&
		um_same_id(pending_app_id, app_id) && um_same_id(pending_user_id, user_id))
	{
		change.patch = pending_patch;
		change.mismatch = !same_document(um_merge_root(before, pending_patch), after);
	}
	change.before_hash = document_hash(before);
	(void) um_admin_call(fcinfo, NULL, record_as_owner, &change);
}

static text *
tuple_id(HeapTuple tuple, TupleDesc desc, AttrNumber attnum)
{
	bool		isnull;
	Datum		value = heap_getattr(tuple, attnum, desc, &isnull);

	return isnull ? NULL : DatumGetTextPP(value);
}

static Jsonb *
tuple_document(HeapTuple tuple, TupleDesc desc, AttrNumber attnum)
{
	bool		isnull;
	Datum		value = heap_getattr(tuple, attnum, desc, &isnull);

	return isnull ? NULL : DatumGetJsonbP(value);
}

/*
 * record_history() RETURNS trigger
 *
 * AFTER INSERT OR UPDATE OR DELETE FOR EACH ROW on user_metadata.user_metadata.
 */
PG_FUNCTION_INFO_V1(record_history);
Datum
record_history(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	StoreColumns columns;
	HeapTuple	old_tuple = NULL;
	HeapTuple	new_tuple = NULL;
	StatementSettings *statement;
	text	   *old_app = NULL,
			   *old_user = NULL,
			   *new_app = NULL,
			   *new_user = NULL;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("record_history must be fired AFTER INSERT OR UPDATE OR DELETE FOR EACH ROW")));

	statement = statement_settings(fcinfo->flinfo, trigdata->tg_relation);
	if (statement->apps == NIL)
		return PointerGetDatum(NULL);
	desc = RelationGetDescr(trigdata->tg_relation);
	um_store_columns(trigdata->tg_relation, &columns);
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		new_tuple = trigdata->tg_trigtuple;
	else if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		old_tuple = trigdata->tg_trigtuple;
		new_tuple = trigdata->tg_newtuple;
	}
	else
		old_tuple = trigdata->tg_trigtuple;
	if (old_tuple != NULL)
	{
		old_app = tuple_id(old_tuple, desc, columns.app_id);
		old_user = tuple_id(old_tuple, desc, columns.user_id);
	}
	if (new_tuple != NULL)
	{
		new_app = tuple_id(new_tuple, desc, columns.app_id);
		new_user = tuple_id(new_tuple, desc, columns.user_id);
	}

	/* the table's NOT NULL constraints keep ids; a DBA may have dropped them */
	if (old_tuple != NULL && new_tuple != NULL && old_app && old_user && new_app && new_user &&
		um_same_id(old_app, new_app) && um_same_id(old_user, new_user))
		record_change(fcinfo, statement, new_app, new_user,
					  tuple_document(old_tuple, desc, columns.metadata),
					  tuple_document(new_tuple, desc, columns.metadata));
	else
	{
		/* a delete, or an update that moved the document to other ids */
		if (old_tuple != NULL && old_app && old_user)
			record_change(fcinfo, statement, old_app, old_user, tuple_document(old_tuple, desc, columns.metadata), NULL);
		if (new_tuple != NULL && new_app && new_user)
			record_change(fcinfo, statement, new_app, new_user, NULL, tuple_document(new_tuple, desc, columns.metadata));
	}
	return PointerGetDatum(NULL);
}

/*
 * set_history(app_id text, enabled boolean, keep interval DEFAULT NULL,
 *			   keep_count integer DEFAULT NULL) RETURNS void
 */
typedef struct SetHistoryCall
{
	Datum		values[4];
	bool		nulls[4];
} SetHistoryCall;

static Datum
set_history_as_owner(FunctionCallInfo fcinfo, void *arg)
{
	SetHistoryCall *call = arg;

	if (DatumGetBool(call->values[1]))
		um_check_follows_store("history_settings", "set_history");
	history_connect();
	(void) history_relation("history_settings", false, NULL,
							"set_history writes the settings of the change history to that table.");
	run_history_statement(HSTMT_SET, call->values, call->nulls, false);
	SPI_finish();
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(set_history);
Datum
set_history(PG_FUNCTION_ARGS)
{
	SetHistoryCall call = {{0}, {false, false, PG_ARGISNULL(2), PG_ARGISNULL(3)}};
	text	   *app_id = um_id_arg(fcinfo, 0, "app_id");

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"enabled\" must not be null"),
				 errhint("Pass true to record the changes of the app, false to stop.")));
	if (!PG_ARGISNULL(2))
	{
		Interval   *keep = PG_GETARG_INTERVAL_P(2);
		Interval	zero = {0};

		if (DatumGetBool(DirectFunctionCall2(interval_le, IntervalPGetDatum(keep), IntervalPGetDatum(&zero))))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("argument \"keep\" must be a positive interval"),
					 errdetail("History older than keep is pruned; %s would prune all of it.",
							   DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(keep)))),
					 errhint("Pass an interval such as '90 days', or NULL for no age limit.")));
		call.values[2] = IntervalPGetDatum(keep);
	}
	if (!PG_ARGISNULL(3))
	{
		if (PG_GETARG_INT32(3) < 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("argument \"keep_count\" must be at least 1"),
					 errdetail("It is the number of changes kept per user; %d was given.", PG_GETARG_INT32(3)),
					 errhint("Pass a positive count, or NULL for no count limit.")));
		call.values[3] = PG_GETARG_DATUM(3);
	}
	call.values[0] = PointerGetDatum(app_id);
	call.values[1] = PG_GETARG_DATUM(1);
	return um_admin_call(fcinfo, app_id, set_history_as_owner, &call);
}

/*
 * prune_history(app_id text DEFAULT 'public') RETURNS bigint
 */
static Datum
prune_as_owner(FunctionCallInfo fcinfo, void *arg)
{
	text	   *app_id = arg;
	List	   *apps = read_settings(app_id, NULL);
	HistorySettings settings = {0};
	Datum		values[1] = {PointerGetDatum(app_id)};
	SPITupleTable *users;
	uint64		nusers;
	int64		pruned = 0;

	if (apps != NIL)
		settings = ((AppHistory *) linitial(apps))->settings;
	if (!settings.has_age && !settings.has_count)
		return Int64GetDatum(0);
	history_connect();
	run_history_statement(HSTMT_APP_USERS, values, NULL, false);
	users = SPI_tuptable;
	nusers = SPI_processed;
	for (uint64 i = 0; i < nusers; i++)
	{
		bool		isnull;
		Datum		user_id = SPI_getbinval(users->vals[i], users->tupdesc, 1, &isnull);

		if (!isnull)
			pruned += prune_user(app_id, DatumGetTextPP(user_id), &settings, 0);
	}
	SPI_finish();
	return Int64GetDatum(pruned);
}

PG_FUNCTION_INFO_V1(prune_history);
Datum
prune_history(PG_FUNCTION_ARGS)
{
	text	   *app_id = um_id_arg(fcinfo, 0, "app_id");

	return um_admin_call(fcinfo, app_id, prune_as_owner, app_id);
}

/* The ids of a per-user call: user_id first, app_id last */
typedef struct UserCall
{
	Datum		values[3];
} UserCall;

/*
 * forget_user(user_id text, app_id text DEFAULT 'public') RETURNS boolean
 */
static Datum
forget_as_owner(FunctionCallInfo fcinfo, void *arg)
{
	UserCall   *call = arg;
	bool		found;

	um_check_store_table();
	history_connect();
	run_history_statement(HSTMT_FORGET_DOCUMENT, call->values, NULL, false);
	found = SPI_processed > 0;
	run_history_statement(HSTMT_FORGET_HISTORY, call->values, NULL, false);
	found = found || SPI_processed > 0;
	SPI_finish();
	return BoolGetDatum(found);
}

/* values[0] app_id, values[1] user_id, from arguments 0 (user) and appno */
static text *
user_call_args(FunctionCallInfo fcinfo, UserCall *call, int appno)
{
	text	   *app_id;

	call->values[1] = PointerGetDatum(um_id_arg(fcinfo, 0, "user_id"));
	app_id = um_id_arg(fcinfo, appno, "app_id");
	call->values[0] = PointerGetDatum(app_id);
	return app_id;
}

PG_FUNCTION_INFO_V1(forget_user);
Datum
forget_user(PG_FUNCTION_ARGS)
{
	UserCall	call;
	text	   *app_id = user_call_args(fcinfo, &call, 1);

	return um_admin_call(fcinfo, app_id, forget_as_owner, &call);
}

/*
 * The document of a history row: its whole document, or the one before
 * with its patch merged in (NULL when neither is known)
 */
static Jsonb *
rebuild(Jsonb *before, HeapTuple row, TupleDesc desc, int patchno, int metadatano)
{
	bool		isnull;
	Datum		value = SPI_getbinval(row, desc, metadatano, &isnull);

	if (!isnull)
		return DatumGetJsonbP(value);
	value = SPI_getbinval(row, desc, patchno, &isnull);
	if (isnull || before == NULL)
		return NULL;
	return um_merge_root(before, DatumGetJsonbP(value));
}

/*
 * user_metadata_history(user_id text, app_id text DEFAULT 'public')
 * RETURNS TABLE (changed_at timestamptz, changed_by text, patch jsonb,
 *				  metadata jsonb, changed_by_user_id text)
 */
static Datum
history_as_owner(FunctionCallInfo fcinfo, void *arg)
{
	UserCall   *call = arg;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Jsonb	   *document = NULL;

	history_connect();
	run_history_statement(HSTMT_ROWS, call->values, NULL, true);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	row = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		Datum		values[5];
		bool		nulls[5];

		for (int c = 0; c < 5; c++)
			values[c] = SPI_getbinval(row, desc, c + 1, &nulls[c]);
		document = rebuild(document, row, desc, 3, 4);
		values[3] = document ? JsonbPGetDatum(document) : (Datum) 0;
		nulls[3] = document == NULL;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(user_metadata_history);
Datum
user_metadata_history(PG_FUNCTION_ARGS)
{
	UserCall	call;
	text	   *app_id = user_call_args(fcinfo, &call, 1);

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	return um_admin_call(fcinfo, app_id, history_as_owner, &call);
}

/*
 * get_user_metadata_as_of(user_id text, as_of timestamptz,
 *						   app_id text DEFAULT 'public') RETURNS jsonb
 *
 * NULL when the moment lies before what the history knows (pruned, or
 * recorded only since history was turned on for a user who had a document).
 */
static Datum
as_of_as_owner(FunctionCallInfo fcinfo, void *arg)
{
	UserCall   *call = arg;
	Jsonb	   *document = NULL;
	bool		unknown = false;

	history_connect();
	run_history_statement(HSTMT_AS_OF, call->values, NULL, true);
	for (uint64 i = 0; i < SPI_processed; i++)
		document = rebuild(document, SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, 2);
	if (SPI_processed == 0)
	{
		run_history_statement(HSTMT_OLDEST, call->values, NULL, true);
		if (SPI_processed == 1)
		{
			bool		isnull;

			unknown = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) || isnull;
		}
		if (!unknown)
			document = um_merge_root(NULL, NULL);
	}
	if (document != NULL)
		document = DatumGetJsonbP(SPI_datumTransfer(JsonbPGetDatum(document), false, -1));
	SPI_finish();
	if (document == NULL)
	{
		fcinfo->isnull = true;
		return (Datum) 0;
	}
	return JsonbPGetDatum(document);
}

PG_FUNCTION_INFO_V1(get_user_metadata_as_of);
Datum
get_user_metadata_as_of(PG_FUNCTION_ARGS)
{
	UserCall	call;
	text	   *app_id = user_call_args(fcinfo, &call, 2);

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"as_of\" must not be null"),
				 errhint("Pass the moment whose document you want, such as now() - interval '7 days'.")));
	call.values[2] = PG_GETARG_DATUM(1);
	return um_admin_call(fcinfo, app_id, as_of_as_owner, &call);
}
