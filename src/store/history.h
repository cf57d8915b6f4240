/*-------------------------------------------------------------------------
 *
 * history.h
 *	  Change history of the user documents: the patch of the statement
 *	  running now, handed from the store to the history trigger.
 *
 * src/store/history.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef HISTORY_H
#define HISTORY_H

#include "utils/jsonb.h"

/*
 * The patch that the store's merging statement for (app_id, user_id) is
 * about to apply, for the history trigger to record as given; NULL
 * arguments clear it.  The store sets it just before the statement and
 * clears it after, errors included.
 */
extern void um_history_set_patch(text *app_id, text *user_id, Jsonb *patch);

#endif							/* HISTORY_H */
