/*-------------------------------------------------------------------------
 *
 * bench_clock.c
 *	  The merge benchmark's clock: this backend's CPU time.
 *
 * cpu_ns() RETURNS bigint is clock_gettime(CLOCK_PROCESS_CPUTIME_ID) in
 * nanoseconds, exact at any moment (the CPU time in /proc/self/schedstat
 * only advances at scheduler ticks and switches).
 *
 * test/bench/floor/bench_clock.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include "fmgr.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(cpu_ns);
Datum
cpu_ns(PG_FUNCTION_ARGS)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
		elog(ERROR, "clock_gettime failed: %m");
	PG_RETURN_INT64((int64) ts.tv_sec * 1000000000 + ts.tv_nsec);
}
