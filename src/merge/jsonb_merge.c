/*-------------------------------------------------------------------------
 *
 * jsonb_merge.c
 *	  Root-level and RFC 7396 merges that write the output jsonb directly.
 *
 * jsonb keeps an object's keys sorted (shorter first, then bytewise), so
 * both merges are one linear pass over the two key arrays.  The pass plans
 * the output as runs of consecutive pairs of one input: a run's key bytes
 * and its value bytes each lie contiguous in that input, so each goes out
 * with one memcpy.  Strings, numerics and nested containers do not depend
 * on where they sit; only the 4-byte alignment padding in front of numerics
 * and containers can change, and only where a run lands at another offset
 * modulo 4.  The exact output size is known before anything is written, so
 * the result is allocated once.  The bytes written are exactly those
 * PostgreSQL's own jsonb constructor (convertJsonbObject in jsonb_util.c)
 * produces for the same value, so equality, hashing and indexes treat the
 * result like any other jsonb.
 *
 * src/merge/jsonb_merge.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "merge/jsonb_merge.h"

/* Root merges of up to this many pairs plan on the stack, not in palloc */
#define STACK_RUNS 64

/* A read position in one jsonb object */
typedef struct ObjectCursor
{
	const JsonbContainer *container;
	const char *data;			/* start of the container's data area */
	int			count;			/* number of pairs */
	int			index;			/* current pair */
	uint32		keyoff;			/* data offset of the current key */
	uint32		valoff;			/* data offset of the current value entry */
} ObjectCursor;

/* The pair at a cursor */
typedef struct Pair
{
	const char *key;
	uint32		keylen;
	uint32		type;			/* JENTRY_IS* bits of the value */
	uint32		entrylen;		/* the value's entry, alignment padding included */
} Pair;

typedef struct MergePlan MergePlan;

/* Pairs first .. first + count - 1 of source, in the output in that order */
typedef struct PairRun
{
	const JsonbContainer *source;
	int			first;
	int			count;
	uint32		keyoff;			/* source data offset of the first key */
	uint32		keylen;			/* bytes of all the run's keys */
	uint32		valoff;			/* source data offset of the first value entry */
	uint32		vallen;			/* bytes of all its value entries */
	MergePlan  *child;			/* one pair whose value is this nested merge */
} PairRun;

struct MergePlan
{
	PairRun    *runs;
	int			nruns;
	int			npairs;
	uint32		keybytes;
	uint32		size;			/* bytes of the finished container */
	bool		same_as_base;	/* the output would equal the base object */
	bool		same_as_patch;	/* the output would equal the patch object */
};

static void plan_merge(MergePlan *plan, const JsonbContainer *base,
					   const JsonbContainer *patch, bool deep, PairRun *runs);

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

static inline const char *
data_area(const JsonbContainer *container)
{
	return (const char *) &container->children[2 * JsonContainerSize(container)];
}

/* The bytes of a value whose entry starts at data offset off */
static inline const char *
value_bytes(const char *data, uint32 type, uint32 off, uint32 entrylen, uint32 *len)
{
	uint32		start = needs_alignment(type) ? INTALIGN(off) : off;

	*len = off + entrylen - start;
	return data + start;
}

static void
cursor_init(ObjectCursor *c, const JsonbContainer *container)
{
	c->container = container;
	c->data = NULL;
	c->index = 0;
	c->keyoff = 0;
	c->valoff = 0;
	c->count = container ? JsonContainerSize(container) : 0;
	if (c->count > 0)
	{
		c->data = data_area(container);
		c->valoff = getJsonbOffset(container, c->count);
	}
}

/* Read the current pair; false past the end */
static inline bool
cursor_read(const ObjectCursor *c, Pair *pair)
{
	JEntry		value;

	if (c->index >= c->count)
		return false;
	pair->key = c->data + c->keyoff;
	pair->keylen = entry_length(c->container->children[c->index], c->keyoff);
	value = c->container->children[c->count + c->index];
	pair->type = value & JENTRY_TYPEMASK;
	pair->entrylen = entry_length(value, c->valoff);
	return true;
}

static inline bool
cursor_next(ObjectCursor *c, const Pair *pair, Pair *next)
{
	c->keyoff += pair->keylen;
	c->valoff += pair->entrylen;
	c->index++;
	return cursor_read(c, next);
}

/* The nested object a pair's value holds, or NULL */
static inline const JsonbContainer *
object_value(const ObjectCursor *c, const Pair *pair)
{
	const JsonbContainer *value;

	if (pair->type != JENTRY_ISCONTAINER)
		return NULL;
	value = (const JsonbContainer *) (c->data + INTALIGN(c->valoff));
	return JsonContainerIsObject(value) ? value : NULL;
}

