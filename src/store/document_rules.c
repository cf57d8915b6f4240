/*-------------------------------------------------------------------------
 *
 * document_rules.c
 *	  Per-app document rules: set_document_rules and get_document_rules,
 *	  and the check the table's trigger normalize_document makes of every
 *	  write against the rules of the row's app.
 *
 * The rules live in user_metadata.document_rules, one jsonb object per app:
 * max_keys (root keys), max_bytes (the stored jsonb's size, as
 * user_metadata.max_document_bytes measures it), keys (root key to a JSON
 * type name or a list of them) and other_keys (false: only the keys listed).
 * The trigger reads the table with the latest snapshot once per statement
 * and app (statement_rules), not once per row, as admin_access.c reads the
 * scopes: no cache that a write in replica mode or with triggers disabled
 * could leave stale, no SPI (on Citus, one query of Citus's metadata for
 * the table's shard on the node, citus_table.c); one probe of its primary
 * key, also for an app without rules.  Only the parse of the last rules read is kept, by their
 * bytes.  A dropped or retyped table refuses
 * every write, and rules that are not valid (written around
 * set_document_rules) refuse their app's writes: the check fails closed.
 *
 * set_document_rules refuses rules that stored documents break, with their
 * count and the first few users: it takes a SHARE lock on the store's
 * table (on Citus on every node), so no write can slip in between the check
 * and the commit.
 *
 * src/store/document_rules.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/tupdesc.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_opfamily.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "auth/admin_access.h"
#include "args.h"
#include "citus/citus_table.h"
#include "store/document_rules.h"
#include "store/statement.h"
#include "store/store_table.h"

#define RULES_TABLE_HINT "Give user_metadata.document_rules back its columns app_id text and rules jsonb, as CREATE EXTENSION made them."
#define RULES_FORMAT_HINT "The rules are an object of max_keys (an integer), max_bytes (an integer), keys (an object of root keys, each \"string\", \"number\", \"boolean\", \"object\", \"array\", \"null\" or a list of them) and other_keys (a boolean)."

/* How many users a refusal of set_document_rules names */
#define SAMPLE_USERS 5

/* The JSON types a rule of keys names, as bits */
static const char *const type_names[] = {"string", "number", "boolean", "object", "array", "null"};

#define NUM_TYPES lengthof(type_names)

/* One app's rules, parsed; keys points into the rules' jsonb */
typedef struct DocumentRules
{
	int64		max_keys;		/* -1: no limit */
	int64		max_bytes;		/* -1: no limit */
	JsonbContainer *keys;		/* NULL: none listed */
	bool		other_keys;
} DocumentRules;

/*
 * Bad rules: those given to set_document_rules (stored false), or those the
 * table holds for an app (stored true), which refuse its writes.
 */
static void
bad_rules(const char *app, bool stored, const char *detail)
{
	if (stored)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the document rules of app \"%s\" in user_metadata.document_rules are not valid", app),
				 errdetail("%s Writes of the app are refused until they are.", detail),
				 errhint("Set the app's rules again with user_metadata.set_document_rules(), which checks them.")));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid document rules for app \"%s\"", app),
			 errdetail("%s", detail),
			 errhint(RULES_FORMAT_HINT)));
}

/* A JSON value as JSON text, for messages */
static char *
json_text(JsonbValue *value)
{
	Jsonb	   *jb = JsonbValueToJsonb(value);

	return JsonbToCString(NULL, &jb->root, VARSIZE(jb));
}

/* A rule's value as an integer from 0 to INT_MAX, or false */
static bool
rule_integer(JsonbValue *value, int64 *result)
{
	char	   *digits;
	char	   *end;
	long long	n;

	if (value->type != jbvNumeric)
		return false;
	digits = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(value->val.numeric)));
	errno = 0;
	n = strtoll(digits, &end, 10);
	if (errno != 0 || end == digits || *end != '\0' || n < 0 || n > INT_MAX)
		return false;
	*result = n;
	return true;
}

