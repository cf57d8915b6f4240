/*-------------------------------------------------------------------------
 *
 * jsonb_merge.c
 *	  Root-level and RFC 7396 merges that write the output jsonb directly.
 *
 * jsonb keeps an object's keys sorted (shorter first, then bytewise), so
 * both merges are one linear pass over the two key arrays.  Every surviving
 * value is copied as raw bytes: strings, numerics and nested containers do
 * not depend on where they sit, only their 4-byte alignment padding has to
 * be recomputed at the new offset.  The whole output is planned first, so
 * its exact size is known and it is allocated once.  The bytes written are
 * exactly those PostgreSQL's own jsonb constructor (convertJsonbObject in
 * jsonb_util.c) would produce for the same value, so equality, hashing and
 * indexes treat the result like any other jsonb.
 *
 * src/jsonb_merge.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "jsonb_merge.h"

/* Root merges of up to this many pairs plan on the stack, not in palloc */
#define STACK_PAIRS 64

/* A read position in the key and value entries of one jsonb object */
typedef struct ObjectCursor
{
	const JEntry *entries;		/* children[] of the container */
	const char *data;			/* start of the container's data area */
	int			count;			/* number of pairs */
	int			index;			/* current pair */
	uint32		keyoff;			/* data offset of the current key */
	uint32		valoff;			/* data offset of the current value */
} ObjectCursor;

/* One value's bytes, and the alignment padding in front of them */
typedef struct RawValue
{
	uint32		type;			/* JENTRY_IS* bits */
	uint32		len;			/* without the padding */
	uint32		pad;
	const char *bytes;
} RawValue;

/* A pending memcpy: copies of adjacent source bytes to adjacent places coalesce */
typedef struct CopyRun
{
	char	   *dst;
	const char *src;
	uint32		len;
} CopyRun;

typedef struct MergePlan MergePlan;

typedef struct PlannedPair
{
	const char *key;
	uint32		keylen;
	RawValue	value;
	MergePlan  *child;			/* nested object still to be written, or NULL */
} PlannedPair;

struct MergePlan
{
	PlannedPair *pairs;
	int			npairs;
	uint32		size;			/* bytes of the finished container */
	bool		same_as_base;	/* the output would equal the base object */
	bool		same_as_patch;	/* the output would equal the patch object */
};

static void plan_merge(MergePlan *plan, const JsonbContainer *base,
					   const JsonbContainer *patch, bool deep,
					   PlannedPair *pairs);

/* Numerics and containers start on a 4-byte boundary of the data area */
static inline bool
needs_alignment(uint32 type)
{
	return type == JENTRY_ISNUMERIC || type == JENTRY_ISCONTAINER;
}

static inline uint32
entry_length(JEntry entry, uint32 offset)
{
	return JBE_HAS_OFF(entry) ? JBE_OFFLENFLD(entry) - offset : JBE_OFFLENFLD(entry);
}

/* Every JB_OFFSET_STRIDE'th entry stores its end offset instead of a length */
static inline JEntry
make_entry(uint32 type, uint32 len, uint32 end, int index)
{
	if (index % JB_OFFSET_STRIDE == 0)
		return type | JENTRY_HAS_OFF | end;
	return type | len;
}

static void
cursor_init(ObjectCursor *c, const JsonbContainer *container)
{
	c->entries = NULL;
	c->data = NULL;
	c->index = 0;
	c->keyoff = 0;
	c->valoff = 0;
	c->count = container ? JsonContainerSize(container) : 0;
	if (c->count == 0)
		return;
	c->entries = container->children;
	c->data = (const char *) &container->children[c->count * 2];
	c->valoff = getJsonbOffset(container, c->count);
}

static inline uint32
cursor_key(const ObjectCursor *c, const char **key)
{
	*key = c->data + c->keyoff;
	return entry_length(c->entries[c->index], c->keyoff);
}

/* Fills value and returns the length of its entry, padding included */
static inline uint32
cursor_value(const ObjectCursor *c, RawValue *value)
{
	JEntry		entry = c->entries[c->count + c->index];
	uint32		len = entry_length(entry, c->valoff);
	uint32		start = c->valoff;

	value->type = entry & JENTRY_TYPEMASK;
	if (needs_alignment(value->type))
		start = INTALIGN(start);
	value->bytes = c->data + start;
	value->len = c->valoff + len - start;
	value->pad = start - c->valoff;
	return len;
}

static inline bool
value_is_object(const RawValue *value)
{
	return value->type == JENTRY_ISCONTAINER &&
		JsonContainerIsObject((const JsonbContainer *) value->bytes);
}

static inline bool
values_equal(const RawValue *a, const RawValue *b)
{
	return a->type == b->type && a->len == b->len &&
		memcmp(a->bytes, b->bytes, a->len) == 0;
}

