/*-------------------------------------------------------------------------
 *
 * ejson.h
 *	  MongoDB Extended JSON (relaxed and canonical) to plain JSON.
 *
 * src/merge/ejson.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef EJSON_H
#define EJSON_H

#include "utils/jsonb.h"

/*
 * The plain JSON form of doc: every Extended JSON wrapper, at any depth,
 * replaced by its value.  Returns doc itself when it holds no wrapper;
 * raises 22P02 naming the JSON path of a malformed wrapper.
 */
extern Jsonb *um_from_ejson(Jsonb *doc);

#endif							/* EJSON_H */
