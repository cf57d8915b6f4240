/*-------------------------------------------------------------------------
 *
 * user_metadata.c
 *	  Module entry point: each module defines its own user_metadata.*
 *	  settings in its *_init(), called from here.
 *
 * src/user_metadata.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "auth/admin_access.h"
#include "citus/citus_guard.h"
#include "user_metadata.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	um_document_trigger_init();
	um_identity_init();
	um_notify_init();
	MarkGUCPrefixReserved("user_metadata");

	um_admin_access_init();
	/* Citus plans delegated calls only in backends that preload it first */
	if (process_shared_preload_libraries_in_progress)
		um_install_citus_guard();
}
