/*-------------------------------------------------------------------------
 *
 * bench_floor.c
 *	  The floor for the merge benchmark: what any C merge must do at least.
 *
 * floor_copy(stored jsonb, patch jsonb) RETURNS jsonb gets both arguments
 * (detoasting them, as jsonb_merge does), allocates room for both and
 * copies the stored value's bytes, returning them as a valid jsonb equal to
 * stored.  It does no merging at all, so no merge can be cheaper.
 *
 * test/bench/floor/bench_floor.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/jsonb.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(floor_copy);
Datum
floor_copy(PG_FUNCTION_ARGS)
{
	Jsonb	   *stored = PG_GETARG_JSONB_P(0);
	Jsonb	   *patch = PG_GETARG_JSONB_P(1);
	Jsonb	   *result = palloc(VARSIZE(stored) + VARSIZE(patch));

	memcpy(result, stored, VARSIZE(stored));
	PG_RETURN_JSONB_P(result);
}