static inline int
compare_keys(const char *a, uint32 alen, const char *b, uint32 blen)
{
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return memcmp(a, b, alen);
}

static inline void
add_pair(MergePlan *plan, const char *key, uint32 keylen,
		 const RawValue *value, MergePlan *child)
{
	PlannedPair *pair = &plan->pairs[plan->npairs++];

	/* field by field: a whole-struct copy defeats store forwarding here */
	pair->key = key;
	pair->keylen = keylen;
	pair->value.type = value->type;
	pair->value.len = value->len;
	pair->value.pad = value->pad;
	pair->value.bytes = value->bytes;
	pair->child = child;
}

/*
 * RFC 7396 for one key whose patch value is an object: merge it into the
 * base value if that is an object too, else into {} (which strips nulls).
 * Keeps the original bytes when the merge changes nothing.
 */
static MergePlan *
plan_nested(MergePlan *plan, const char *key, uint32 keylen,
			const RawValue *base, const RawValue *patch)
{
	const JsonbContainer *target = NULL;
	const JsonbContainer *source = (const JsonbContainer *) patch->bytes;
	MergePlan  *child = palloc(sizeof(MergePlan));
	int			capacity = JsonContainerSize(source);

	check_stack_depth();

	if (base != NULL && value_is_object(base))
	{
		target = (const JsonbContainer *) base->bytes;
		capacity += JsonContainerSize(target);
	}
	plan_merge(child, target, source, true,
			   palloc(Max(capacity, 1) * sizeof(PlannedPair)));

	if (child->same_as_patch)
		add_pair(plan, key, keylen, patch, NULL);
	else if (target != NULL && child->same_as_base)
		add_pair(plan, key, keylen, base, NULL);
	else
		add_pair(plan, key, keylen, patch, child);
	return child;
}

/*
 * Plan the merge of patch into base (either may be NULL for {}).
 *
 * Root mode (deep = false): patch values replace base values whole and root
 * nulls from either side are dropped.  Deep mode is RFC 7396: base nulls are
 * kept and objects on both sides are merged recursively.  pairs must hold
 * the pair counts of base and patch together.
 */
static void
plan_merge(MergePlan *plan, const JsonbContainer *base,
		   const JsonbContainer *patch, bool deep, PlannedPair *pairs)
{
	ObjectCursor b;
	ObjectCursor p;
	uint32		keybytes = 0;
	uint32		off;

	plan->pairs = pairs;
	plan->npairs = 0;
	plan->same_as_base = true;
	plan->same_as_patch = true;

	cursor_init(&b, base);
	cursor_init(&p, patch);
	while (b.index < b.count || p.index < p.count)
	{
		const char *bkey = NULL;
		const char *pkey = NULL;
		uint32		bkeylen = 0;
		uint32		pkeylen = 0;
		uint32		bentry = 0;
		uint32		pentry = 0;
		RawValue	bval = {0};
		RawValue	pval = {0};
		int			cmp;

		if (b.index < b.count)
		{
			bkeylen = cursor_key(&b, &bkey);
			bentry = cursor_value(&b, &bval);
		}
		if (p.index < p.count)
		{
			pkeylen = cursor_key(&p, &pkey);
			pentry = cursor_value(&p, &pval);
		}
		if (bkey == NULL)
			cmp = 1;
		else if (pkey == NULL)
			cmp = -1;
		else
			cmp = compare_keys(bkey, bkeylen, pkey, pkeylen);

		if (cmp < 0)
		{
			/* only in base */
			if (!deep && bval.type == JENTRY_ISNULL)
				plan->same_as_base = false;
			else
			{
				add_pair(plan, bkey, bkeylen, &bval, NULL);
				plan->same_as_patch = false;
			}
		}
		else if (pval.type == JENTRY_ISNULL)
		{
			/* a null in the patch removes the key */
			plan->same_as_patch = false;
			if (cmp == 0)
				plan->same_as_base = false;
		}
		else if (deep && value_is_object(&pval))
		{
			MergePlan  *child = plan_nested(plan, pkey, pkeylen,
											cmp == 0 ? &bval : NULL, &pval);

			plan->same_as_base &= cmp == 0 && value_is_object(&bval) &&
				child->same_as_base;
			plan->same_as_patch &= child->same_as_patch;
		}
		else
		{
			add_pair(plan, pkey, pkeylen, &pval, NULL);
			if (cmp != 0 || !values_equal(&bval, &pval))
				plan->same_as_base = false;
		}

		if (cmp <= 0)
		{
			b.keyoff += bkeylen;
			b.valoff += bentry;
			b.index++;
		}
		if (cmp >= 0)
		{
			p.keyoff += pkeylen;
			p.valoff += pentry;
			p.index++;
		}
	}

	for (int i = 0; i < plan->npairs; i++)
		keybytes += plan->pairs[i].keylen;
	off = keybytes;
	for (int i = 0; i < plan->npairs; i++)
	{
		const PlannedPair *pair = &plan->pairs[i];

		if (needs_alignment(pair->value.type))
			off = INTALIGN(off);
		off += pair->child ? pair->child->size : pair->value.len;
		if (off > JENTRY_OFFLENMASK)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("merged jsonb object is too large"),
					 errdetail("The data of one object would exceed the jsonb maximum of %u bytes.",
							   JENTRY_OFFLENMASK),
					 errhint("Store less data per user.")));
	}
	plan->size = sizeof(uint32) + 2 * plan->npairs * sizeof(JEntry) + off;
}

