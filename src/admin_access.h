/*-------------------------------------------------------------------------
 *
 * admin_access.h
 *	  Who may use the admin API for which app, and the owner's rights the
 *	  admin API runs with.
 *
 * src/admin_access.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ADMIN_ACCESS_H
#define ADMIN_ACCESS_H

#include "fmgr.h"

/* What um_become_owner saved, for um_restore_user */
typedef struct UmOwnerSwitch
{
	Oid			save_userid;
	int			save_sec_context;
} UmOwnerSwitch;

/*
 * Start an admin API call for app_id: raise 42501 unless the calling role
 * may act for that app, then act as the owner of the called function.
 * app_id NULL checks nothing: for the proxy's calls that act for no app
 * or that a partition rejects for their app_id (src/proxy.c).
 * um_admin_end switches back; an error undoes the switch with its
 * (sub)transaction.
 */
extern void um_admin_begin(FunctionCallInfo fcinfo, text *app_id, UmOwnerSwitch *sw);
extern void um_admin_end(const UmOwnerSwitch *sw);

#endif							/* ADMIN_ACCESS_H */
