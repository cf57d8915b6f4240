/*-------------------------------------------------------------------------
 *
 * user_metadata.h
 *	  The modules' *_init() functions, which _PG_init calls: each defines
 *	  the user_metadata.* settings of its module.
 *
 * src/user_metadata.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef USER_METADATA_H
#define USER_METADATA_H

/* user_metadata.max_document_bytes (src/store/document_trigger.c) */
extern void um_document_trigger_init(void);

/* user_metadata.user_id and user_metadata.app_id (src/auth/identity.c) */
extern void um_identity_init(void);

/* user_metadata.notify (src/store/notify.c) */
extern void um_notify_init(void);

#endif							/* USER_METADATA_H */