static inline void
run_flush(CopyRun *run)
{
	if (run->len > 0)
		memcpy(run->dst, run->src, run->len);
	run->len = 0;
}

static inline void
run_copy(CopyRun *run, char *dst, const char *src, uint32 len)
{
	if (run->len > 0 && run->src + run->len == src && run->dst + run->len == dst)
	{
		run->len += len;
		return;
	}
	run_flush(run);
	run->dst = dst;
	run->src = src;
	run->len = len;
}

/*
 * Write a planned object at out, which must be 4-byte aligned.  Unchanged
 * stretches of an input (keys, and values whose padding comes out the same)
 * are adjacent in memory, so they go out as one memcpy each.
 */
static void
write_object(const MergePlan *plan, char *out)
{
	int			n = plan->npairs;
	uint32		header = n | JB_FOBJECT;
	JEntry	   *entries = (JEntry *) (out + sizeof(uint32));
	char	   *data = out + sizeof(uint32) + 2 * n * sizeof(JEntry);
	uint32		off = 0;
	CopyRun		run = {0};

	memcpy(out, &header, sizeof(uint32));
	for (int i = 0; i < n; i++)
	{
		const PlannedPair *pair = &plan->pairs[i];

		run_copy(&run, data + off, pair->key, pair->keylen);
		off += pair->keylen;
		entries[i] = make_entry(JENTRY_ISSTRING, pair->keylen, off, i);
	}
	for (int i = 0; i < n; i++)
	{
		const PlannedPair *pair = &plan->pairs[i];
		uint32		start = off;
		uint32		pad = 0;

		if (needs_alignment(pair->value.type))
			pad = INTALIGN(off) - off;
		if (pair->child)
		{
			memset(data + off, 0, pad);
			off += pad;
			write_object(pair->child, data + off);
			off += pair->child->size;
		}
		else if (pad == pair->value.pad)
		{
			/* the source's zero padding is exactly what is needed here */
			run_copy(&run, data + off, pair->value.bytes - pad, pad + pair->value.len);
			off += pad + pair->value.len;
		}
		else
		{
			memset(data + off, 0, pad);
			off += pad;
			run_copy(&run, data + off, pair->value.bytes, pair->value.len);
			off += pair->value.len;
		}
		entries[n + i] = make_entry(pair->value.type, off - start, off, n + i);
	}
	run_flush(&run);
}

/*
 * Merge two objects (NULL meaning {}), returning base_jb or patch_jb itself
 * when the result would equal it.
 */
static Jsonb *
merge_objects(Jsonb *base_jb, Jsonb *patch_jb, bool deep)
{
	const JsonbContainer *base = base_jb ? &base_jb->root : NULL;
	const JsonbContainer *patch = patch_jb ? &patch_jb->root : NULL;
	PlannedPair stack[STACK_PAIRS];
	PlannedPair *pairs = stack;
	int			capacity = 0;
	MergePlan	plan;
	Jsonb	   *result;

	if (base)
		capacity += JsonContainerSize(base);
	if (patch)
		capacity += JsonContainerSize(patch);
	if (capacity > STACK_PAIRS)
		pairs = palloc(capacity * sizeof(PlannedPair));

	plan_merge(&plan, base, patch, deep, pairs);
	if (plan.same_as_base && base_jb)
		result = base_jb;
	else if (plan.same_as_patch && patch_jb)
		result = patch_jb;
	else
	{
		if (plan.size > MaxAllocSize - VARHDRSZ)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("merged jsonb value is too large"),
					 errdetail("The result would take %u bytes, more than the maximum of %zu.",
							   plan.size, MaxAllocSize - VARHDRSZ),
					 errhint("Store less data per user.")));
		result = palloc(VARHDRSZ + plan.size);
		SET_VARSIZE(result, VARHDRSZ + plan.size);
		write_object(&plan, VARDATA(result));
	}
	if (pairs != stack)
		pfree(pairs);
	return result;
}