/* The bit of the type named by a JSON string, or 0 */
static int
type_bit(JsonbValue *name)
{
	if (name->type != jbvString)
		return 0;
	for (int i = 0; i < (int) NUM_TYPES; i++)
		if (strlen(type_names[i]) == (size_t) name->val.string.len &&
			memcmp(type_names[i], name->val.string.val, name->val.string.len) == 0)
			return 1 << i;
	return 0;
}

/* The types a key's rule allows (a name or a non-empty list of names), or 0 */
static int
allowed_types(JsonbValue *rule)
{
	JsonbIterator *it;
	JsonbValue	elem;
	JsonbIteratorToken token;
	int			mask = 0;

	if (rule->type != jbvBinary)
		return type_bit(rule);
	if (!JsonContainerIsArray(rule->val.binary.data) || JsonContainerSize(rule->val.binary.data) == 0)
		return 0;
	it = JsonbIteratorInit(rule->val.binary.data);
	while ((token = JsonbIteratorNext(&it, &elem, true)) != WJB_DONE)
	{
		int			bit;

		if (token != WJB_ELEM)
			continue;
		if ((bit = type_bit(&elem)) == 0)
			return 0;
		mask |= bit;
	}
	return mask;
}

/* The bit of the JSON type of a document's value */
static int
value_bit(JsonbValue *value)
{
	switch (value->type)
	{
		case jbvString:
			return 1 << 0;
		case jbvNumeric:
			return 1 << 1;
		case jbvBool:
			return 1 << 2;
		case jbvBinary:
			return JsonContainerIsObject(value->val.binary.data) ? 1 << 3 : 1 << 4;
		default:
			return 1 << 5;
	}
}

/* Type names of a mask: "number", "number or string", "string, number or null" */
static char *
type_list(int mask)
{
	StringInfoData buf;
	int			left = 0;

	for (int i = 0; i < (int) NUM_TYPES; i++)
		left += (mask >> i) & 1;
	initStringInfo(&buf);
	for (int i = 0; i < (int) NUM_TYPES; i++)
	{
		if (!((mask >> i) & 1))
			continue;
		appendStringInfoString(&buf, type_names[i]);
		left--;
		if (left > 1)
			appendStringInfoString(&buf, ", ");
		else if (left == 1)
			appendStringInfoString(&buf, " or ");
	}
	return buf.data;
}

/* Check rules, the rules of app, and parse them into *result */
static void
parse_rules(Jsonb *rules, const char *app, bool stored, DocumentRules *result)
{
	JsonbIterator *it;
	JsonbValue	key;
	JsonbValue	value;

	result->max_keys = -1;
	result->max_bytes = -1;
	result->keys = NULL;
	result->other_keys = true;
	if (!JB_ROOT_IS_OBJECT(rules))
		bad_rules(app, stored, psprintf("The rules are a JSON %s, not an object.",
										text_to_cstring(DatumGetTextPP(DirectFunctionCall1(jsonb_typeof, JsonbPGetDatum(rules))))));

	it = JsonbIteratorInit(&rules->root);
	while (JsonbIteratorNext(&it, &key, true) != WJB_DONE)
	{
		char	   *name;

		if (key.type != jbvString)
			continue;			/* the object's start and end */
		name = pnstrdup(key.val.string.val, key.val.string.len);
		(void) JsonbIteratorNext(&it, &value, true);
		if (strcmp(name, "max_keys") == 0 || strcmp(name, "max_bytes") == 0)
		{
			if (!rule_integer(&value, name[4] == 'k' ? &result->max_keys : &result->max_bytes))
				bad_rules(app, stored, psprintf("Rule \"%s\" must be an integer from 0 to %d, not %s.",
												name, INT_MAX, json_text(&value)));
		}
		else if (strcmp(name, "other_keys") == 0)
		{
			if (value.type != jbvBool)
				bad_rules(app, stored, psprintf("Rule \"other_keys\" must be true or false, not %s.",
												json_text(&value)));
			result->other_keys = value.val.boolean;
		}
		else if (strcmp(name, "keys") == 0)
		{
			JsonbIterator *kit;
			JsonbValue	rkey;
			JsonbValue	rule;

			if (value.type != jbvBinary || !JsonContainerIsObject(value.val.binary.data))
				bad_rules(app, stored, psprintf("Rule \"keys\" must be an object of root keys, not %s.",
												json_text(&value)));
			result->keys = value.val.binary.data;
			kit = JsonbIteratorInit(result->keys);
			while (JsonbIteratorNext(&kit, &rkey, true) != WJB_DONE)
			{
				if (rkey.type != jbvString)
					continue;
				(void) JsonbIteratorNext(&kit, &rule, true);
				if (allowed_types(&rule) == 0)
					bad_rules(app, stored, psprintf("Rule \"keys\" gives key \"%s\" the type %s; a key takes \"string\", \"number\", \"boolean\", \"object\", \"array\", \"null\" or a non-empty list of them.",
													pnstrdup(rkey.val.string.val, rkey.val.string.len),
													json_text(&rule)));
			}
		}
		else
			bad_rules(app, stored, psprintf("\"%s\" is not a document rule; the rules are max_keys, max_bytes, keys and other_keys.",
											name));
	}
}

