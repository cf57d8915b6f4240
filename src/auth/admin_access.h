/*-------------------------------------------------------------------------
 *
 * admin_access.h
 *	  Who may use the admin API for which app, and the owner's rights the
 *	  admin API runs with.
 *
 * src/auth/admin_access.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ADMIN_ACCESS_H
#define ADMIN_ACCESS_H

#include "fmgr.h"

/* The work of one admin API call, done with the owner's rights */
typedef Datum (*UmAdminAction) (FunctionCallInfo fcinfo, void *arg);

/*
 * Run one admin API call for app_id: raise 42501 unless the calling role
 * may act for that app, then return action(fcinfo, arg) run by
 * user_metadata.run_as_owner, the one SECURITY DEFINER function of the
 * extension.  app_id NULL checks nothing: for the proxy's calls that a
 * partition rejects for their app id (src/proxy/proxy.c).
 */
extern Datum um_admin_call(FunctionCallInfo fcinfo, text *app_id, UmAdminAction action, void *arg);

extern void um_admin_access_init(void);

#endif							/* ADMIN_ACCESS_H */
