/*-------------------------------------------------------------------------
 *
 * identity.h
 *	  Who is calling: the user and app a trusted tier set for this session.
 *
 * src/auth/identity.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef IDENTITY_H
#define IDENTITY_H

#include "fmgr.h"

/* user_metadata.user_id, else the sub claim of request.jwt.claims; or 28000 */
extern text *um_identity_user_id(void);

/* The same, or NULL when neither is set */
extern text *um_identity_user_id_if_set(void);

/* user_metadata.app_id; 22023 when set empty */
extern text *um_identity_app_id(void);

#endif							/* IDENTITY_H */