/*
 * The sentence saying how document, user's document in app, breaks rules,
 * or NULL when it follows them
 */
static char *
rule_violation(const DocumentRules *rules, Jsonb *document, const char *app, const char *user)
{
	JsonbIterator *it;
	JsonbValue	key;
	JsonbValue	value;

	if (!JB_ROOT_IS_OBJECT(document))
		return psprintf("The document of user \"%s\" in app \"%s\" is not a JSON object.", user, app);
	if (rules->max_keys >= 0 && JsonContainerSize(&document->root) > rules->max_keys)
		return psprintf("The document of user \"%s\" in app \"%s\" has %u root keys; the app's rule \"max_keys\" allows %lld.",
						user, app, (unsigned) JsonContainerSize(&document->root), (long long) rules->max_keys);
	if (rules->max_bytes >= 0 && VARSIZE(document) > rules->max_bytes)
		return psprintf("The document of user \"%s\" in app \"%s\" takes %zu bytes; the app's rule \"max_bytes\" allows %lld.",
						user, app, (size_t) VARSIZE(document), (long long) rules->max_bytes);
	if (rules->keys == NULL && rules->other_keys)
		return NULL;

	it = JsonbIteratorInit(&document->root);
	while (JsonbIteratorNext(&it, &key, true) != WJB_DONE)
	{
		JsonbValue	rulebuf;
		JsonbValue *rule = NULL;
		int			allowed;

		if (key.type != jbvString)
			continue;
		(void) JsonbIteratorNext(&it, &value, true);
		if (rules->keys != NULL)
			rule = getKeyJsonValueFromContainer(rules->keys, key.val.string.val, key.val.string.len, &rulebuf);
		if (rule == NULL)
		{
			if (!rules->other_keys)
				return psprintf("The document of user \"%s\" in app \"%s\" has key \"%s\", which the app's rule \"keys\" does not list; its rule \"other_keys\" is false.",
								user, app, pnstrdup(key.val.string.val, key.val.string.len));
			continue;
		}
		allowed = allowed_types(rule);
		if (!(allowed & value_bit(&value)))
			return psprintf("The document of user \"%s\" in app \"%s\" has key \"%s\" of type %s; the app's rule \"keys\" allows %s.",
							user, app, pnstrdup(key.val.string.val, key.val.string.len),
							type_list(value_bit(&value)), type_list(allowed));
	}
	return NULL;
}

/* Whether this install has document rules: version 1.4 or later */
static bool
rules_installed(void)
{
	Oid			argtypes[2] = {TEXTOID, JSONBOID};

	return OidIsValid(LookupFuncName(list_make2(makeString(pstrdup("user_metadata")),
												makeString(pstrdup("set_document_rules"))),
									 2, argtypes, true));
}

/* The attribute number of column name of document_rules, of type type */
static AttrNumber
rules_column(Relation rel, const char *name, Oid type)
{
	return um_table_column(rel, name, type,
						   "Every write of user_metadata.user_metadata is checked against the rules in that table, and refused until they can be read.",
						   RULES_TABLE_HINT);
}