static inline bool
values_equal(const ObjectCursor *a, const Pair *ap, const ObjectCursor *b, const Pair *bp)
{
	uint32		alen;
	uint32		blen;
	const char *abytes;
	const char *bbytes;

	if (ap->type != bp->type)
		return false;
	abytes = value_bytes(a->data, ap->type, a->valoff, ap->entrylen, &alen);
	bbytes = value_bytes(b->data, bp->type, b->valoff, bp->entrylen, &blen);
	return alen == blen && memcmp(abytes, bbytes, alen) == 0;
}

static inline int
compare_keys(const Pair *a, const Pair *b)
{
	if (a->keylen != b->keylen)
		return a->keylen < b->keylen ? -1 : 1;
	return memcmp(a->key, b->key, a->keylen);
}

/* Append the cursor's pair to the output, extending the last run if it can */
static inline void
add_pair(MergePlan *plan, const ObjectCursor *c, const Pair *pair, MergePlan *child)
{
	PairRun    *run;

	if (plan->nruns > 0 && child == NULL)
	{
		run = &plan->runs[plan->nruns - 1];
		if (run->child == NULL && run->source == c->container &&
			run->first + run->count == c->index)
		{
			run->count++;
			run->keylen += pair->keylen;
			run->vallen += pair->entrylen;
			return;
		}
	}
	run = &plan->runs[plan->nruns++];
	run->source = c->container;
	run->first = c->index;
	run->count = 1;
	run->keyoff = c->keyoff;
	run->keylen = pair->keylen;
	run->valoff = c->valoff;
	run->vallen = pair->entrylen;
	run->child = child;
}

/*
 * RFC 7396 for a key whose patch value is an object: merge it into the base
 * value when that is an object too, else into {} (which strips its nulls).
 * Keeps an input's pair as it is when the merge would change nothing.
 */
static MergePlan *
plan_nested(MergePlan *plan, const ObjectCursor *b, const Pair *bp,
			const ObjectCursor *p, const Pair *pp)
{
	const JsonbContainer *target = bp ? object_value(b, bp) : NULL;
	const JsonbContainer *source = object_value(p, pp);
	int			capacity = JsonContainerSize(source);
	MergePlan  *child = palloc(sizeof(MergePlan));

	check_stack_depth();
	if (target)
		capacity += JsonContainerSize(target);
	plan_merge(child, target, source, true, palloc(Max(capacity, 1) * sizeof(PairRun)));

	if (child->same_as_patch)
		add_pair(plan, p, pp, NULL);
	else if (target && child->same_as_base)
		add_pair(plan, b, bp, NULL);
	else
		add_pair(plan, p, pp, child);
	return child;
}

/* Where a run's values end in the output when they start at offset off */
static uint32
run_values_end(const PairRun *run, uint32 off)
{
	const JsonbContainer *source = run->source;
	const JEntry *entries = &source->children[JsonContainerSize(source)];
	uint32		srcoff = run->valoff;

	if (run->child)
		return INTALIGN(off) + run->child->size;
	/* at the same offset modulo 4 every padding comes out as in the source */
	if ((off - srcoff) % 4 == 0)
		return off + run->vallen;
	for (int i = run->first; i < run->first + run->count; i++)
	{
		uint32		type = entries[i] & JENTRY_TYPEMASK;
		uint32		len = entry_length(entries[i], srcoff);

		if (needs_alignment(type))
			off = INTALIGN(off) + srcoff + len - INTALIGN(srcoff);
		else
			off += len;
		srcoff += len;
	}
	return off;
}

/*
 * Plan the merge of patch into base (either may be NULL for {}) into runs,
 * which must hold the pair counts of base and patch together.
 *
 * Root mode (deep = false): patch values replace base values whole and root
 * nulls from either side are dropped.  Deep mode is RFC 7396: base nulls are
 * kept and objects on both sides are merged recursively.
 */
