/*-------------------------------------------------------------------------
 *
 * statement.h
 *	  The extension's own SQL statements: each defined once in a table of
 *	  its module, prepared once per backend, its result checked.
 *
 * src/store/statement.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef STATEMENT_H
#define STATEMENT_H

#include "executor/spi.h"
#include "utils/tuplestore.h"

#include "pg_compat.h"

#define UM_STATEMENT_MAX_ARGS 11
#define UM_STATEMENT_MAX_COLUMNS 5

typedef struct StatementDef
{
	const char *sql;
	int			nargs;
	Oid			argtypes[UM_STATEMENT_MAX_ARGS];
	int			result;			/* the SPI_OK_* code of success */
	int			ncolumns;		/* the columns of its result rows ... */
	Oid			coltypes[UM_STATEMENT_MAX_COLUMNS]; /* ... and their types
													 * (text: or varchar) */
} StatementDef;

/*
 * The statements of one module, their plans, and the error of one that did
 * not run as written (a rule rewrote it, or a DBA retyped a column).
 * per_call_plans_on_citus: in a database with Citus, which routes a
 * statement by its parameters' values, the plan cache chooses the plans, and
 * Citus has it plan each call with the values.
 */
typedef struct StatementSet
{
	const StatementDef *defs;
	SPIPlanPtr *plans;
	int			sqlstate;
	const char *message;
	const char *hint;
	bool		per_call_plans_on_citus;
} StatementSet;

/* A plan kept for the backend's life; cursor_options as SPI_prepare_cursor's */
extern SPIPlanPtr um_prepare_statement(const StatementDef *def, int cursor_options);

/*
 * Run statement stmt of set inside a connected SPI, preparing it on first
 * use unless the caller put a plan there, for a generic plan (or, as set
 * says, plans per call on Citus); nulls (may
 * be NULL) marks null parameters.  The result rows go to store when given,
 * else to SPI_tuptable.
 */
extern void um_run_statement(const StatementSet *set, int stmt, const Datum *values,
							 const bool *nulls, bool read_only, Tuplestorestate *store);

/* The error of set for a statement that did not run as written */
pg_noreturn extern void um_statement_changed(const StatementSet *set, const char *detail);

#endif							/* STATEMENT_H */