/*
 * The primary key index of document_rules if it can find an app's row: a
 * btree on app_id alone with text's equality.  Else InvalidOid, and the
 * lookup scans the table, which is slower (each scan asks the kernel for
 * the table's size) but as right.
 */
static Oid
app_index(Relation rel, AttrNumber app_attnum, Oid *collation)
{
	List	   *indexes = RelationGetIndexList(rel);
	Oid			indexid = rel->rd_pkindex;
	Relation	irel;
	bool		usable;

	list_free(indexes);
	if (!OidIsValid(indexid))
		return InvalidOid;
	irel = index_open(indexid, AccessShareLock);
	usable = irel->rd_rel->relam == BTREE_AM_OID &&
		irel->rd_index->indnkeyatts == 1 &&
		irel->rd_index->indkey.values[0] == app_attnum &&
		irel->rd_opfamily[0] == TEXT_BTREE_FAM_OID;
	*collation = irel->rd_indcollation[0];
	index_close(irel, AccessShareLock);
	return usable ? indexid : InvalidOid;
}

/*
 * The rules of app_id, copied, or NULL when it has none or the install
 * predates rules, for a trigger fired on fired_on or, NULL, another
 * caller.  Read straight from the table (on Citus its shard on this node,
 * citus_table.c) with the latest snapshot,
 * like the admin scopes: whatever wrote them, the next write of every
 * session sees the committed rules.  One probe of the primary key: an app
 * without rules costs no more when many others have them.
 */
static Jsonb *
read_rules(text *app_id, Relation fired_on)
{
	Oid			relid = um_local_table("document_rules", fired_on);
	Relation	rel = OidIsValid(relid) ? try_table_open(relid, AccessShareLock) : NULL;
	AttrNumber	app_attnum;
	AttrNumber	rules_attnum;
	Oid			indexid;
	Oid			collation = InvalidOid;
	ScanKeyData key;
	Snapshot	snapshot;
	SysScanDesc scan;
	HeapTuple	tuple;
	Jsonb	   *rules = NULL;
	bool		found = false;

	if (rel == NULL)
	{
		if (!rules_installed())
			return NULL;		/* a version before 1.4 */
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table user_metadata.document_rules does not exist"),
				 errdetail("Every write of user_metadata.user_metadata is checked against the rules in that table, and refused until they can be read."),
				 errhint("Restore the table from a dump, or recreate the extension.")));
	}
	app_attnum = rules_column(rel, "app_id", TEXTOID);
	rules_attnum = rules_column(rel, "rules", JSONBOID);
	indexid = app_index(rel, app_attnum, &collation);
	ScanKeyInit(&key, app_attnum, BTEqualStrategyNumber, F_TEXTEQ, PointerGetDatum(app_id));
	if (OidIsValid(collation))
		key.sk_collation = collation;
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = systable_beginscan(rel, indexid, OidIsValid(indexid), snapshot, 1, &key);
	while (!found && (tuple = systable_getnext(scan)) != NULL)
	{
		bool		isnull;
		Datum		app = heap_getattr(tuple, app_attnum, RelationGetDescr(rel), &isnull);
		text	   *row_app;
		Datum		value;

		/* the collation's equality may be wider than the bytes' */
		if (isnull)
			continue;
		row_app = DatumGetTextPP(app);
		if (!um_same_id(row_app, app_id))
			continue;
		found = true;
		value = heap_getattr(tuple, rules_attnum, RelationGetDescr(rel), &isnull);
		if (!isnull)
			rules = DatumGetJsonbPCopy(value);
	}
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);

	if (found && rules == NULL)
		bad_rules(text_to_cstring(app_id), true, "The rules are SQL NULL.");
	return rules;
}

/*
 * The last rules parsed, by their bytes: the table is read on every write,
 * but the same bytes need not be parsed again.  Only rules that parsed
 * without error are kept.
 */
