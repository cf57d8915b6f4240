/*-------------------------------------------------------------------------
 *
 * store.h
 *	  The per-user metadata table: reads and atomic merging writes.
 *
 * src/store/store.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef STORE_H
#define STORE_H

#include "utils/array.h"
#include "utils/jsonb.h"

/* The stored document of one user, or {} when there is none */
extern Jsonb *um_store_get(text *app_id, text *user_id);

/* Merge patch, a JSON object, into one user's document and return the result */
extern Jsonb *um_store_update(text *app_id, text *user_id, Jsonb *patch);

/* Replace one user's document with document, a JSON object, and return it */
extern Jsonb *um_store_set(text *app_id, text *user_id, Jsonb *document);

/*
 * Set-based writes of many users in one statement: user_ids (text[]) and
 * documents (jsonb[], JSON objects) pair up by position.
 * um_store_set_many replaces each document (user_ids must not hold an id
 * twice); um_store_insert_many stores a document only for a user that has
 * none (the first of an id given twice).  Both return how many rows they
 * stored.
 */
extern uint64 um_store_set_many(text *app_id, ArrayType *user_ids, ArrayType *documents);
extern uint64 um_store_insert_many(text *app_id, ArrayType *user_ids, ArrayType *documents);

#endif							/* STORE_H */
