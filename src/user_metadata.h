/*-------------------------------------------------------------------------
 *
 * user_metadata.h
 *	  Settings shared by the parts of the user_metadata extension.
 *
 * src/user_metadata.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef USER_METADATA_H
#define USER_METADATA_H

/* user_metadata.max_document_bytes: largest stored document, 0 = no limit */
extern int	um_max_document_bytes;

/* user_metadata.user_id and user_metadata.app_id: the caller's identity */
extern char *um_user_id;
extern char *um_app_id;

/* user_metadata.notify: send a notification for every committed change */
extern bool um_notify;

#endif							/* USER_METADATA_H */
