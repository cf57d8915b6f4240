/*-------------------------------------------------------------------------
 *
 * store.h
 *	  The per-user metadata table: reads and atomic merging writes.
 *
 * src/store.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef STORE_H
#define STORE_H

#include "utils/jsonb.h"

/* Columns of user_metadata.user_metadata */
#define ATTNUM_APP_ID 1
#define ATTNUM_USER_ID 2
#define ATTNUM_METADATA 3
#define ATTNUM_CREATED_AT 4
#define ATTNUM_UPDATED_AT 5

/* The stored document of one user, or {} when there is none */
extern Jsonb *um_store_get(text *app_id, text *user_id);

/* Merge patch, a JSON object, into one user's document and return the result */
extern Jsonb *um_store_update(text *app_id, text *user_id, Jsonb *patch);

/* Replace one user's document with document, a JSON object, and return it */
extern Jsonb *um_store_set(text *app_id, text *user_id, Jsonb *document);

/* Store document for a user that has none; false when one was stored */
extern bool um_store_insert(text *app_id, text *user_id, Jsonb *document);

#endif							/* STORE_H */