static MemoryContext parsed_context = NULL;
static Jsonb *parsed_bytes = NULL;
static DocumentRules parsed_rules;

static const DocumentRules *
parsed(Jsonb *stored, const char *app)
{
	DocumentRules rules;

	if (parsed_bytes != NULL && VARSIZE(parsed_bytes) == VARSIZE(stored) &&
		memcmp(parsed_bytes, stored, VARSIZE(stored)) == 0)
		return &parsed_rules;
	parse_rules(stored, app, true, &rules);
	if (parsed_context == NULL)
		parsed_context = AllocSetContextCreate(TopMemoryContext, "user_metadata document rules",
											   ALLOCSET_SMALL_SIZES);
	parsed_bytes = NULL;
	MemoryContextReset(parsed_context);
	parsed_bytes = MemoryContextAlloc(parsed_context, VARSIZE(stored));
	memcpy(parsed_bytes, stored, VARSIZE(stored));
	parsed_rules = rules;
	if (rules.keys != NULL)		/* point into the kept copy */
		parsed_rules.keys = (JsonbContainer *) ((char *) parsed_bytes + ((char *) rules.keys - (char *) stored));
	return &parsed_rules;
}

/*
 * The rules of the app a statement last read, kept in the trigger's
 * FmgrInfo, which lives as long as the statement's executor: its other rows
 * (the proposed row of an upsert and the row it updates, every row of a
 * bulk write) need no second read, and the next statement reads the table
 * again.  set_document_rules, whose SHARE lock waits for the writers under
 * way, cannot change the rules under another session's writing statement;
 * called from inside one (its source query, a trigger), it counts a new
 * generation of rules, which the statement's next row reads.
 */
typedef struct StatementRules
{
	text	   *app_id;
	uint64		generation;
	Jsonb	   *rules;			/* NULL: the app has none */
} StatementRules;

/* set_document_rules calls of this backend */
static uint64 rules_generation = 0;

static Jsonb *
statement_rules(FmgrInfo *flinfo, Relation fired_on, text *app_id)
{
	StatementRules *memo = flinfo->fn_extra;
	MemoryContext caller;
	Jsonb	   *rules;

	if (memo != NULL && memo->generation == rules_generation && um_same_id(memo->app_id, app_id))
		return memo->rules;
	rules = read_rules(app_id, fired_on);
	caller = MemoryContextSwitchTo(flinfo->fn_mcxt);
	if (memo == NULL)
		memo = flinfo->fn_extra = palloc0(sizeof(StatementRules));
	else
	{
		pfree(memo->app_id);
		if (memo->rules != NULL)
			pfree(memo->rules);
	}
	memo->app_id = DatumGetTextPCopy(PointerGetDatum(app_id));
	memo->generation = rules_generation;
	memo->rules = rules == NULL ? NULL : DatumGetJsonbPCopy(JsonbPGetDatum(rules));
	MemoryContextSwitchTo(caller);
	return memo->rules;
}

void
um_check_document_rules(FmgrInfo *flinfo, Relation fired_on, text *app_id, text *user_id, Jsonb *document)
{
	Jsonb	   *stored = statement_rules(flinfo, fired_on, app_id);
	char	   *app;
	char	   *detail;

	if (stored == NULL)
		return;
	app = text_to_cstring(app_id);
	detail = rule_violation(parsed(stored, app), document, app, text_to_cstring(user_id));
	if (detail != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("user metadata document breaks the rules of app \"%s\"", app),
				 errdetail("%s", detail),
				 errhint("Store a document that follows the rules, or change them with user_metadata.set_document_rules().")));
}

/* set_document_rules' arguments; rules NULL removes them */
typedef struct RulesCall
{
	text	   *app_id;
	Jsonb	   *rules;
} RulesCall;

/*
 * The stored documents that break new rules: how many, and the
 * SAMPLE_USERS smallest user ids among them, in order, with what each breaks
 */
typedef struct BrokenDocuments
{
	int64		count;
	int			nsample;
	char	   *users[SAMPLE_USERS];
	char	   *details[SAMPLE_USERS];
} BrokenDocuments;

