/*-------------------------------------------------------------------------
 *
 * user_metadata.c
 *	  Module entry point: the user_metadata.* settings.
 *
 * src/user_metadata.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "admin_access.h"
#include "citus_guard.h"
#include "user_metadata.h"

PG_MODULE_MAGIC;

/* 1 MB: far above preferences and flags, far below jsonb's 256 MB ceiling */
#define DEFAULT_MAX_DOCUMENT_BYTES (1024 * 1024)

int			um_max_document_bytes = DEFAULT_MAX_DOCUMENT_BYTES;
char	   *um_user_id = NULL;
char	   *um_app_id = NULL;
bool		um_notify = false;

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomIntVariable("user_metadata.max_document_bytes",
							"Largest user metadata document a write may store.",
							"Measured as the stored jsonb size in bytes before compression; 0 disables the limit.",
							&um_max_document_bytes,
							DEFAULT_MAX_DOCUMENT_BYTES,
							0, MaxAllocSize,
							PGC_SUSET,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomStringVariable("user_metadata.user_id",
							   "The user on whose behalf this session or transaction acts.",
							   "Set by a trusted application tier, typically with SET LOCAL.",
							   &um_user_id,
							   "",
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("user_metadata.app_id",
							   "The application whose users this session or transaction serves.",
							   NULL,
							   &um_app_id,
							   "public",
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);

	/* superuser-only, so that a writer cannot silence its own changes */
	DefineCustomBoolVariable("user_metadata.notify",
							 "Notify channel user_metadata at commit for every changed user document.",
							 "Set it with ALTER DATABASE or ALTER ROLE ... SET as a superuser.",
							 &um_notify,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	MarkGUCPrefixReserved("user_metadata");

	um_admin_access_init();
	/* Citus plans delegated calls only in backends that preload it first */
	if (process_shared_preload_libraries_in_progress)
		um_install_citus_guard();
}