static void
plan_merge(MergePlan *plan, const JsonbContainer *base,
		   const JsonbContainer *patch, bool deep, PairRun *runs)
{
	ObjectCursor b;
	ObjectCursor p;
	Pair		bp = {0};
	Pair		pp = {0};
	bool		bvalid;
	bool		pvalid;
	uint32		off;

	plan->runs = runs;
	plan->nruns = 0;
	plan->npairs = 0;
	plan->keybytes = 0;
	plan->same_as_base = true;
	plan->same_as_patch = true;

	cursor_init(&b, base);
	cursor_init(&p, patch);
	bvalid = cursor_read(&b, &bp);
	pvalid = cursor_read(&p, &pp);
	while (bvalid || pvalid)
	{
		int			cmp = !bvalid ? 1 : !pvalid ? -1 : compare_keys(&bp, &pp);

		if (cmp < 0)
		{
			/* only in base */
			if (!deep && bp.type == JENTRY_ISNULL)
				plan->same_as_base = false;
			else
			{
				add_pair(plan, &b, &bp, NULL);
				plan->same_as_patch = false;
			}
		}
		else if (pp.type == JENTRY_ISNULL)
		{
			/* a null in the patch removes the key */
			plan->same_as_patch = false;
			if (cmp == 0)
				plan->same_as_base = false;
		}
		else if (deep && object_value(&p, &pp))
		{
			MergePlan  *child = plan_nested(plan, &b, cmp == 0 ? &bp : NULL, &p, &pp);

			plan->same_as_base &= cmp == 0 && object_value(&b, &bp) && child->same_as_base;
			plan->same_as_patch &= child->same_as_patch;
		}
		else
		{
			add_pair(plan, &p, &pp, NULL);
			if (cmp != 0 || !values_equal(&b, &bp, &p, &pp))
				plan->same_as_base = false;
		}

		if (cmp <= 0)
			bvalid = cursor_next(&b, &bp, &bp);
		if (cmp >= 0)
			pvalid = cursor_next(&p, &pp, &pp);
	}

	for (int i = 0; i < plan->nruns; i++)
	{
		plan->npairs += plan->runs[i].count;
		plan->keybytes += plan->runs[i].keylen;
	}
	off = plan->keybytes;
	for (int i = 0; i < plan->nruns; i++)
	{
		off = run_values_end(&plan->runs[i], off);
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

static inline uint32
zero_pad(char *data, uint32 off)
{
	while (off % 4 != 0)
		data[off++] = '\0';
	return off;
}

/* Write a planned object at out, which must be 4-byte aligned */
static void
write_object(const MergePlan *plan, char *out)
{
	int			n = plan->npairs;
	uint32		header = n | JB_FOBJECT;
	JEntry	   *entries = (JEntry *) (out + sizeof(uint32));
	char	   *data = out + sizeof(uint32) + 2 * n * sizeof(JEntry);
	uint32		off = 0;
	int			index = 0;

	memcpy(out, &header, sizeof(uint32));
	for (int r = 0; r < plan->nruns; r++)
	{
		const PairRun *run = &plan->runs[r];
		const JEntry *source = run->source->children;
		uint32		srcoff = run->keyoff;

		memcpy(data + off, data_area(run->source) + srcoff, run->keylen);
		for (int i = run->first; i < run->first + run->count; i++)
		{
			uint32		len = entry_length(source[i], srcoff);

			srcoff += len;
			off += len;
			entries[index] = make_entry(JENTRY_ISSTRING, len, off, index);
			index++;
		}
	}
	for (int r = 0; r < plan->nruns; r++)
	{
		const PairRun *run = &plan->runs[r];
		const JEntry *source = &run->source->children[JsonContainerSize(run->source)];
		const char *srcdata = data_area(run->source);
		uint32		srcoff = run->valoff;
		bool		same_padding = (off - srcoff) % 4 == 0;

		if (run->child)
		{
			uint32		start = off;

			off = zero_pad(data, off);
			write_object(run->child, data + off);
			off += run->child->size;
			entries[index] = make_entry(JENTRY_ISCONTAINER, off - start, off, index);
			index++;
			continue;
		}
		if (same_padding)
			memcpy(data + off, srcdata + srcoff, run->vallen);
		for (int i = run->first; i < run->first + run->count; i++)
		{
			uint32		type = source[i] & JENTRY_TYPEMASK;
			uint32		len = entry_length(source[i], srcoff);
			uint32		start = off;

			if (same_padding)
				off += len;
			else
			{
				uint32		bytes;
				const char *from = value_bytes(srcdata, type, srcoff, len, &bytes);

				if (needs_alignment(type))
					off = zero_pad(data, off);
				memcpy(data + off, from, bytes);
				off += bytes;
			}
			srcoff += len;
			entries[index] = make_entry(type, off - start, off, index);
			index++;
		}
	}
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
	PairRun		stack[STACK_RUNS];
	PairRun    *runs = stack;
	int			capacity = 0;
	MergePlan	plan;
	Jsonb	   *result;

	if (base)
		capacity += JsonContainerSize(base);
	if (patch)
		capacity += JsonContainerSize(patch);
	if (capacity > STACK_RUNS)
		runs = palloc(capacity * sizeof(PairRun));

	plan_merge(&plan, base, patch, deep, runs);
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
	if (runs != stack)
		pfree(runs);
	return result;
}

static const char *
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
um_not_an_object(const Jsonb *jb, const char *what, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s must be a JSON object", what),
			 errdetail("It is a JSON %s.", json_type_name(jb)),
			 errhint("%s", hint)));
}

Jsonb *
um_merge_root(Jsonb *stored, Jsonb *patch)
{
	const char *hint = "jsonb_merge merges objects, such as {\"theme\": \"dark\"}.";

	if (stored != NULL && um_is_json_null(stored))
		stored = NULL;
	if (stored != NULL && !JB_ROOT_IS_OBJECT(stored))
		um_not_an_object(stored, "argument \"stored\"", hint);
	if (patch != NULL && !JB_ROOT_IS_OBJECT(patch))
		um_not_an_object(patch, "argument \"patch\"", hint);
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

	return result_datum(fcinfo, um_merge_root(stored, patch), &stored_buf, &patch_buf);
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