/* Count the document of user if it breaks rules; the sample goes to keep */
static void
note_document(BrokenDocuments *broken, const DocumentRules *rules, Jsonb *document,
			  const char *app, const char *user, MemoryContext keep)
{
	char	   *detail = rule_violation(rules, document, app, user);
	int			at;

	if (detail == NULL)
		return;
	broken->count++;
	for (at = broken->nsample; at > 0 && strcmp(broken->users[at - 1], user) > 0; at--)
		;
	if (at == SAMPLE_USERS)
		return;
	if (broken->nsample == SAMPLE_USERS)
		broken->nsample--;
	memmove(&broken->users[at + 1], &broken->users[at], sizeof(char *) * (broken->nsample - at));
	memmove(&broken->details[at + 1], &broken->details[at], sizeof(char *) * (broken->nsample - at));
	broken->users[at] = MemoryContextStrdup(keep, user);
	broken->details[at] = MemoryContextStrdup(keep, detail);
	broken->nsample++;
}

/*
 * The store on this node.  The SHARE lock waits for the writers under way
 * and holds off new ones until the caller's transaction ends; the latest
 * snapshot, taken after it, sees every committed document whatever the
 * isolation level.
 */
static void
check_local_documents(BrokenDocuments *broken, const DocumentRules *rules, text *app_id, const char *app)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext per_row = AllocSetContextCreate(caller, "document rules check", ALLOCSET_DEFAULT_SIZES);
	Relation	rel;
	StoreColumns columns;
	Snapshot	snapshot;
	TableScanDesc scan;
	HeapTuple	tuple;

	rel = table_open(get_relname_relid("user_metadata", get_namespace_oid("user_metadata", false)), ShareLock);
	um_store_columns(rel, &columns);
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = table_beginscan(rel, snapshot, 0, NULL);
	while ((tuple = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		TupleDesc	desc = RelationGetDescr(rel);
		bool		app_null;
		bool		document_null;
		bool		user_null;
		Datum		row_app = heap_getattr(tuple, columns.app_id, desc, &app_null);
		Datum		document = heap_getattr(tuple, columns.metadata, desc, &document_null);
		Datum		user = heap_getattr(tuple, columns.user_id, desc, &user_null);

		MemoryContextSwitchTo(per_row);
		if (!app_null && !document_null && !user_null && um_same_id(DatumGetTextPP(row_app), app_id))
			note_document(broken, rules, DatumGetJsonbP(document), app, TextDatumGetCString(user), caller);
		MemoryContextSwitchTo(caller);
		MemoryContextReset(per_row);
	}
	table_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, NoLock);	/* the lock is held until the end of the transaction */
	MemoryContextDelete(per_row);
}

/* The distributed store's statements */
typedef enum CheckStatement
{
	CHECK_LOCK_STORE,
	CHECK_APP_DOCUMENTS,
	NUM_CHECK_STATEMENTS
} CheckStatement;

static const StatementDef check_statement_defs[NUM_CHECK_STATEMENTS] = {
	/* Citus takes it on every node of its metadata, where writers lock the table */
	[CHECK_LOCK_STORE] = {
		"LOCK TABLE user_metadata.user_metadata IN SHARE MODE",
		0, {InvalidOid}, SPI_OK_UTILITY, 0, {InvalidOid}
	},
	[CHECK_APP_DOCUMENTS] = {
		"SELECT t.user_id, t.metadata FROM user_metadata.user_metadata t"
		" WHERE t.app_id OPERATOR(pg_catalog.=) $1 AND t.user_id IS NOT NULL AND t.metadata IS NOT NULL",
		1, {TEXTOID}, SPI_OK_SELECT, 2, {TEXTOID, JSONBOID}
	},
};

static SPIPlanPtr check_plans[NUM_CHECK_STATEMENTS];

static const StatementSet check_statements = {
	check_statement_defs, check_plans, ERRCODE_DATATYPE_MISMATCH,
	"a user metadata statement did not run as written",
	"Give user_metadata.user_metadata back the columns app_id text, user_id text and metadata jsonb, as CREATE EXTENSION made them.",
	true
};

