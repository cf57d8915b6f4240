/*-------------------------------------------------------------------------
 *
 * custom_user_data.c
 *	  Atlas App Services' custom user data, as server-side calls for the
 *	  current user: writeCustomUserData and refreshCustomData.
 *
 * Both run with the caller's rights, so the table's row-level security
 * policy confines a client role to its own document.
 *
 * src/store/custom_user_data.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "funcapi.h"
#include "utils/jsonb.h"

#include "args.h"
#include "auth/identity.h"
#include "store/store.h"

/*
 * custom_user_data() RETURNS jsonb
 *
 * The current user's latest document, {} if none: refreshCustomData().
 */
PG_FUNCTION_INFO_V1(custom_user_data);
Datum
custom_user_data(PG_FUNCTION_ARGS)
{
	PG_RETURN_JSONB_P(um_store_get(um_identity_app_id(), um_identity_user_id()));
}

/*
 * PROCEDURE write_custom_user_data(new_data jsonb, INOUT custom_data jsonb)
 *
 * writeCustomUserData(): upsert for the current user with the root-level
 * merge; the merged document comes back in custom_data.
 */
PG_FUNCTION_INFO_V1(write_custom_user_data);
Datum
write_custom_user_data(PG_FUNCTION_ARGS)
{
	Jsonb	   *new_data = um_object_arg(fcinfo, 0, "new_data");
	TupleDesc	tupdesc;
	Datum		result;
	bool		isnull = false;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "write_custom_user_data must return a record");
	result = JsonbPGetDatum(um_store_update(um_identity_app_id(), um_identity_user_id(), new_data));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), &result, &isnull)));
}
