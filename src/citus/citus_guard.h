/*-------------------------------------------------------------------------
 *
 * citus_guard.h
 *	  Planner hook that keeps a NULL user id away from Citus's function
 *	  call delegation.
 *
 * src/citus/citus_guard.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CITUS_GUARD_H
#define CITUS_GUARD_H

/* Install the planner hook; called from _PG_init */
extern void um_install_citus_guard(void);

#endif							/* CITUS_GUARD_H */
