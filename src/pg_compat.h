/*-------------------------------------------------------------------------
 *
 * pg_compat.h
 *	  The few server APIs that differ between the supported majors (15 to
 *	  18), spelled once in their newest form.
 *
 * Each guard names the release that changed the API, so that it can go
 * when the oldest supported major reaches it.
 *
 * src/pg_compat.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_COMPAT_H
#define PG_COMPAT_H

#if PG_VERSION_NUM >= 160000
#include "catalog/pg_class.h"
#include "utils/acl.h"
#endif

/*
 * 18 replaced the postfix pg_attribute_noreturn() by the prefix function
 * specifier pg_noreturn (C11 _Noreturn).  Before 18 the attribute is GCC's
 * (or nothing), which GCC and Clang also accept in front of a declaration.
 */
#ifndef pg_noreturn
#define pg_noreturn pg_attribute_noreturn()
#endif

/*
 * 16 folded the per-catalog owner checks into object_ownercheck(); only the
 * relation check is used here.
 */
#if PG_VERSION_NUM >= 160000
#define um_relation_ownercheck(relid, roleid) \
	object_ownercheck(RelationRelationId, (relid), (roleid))
#else
#define um_relation_ownercheck(relid, roleid) pg_class_ownercheck((relid), (roleid))
#endif

/*
 * 18 gave RelationGetPrimaryKeyIndex() the choice of a deferrable key and
 * index_beginscan() an instrumentation argument
 */
#if PG_VERSION_NUM >= 180000
#define um_primary_key_index(rel) RelationGetPrimaryKeyIndex((rel), false)
#define um_index_beginscan(heap, index, snapshot, nkeys) \
	index_beginscan((heap), (index), (snapshot), NULL, (nkeys), 0)
#else
#define um_primary_key_index(rel) RelationGetPrimaryKeyIndex(rel)
#define um_index_beginscan(heap, index, snapshot, nkeys) \
	index_beginscan((heap), (index), (snapshot), (nkeys), 0)
#endif

/* 18 made the binary side of common/base64.h's functions uint8 */
#if PG_VERSION_NUM >= 180000
typedef uint8 um_b64_byte;
#else
typedef char um_b64_byte;
#endif

#endif							/* PG_COMPAT_H */
