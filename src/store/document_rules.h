/*-------------------------------------------------------------------------
 *
 * document_rules.h
 *	  Per-app rules for the documents of user_metadata.user_metadata, kept
 *	  in user_metadata.document_rules and checked on every write.
 *
 * src/store/document_rules.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef DOCUMENT_RULES_H
#define DOCUMENT_RULES_H

#include "fmgr.h"
#include "utils/jsonb.h"
#include "utils/relcache.h"

/*
 * Raise 23514 unless document, the normalized document of user_id in
 * app_id about to be stored, follows the app's rules; nothing to do for an
 * app without rules.  Fails closed (42P01, 42804, 22023) when the rules
 * table was dropped or altered, or holds rules that are not valid.
 * flinfo, the calling trigger's, keeps the rules read for the statement's
 * other rows; fired_on is the relation it fired on (on Citus, a shard).
 */
extern void um_check_document_rules(FmgrInfo *flinfo, Relation fired_on, text *app_id, text *user_id,
									Jsonb *document);

#endif							/* DOCUMENT_RULES_H */
