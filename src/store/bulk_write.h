/*-------------------------------------------------------------------------
 *
 * bulk_write.h
 *	  Many users' documents written in one call.
 *
 * src/store/bulk_write.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BULK_WRITE_H
#define BULK_WRITE_H

#include "utils/jsonb.h"

/* A single-user write of the store: um_store_update or um_store_set */
typedef Jsonb *(*BulkWriter) (text *app_id, text *user_id, Jsonb *document);

#endif							/* BULK_WRITE_H */
