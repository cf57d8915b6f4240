/*-------------------------------------------------------------------------
 *
 * proxy.h
 *	  The user_metadata API of a proxy database (extension
 *	  user_metadata_proxy): each call checked for the real caller, then
 *	  routed with PL/Proxy as the extension owner.
 *
 * src/proxy/proxy.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PROXY_H
#define PROXY_H

#include "fmgr.h"

/*
 * Every API function of the proxy: after the caller's per-app admin check
 * (for functions with an app_id argument), call the function of the same
 * name and argument types in schema user_metadata_remote as the owner of
 * the called function, and return its result with the partition's error
 * text undecorated.
 */
extern Datum um_proxy_call(PG_FUNCTION_ARGS);

/* PROCEDURE write_custom_user_data: new_data checked as the store checks it */
extern Datum um_proxy_write_custom_user_data(PG_FUNCTION_ARGS);

#endif							/* PROXY_H */
