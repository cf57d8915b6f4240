/*-------------------------------------------------------------------------
 *
 * args.c
 *	  Argument checks shared by the SQL-callable functions, each error
 *	  naming the argument and what it should be.
 *
 * src/args.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/jsonb.h"

#include "args.h"
#include "merge/jsonb_merge.h"

#define ID_HINT "Users and apps are named by non-empty text ids."
#define DOCUMENT_HINT "User metadata is an object of root keys, such as {\"theme\": \"dark\"}."

static void
require_not_null(FunctionCallInfo fcinfo, int argno, const char *argname, const char *hint)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"%s\" must not be null", argname),
				 errhint("%s", hint)));
}

void
um_null_id(const char *argname)
{
	ereport(ERROR,
			(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
			 errmsg("argument \"%s\" must not be null", argname),
			 errhint(ID_HINT)));
}

text *
um_id_arg(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	text	   *id;

	if (PG_ARGISNULL(argno))
		um_null_id(argname);
	id = PG_GETARG_TEXT_PP(argno);
	if (VARSIZE_ANY_EXHDR(id) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"%s\" must not be empty", argname),
				 errhint(ID_HINT)));
	return id;
}

Jsonb *
um_object_arg(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	Jsonb	   *jb;

	require_not_null(fcinfo, argno, argname, DOCUMENT_HINT);
	jb = PG_GETARG_JSONB_P(argno);
	if (!JB_ROOT_IS_OBJECT(jb))
		um_not_an_object(jb, psprintf("argument \"%s\"", argname), DOCUMENT_HINT);
	return jb;
}

Jsonb *
um_key_removal_arg(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	JsonbParseState *state = NULL;
	JsonbValue	key = {.type = jbvString};
	JsonbValue	null = {.type = jbvNull};
	text	   *name;

	require_not_null(fcinfo, argno, argname, "Name the root key to remove, such as 'theme'.");
	name = PG_GETARG_TEXT_PP(argno);
	key.val.string.val = VARDATA_ANY(name);
	key.val.string.len = VARSIZE_ANY_EXHDR(name);
	(void) pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	(void) pushJsonbValue(&state, WJB_KEY, &key);
	(void) pushJsonbValue(&state, WJB_VALUE, &null);
	return JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL));
}

void
um_one_dimension(ArrayType *array, const char *argname)
{
	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("argument \"%s\" must be a one-dimensional array", argname),
				 errdetail("It has %d dimensions.", ARR_NDIM(array)),
				 errhint("Pass a flat list, such as ARRAY['u1', 'u2'].")));
}

ArrayType *
um_id_array_arg(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	ArrayType  *ids;
	Datum	   *elems;
	bool	   *nulls;
	int			count;

	require_not_null(fcinfo, argno, argname, "Pass an array of user ids; an empty array returns no rows.");
	ids = PG_GETARG_ARRAYTYPE_P(argno);
	um_one_dimension(ids, argname);
	deconstruct_array(ids, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &count);
	for (int i = 0; i < count; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("argument \"%s\" must not contain nulls", argname),
					 errhint(ID_HINT)));
		if (VARSIZE_ANY_EXHDR(DatumGetTextPP(elems[i])) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("argument \"%s\" must not contain empty ids", argname),
					 errhint(ID_HINT)));
	}
	return ids;
}
