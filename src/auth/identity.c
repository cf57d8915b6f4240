/*-------------------------------------------------------------------------
 *
 * identity.c
 *	  The caller's identity, the way Atlas functions know context.user.id.
 *
 * A trusted application tier authenticates the user and names them per
 * transaction with SET LOCAL user_metadata.user_id; behind PostgREST the
 * verified JWT's sub claim (request.jwt.claims) serves instead.  Whoever can
 * run arbitrary SQL can set either, so this is identity for a trusted tier,
 * not authentication.
 *
 * src/auth/identity.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"

#include "auth/identity.h"
#include "user_metadata.h"

/* The non-empty sub claim of PostgREST's request.jwt.claims, or NULL */
/* user_metadata.user_id and user_metadata.app_id: the caller's identity */
static char *session_user_id = NULL;
static char *session_app_id = NULL;

void
um_identity_init(void)
{
	DefineCustomStringVariable("user_metadata.user_id",
							   "The user on whose behalf this session or transaction acts.",
							   "Set by a trusted application tier, typically with SET LOCAL.",
							   &session_user_id,
							   "",
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("user_metadata.app_id",
							   "The application whose users this session or transaction serves.",
							   NULL,
							   &session_app_id,
							   "public",
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);
}

static text *
jwt_subject(void)
{
	const char *claims = GetConfigOption("request.jwt.claims", true, false);
	Jsonb	   *jb;
	JsonbValue *sub;

	if (claims == NULL || claims[0] == '\0')
		return NULL;
	jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(claims)));
	if (!JB_ROOT_IS_OBJECT(jb))
		return NULL;
	sub = getKeyJsonValueFromContainer(&jb->root, "sub", 3, NULL);
	if (sub == NULL || sub->type != jbvString || sub->val.string.len == 0)
		return NULL;
	return cstring_to_text_with_len(sub->val.string.val, sub->val.string.len);
}

text *
um_identity_user_id(void)
{
	text	   *sub;

	if (session_user_id != NULL && session_user_id[0] != '\0')
		return cstring_to_text(session_user_id);
	sub = jwt_subject();
	if (sub == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("no current user is set"),
				 errdetail("Neither user_metadata.user_id nor the sub claim of request.jwt.claims is set."),
				 errhint("Have the trusted application tier run SET LOCAL user_metadata.user_id = '<user id>' in the transaction.")));
	return sub;
}

text *
um_identity_user_id_if_set(void)
{
	if (session_user_id != NULL && session_user_id[0] != '\0')
		return cstring_to_text(session_user_id);
	return jwt_subject();
}

text *
um_identity_app_id(void)
{
	if (session_app_id == NULL || session_app_id[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("user_metadata.app_id must not be empty"),
				 errhint("Leave it unset for the app \"public\".")));
	return cstring_to_text(session_app_id);
}

/*
 * current_user_id() RETURNS text
 */
PG_FUNCTION_INFO_V1(current_user_id);
Datum
current_user_id(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(um_identity_user_id());
}

/*
 * current_app_id() RETURNS text
 */
PG_FUNCTION_INFO_V1(current_app_id);
Datum
current_app_id(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(um_identity_app_id());
}