/*
 * The store that Citus distributes: the shards are on the workers, and so
 * are the locks of the writers that do not come through this node.  The
 * lock goes to every node first; the workers' snapshots are taken when a
 * distributed transaction begins there, before the lock in REPEATABLE READ,
 * which is therefore refused.
 */
static void
check_distributed_documents(BrokenDocuments *broken, const DocumentRules *rules, text *app_id, const char *app)
{
	MemoryContext caller = CurrentMemoryContext;
	Datum		values[1] = {PointerGetDatum(app_id)};
	MemoryContext per_row;
	Tuplestorestate *documents;
	TupleTableSlot *slot;
	TupleDesc	desc;
	int			nest;
	int			rc;

	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("setting document rules on a store that Citus distributes requires READ COMMITTED"),
				 errdetail("The workers' snapshots of a REPEATABLE READ transaction predate the lock that holds off writers, so a document could escape the check."),
				 errhint("Call set_document_rules in a READ COMMITTED transaction.")));
	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
	/* Citus propagates the lock only with these on, which any role may turn off */
	nest = NewGUCNestLevel();
	(void) set_config_option("citus.enable_ddl_propagation", "on", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("citus.enable_metadata_sync", "on", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	um_run_statement(&check_statements, CHECK_LOCK_STORE, NULL, NULL, false, NULL);
	AtEOXact_GUC(true, nest);
	/* a tuplestore spills to disk beyond work_mem: any number of documents */
	MemoryContextSwitchTo(caller);
	documents = tuplestore_begin_heap(false, false, work_mem);
	desc = CreateTemplateTupleDesc(2);
	TupleDescInitEntry(desc, 1, "user_id", TEXTOID, -1, 0);
	TupleDescInitEntry(desc, 2, "metadata", JSONBOID, -1, 0);
	/* not read-only: a snapshot taken after the lock, also for local shards */
	um_run_statement(&check_statements, CHECK_APP_DOCUMENTS, values, NULL, false, documents);
	SPI_finish();
	slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	per_row = AllocSetContextCreate(caller, "document rules check", ALLOCSET_DEFAULT_SIZES);
	while (tuplestore_gettupleslot(documents, true, false, slot))
	{
		bool		isnull;
		char	   *user;

		MemoryContextSwitchTo(per_row);
		user = TextDatumGetCString(slot_getattr(slot, 1, &isnull));
		note_document(broken, rules, DatumGetJsonbP(slot_getattr(slot, 2, &isnull)), app, user, caller);
		MemoryContextSwitchTo(caller);
		MemoryContextReset(per_row);
		ExecClearTuple(slot);
	}
	MemoryContextDelete(per_row);
	ExecDropSingleTupleTableSlot(slot);
	tuplestore_end(documents);
}

/* Raise 23514 if a stored document of app_id breaks rules */
static void
check_stored_documents(text *app_id, Jsonb *stored_rules)
{
	char	   *app = text_to_cstring(app_id);
	DocumentRules rules;
	BrokenDocuments broken = {0};
	StringInfoData sample;

	parse_rules(stored_rules, app, false, &rules);
	um_check_store_table();
	if (um_citus_distributes("user_metadata"))
		check_distributed_documents(&broken, &rules, app_id, app);
	else
		check_local_documents(&broken, &rules, app_id, app);
	if (broken.count == 0)
		return;
	initStringInfo(&sample);
	for (int i = 0; i < broken.nsample; i++)
		appendStringInfo(&sample, "%s\"%s\"", i == 0 ? "" : ", ", broken.users[i]);
	ereport(ERROR,
			(errcode(ERRCODE_CHECK_VIOLATION),
			 errmsg_plural("%lld stored document of app \"%s\" breaks the new rules",
						   "%lld stored documents of app \"%s\" break the new rules",
						   broken.count, (long long) broken.count, app),
			 broken.count > broken.nsample ?
			 errdetail("The first %d of them by user id are those of users %s. %s",
					   broken.nsample, sample.data, broken.details[0]) :
			 errdetail_plural("It is the document of user %s. %s", "They are the documents of users %s. %s",
							  broken.nsample, sample.data, broken.details[0]),
			 errhint("Change those documents to follow the rules, then set them again; the app's rules were left as they were.")));
}

/* set_document_rules' writes of user_metadata.document_rules */
typedef enum RulesStatement
{
	RSTMT_SET,
	RSTMT_REMOVE,
	NUM_RULES_STATEMENTS
} RulesStatement;

static const StatementDef rules_statement_defs[NUM_RULES_STATEMENTS] = {
	[RSTMT_SET] = {
		"INSERT INTO user_metadata.document_rules AS r (app_id, rules) VALUES ($1, $2)"
		" ON CONFLICT (app_id) DO UPDATE SET rules = excluded.rules",
		2, {TEXTOID, JSONBOID}, SPI_OK_INSERT, 0, {InvalidOid}
	},
	[RSTMT_REMOVE] = {
		"DELETE FROM user_metadata.document_rules WHERE app_id OPERATOR(pg_catalog.=) $1",
		1, {TEXTOID}, SPI_OK_DELETE, 0, {InvalidOid}
	},
};

static SPIPlanPtr rules_plans[NUM_RULES_STATEMENTS];

static const StatementSet rules_statements = {
	rules_statement_defs, rules_plans, ERRCODE_TRIGGERED_ACTION_EXCEPTION,
	"a user metadata statement did not run as written",
	"Rules on user_metadata.document_rules must not rewrite the writes of the user_metadata functions.",
	true
};

/* set_document_rules' work, with the owner's rights */
static Datum
set_rules_as_owner(FunctionCallInfo fcinfo, void *arg)
{
	RulesCall  *call = arg;
	Datum		values[2];
	int			rc;

	rules_generation++;
	/* the table as the trigger reads it, or the call fails as writes would */
	(void) read_rules(call->app_id, NULL);
	if (call->rules != NULL)
	{
		um_check_follows_store("document_rules", "set_document_rules");
		check_stored_documents(call->app_id, call->rules);
	}

	values[0] = PointerGetDatum(call->app_id);
	values[1] = call->rules != NULL ? JsonbPGetDatum(call->rules) : (Datum) 0;
	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
	um_run_statement(&rules_statements, call->rules != NULL ? RSTMT_SET : RSTMT_REMOVE,
					 values, NULL, false, NULL);
	SPI_finish();
	return (Datum) 0;
}

/*
 * set_document_rules(app_id text, rules jsonb) RETURNS void
 *
 * Admin API: sets the rules of app_id's documents, or removes them when
 * rules is NULL.  22023 for rules that are not valid, 23514 when stored
 * documents break them.
 */
PG_FUNCTION_INFO_V1(set_document_rules);
Datum
set_document_rules(PG_FUNCTION_ARGS)
{
	RulesCall	call;

	call.app_id = um_id_arg(fcinfo, 0, "app_id");
	call.rules = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);
	if (call.rules != NULL)
	{
		DocumentRules rules;

		parse_rules(call.rules, text_to_cstring(call.app_id), false, &rules);
	}
	(void) um_admin_call(fcinfo, call.app_id, set_rules_as_owner, &call);
	PG_RETURN_VOID();
}

/* get_document_rules' work, with the owner's rights */
static Datum
get_rules_as_owner(FunctionCallInfo fcinfo, void *arg)
{
	return PointerGetDatum(read_rules((text *) arg, NULL));
}

/*
 * get_document_rules(app_id text) RETURNS jsonb
 *
 * Admin API: the rules of app_id's documents, NULL when it has none.
 */
PG_FUNCTION_INFO_V1(get_document_rules);
Datum
get_document_rules(PG_FUNCTION_ARGS)
{
	text	   *app_id = um_id_arg(fcinfo, 0, "app_id");
	Datum		rules = um_admin_call(fcinfo, app_id, get_rules_as_owner, app_id);

	if (DatumGetPointer(rules) == NULL)
		PG_RETURN_NULL();
	return rules;
}