const char *
json_type_name(const Jsonb *jb)
{
	if (JB_ROOT_IS_OBJECT(jb))
		return "object";
	if (!JB_ROOT_IS_SCALAR(jb))
		return "array";
	switch (jb->root.children[0] & JENTRY_TYPEMASK)
	{
		case JENTRY_ISSTRING:
			return "string";
		case JENTRY_ISNUMERIC:
			return "number";
		case JENTRY_ISNULL:
			return "null";
		default:
			return "boolean";
	}
}

void
require_json_object(const Jsonb *jb, const char *argname)
{
	if (!JB_ROOT_IS_OBJECT(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"%s\" must be a JSON object", argname),
				 errdetail("It is a JSON %s.", json_type_name(jb)),
				 errhint("User metadata is an object of root keys, such as {\"theme\": \"dark\"}.")));
}

static inline bool
is_json_null(const Jsonb *jb)
{
	return JB_ROOT_IS_SCALAR(jb) &&
		(jb->root.children[0] & JENTRY_TYPEMASK) == JENTRY_ISNULL;
}

Jsonb *
merge_root(Jsonb *stored, Jsonb *patch)
{
	if (stored != NULL && is_json_null(stored))
		stored = NULL;
	if (stored != NULL)
		require_json_object(stored, "stored");
	if (patch != NULL)
		require_json_object(patch, "patch");
	return merge_objects(stored, patch, false);
}

/*
 * Room for a jsonb that arrived with a 1-byte varlena header: such values
 * are under 127 bytes, and DatumGetJsonbP would palloc a copy of each.
 */
typedef union ShortJsonb
{
	Jsonb		jb;
	char		bytes[VARHDRSZ + VARATT_SHORT_MAX];
} ShortJsonb;

/* Argument argno as a Jsonb, or NULL for SQL NULL */
static Jsonb *
jsonb_arg(FunctionCallInfo fcinfo, int argno, ShortJsonb *buf)
{
	struct varlena *arg;

	if (PG_ARGISNULL(argno))
		return NULL;
	arg = (struct varlena *) PG_GETARG_POINTER(argno);
	/* a TOAST pointer has a 1-byte header too */
	if (!VARATT_IS_SHORT(arg) || VARATT_IS_EXTERNAL(arg))
		return DatumGetJsonbP(PointerGetDatum(arg));
	SET_VARSIZE(&buf->jb, VARSIZE_SHORT(arg) - VARHDRSZ_SHORT + VARHDRSZ);
	memcpy(VARDATA(&buf->jb), VARDATA_SHORT(arg), VARSIZE_SHORT(arg) - VARHDRSZ_SHORT);
	return &buf->jb;
}

/* The result as a Datum: an argument returned whole goes back as it came */
static Datum
result_datum(FunctionCallInfo fcinfo, Jsonb *result, ShortJsonb *buf0, ShortJsonb *buf1)
{
	if (result == &buf0->jb)
		return PG_GETARG_DATUM(0);
	if (result == &buf1->jb)
		return PG_GETARG_DATUM(1);
	return JsonbPGetDatum(result);
}

/*
 * jsonb_merge(stored jsonb, patch jsonb) RETURNS jsonb
 *
 * SuperTokens' update rule: root keys of patch overwrite stored ones, then
 * root nulls are removed.  A NULL stored starts from {}; a NULL patch
 * changes nothing, so an accidental NULL never wipes data.
 */
PG_FUNCTION_INFO_V1(jsonb_merge);
Datum
jsonb_merge(PG_FUNCTION_ARGS)
{
	ShortJsonb	stored_buf;
	ShortJsonb	patch_buf;
	Jsonb	   *stored = jsonb_arg(fcinfo, 0, &stored_buf);
	Jsonb	   *patch = jsonb_arg(fcinfo, 1, &patch_buf);

	return result_datum(fcinfo, merge_root(stored, patch), &stored_buf, &patch_buf);
}

/*
 * jsonb_merge_patch(target jsonb, patch jsonb) RETURNS jsonb
 *
 * RFC 7396 JSON Merge Patch.  SQL NULLs behave as in jsonb_merge.
 */
PG_FUNCTION_INFO_V1(jsonb_merge_patch);
Datum
jsonb_merge_patch(PG_FUNCTION_ARGS)
{
	ShortJsonb	target_buf;
	ShortJsonb	patch_buf;
	Jsonb	   *target = jsonb_arg(fcinfo, 0, &target_buf);
	Jsonb	   *patch = jsonb_arg(fcinfo, 1, &patch_buf);
	Jsonb	   *result;

	/* a patch that is not an object replaces the target whole */
	if (patch != NULL && !JB_ROOT_IS_OBJECT(patch))
		result = patch;
	else
	{
		/* a target that is not an object is merged into as {} */
		if (target != NULL && !JB_ROOT_IS_OBJECT(target))
			target = NULL;
		result = merge_objects(target, patch, true);
	}
	return result_datum(fcinfo, result, &target_buf, &patch_buf);
}
