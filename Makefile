# user_metadata: per-user JSON documents merged inside PostgreSQL.
# Build with PGXS: make && make install (as root) && make installcheck
# (installcheck: a running server reachable via PGHOST/PGPORT/PGUSER as a
# superuser, the extension installed; README, Development)

EXTENSION = user_metadata user_metadata_proxy
MODULE_big = user_metadata
# src/ by layer: merge (the jsonb merges), store (the per-user table and its
# API), auth (who may call what), proxy (PL/Proxy), citus (the Citus guard);
# the module entry point, argument checks and version shims at the top.
OBJS = \
	src/user_metadata.o \
	src/args.o \
	src/merge/jsonb_merge.o \
	src/merge/merge_trigger.o \
	src/merge/ejson.o \
	src/store/statement.o \
	src/store/store.o \
	src/store/store_table.o \
	src/store/bulk_write.o \
	src/store/document_trigger.o \
	src/store/document_rules.o \
	src/store/history.o \
	src/store/notify.o \
	src/store/custom_user_data.o \
	src/auth/admin_access.o \
	src/auth/identity.o \
	src/proxy/proxy.o \
	src/citus/citus_guard.o \
	src/citus/citus_table.o

# operator commands, installed next to psql (docs/moving-in.md, docs/proxy.md)
SCRIPTS = bin/user_metadata_import_atlas bin/user_metadata_reshard

# Install and upgrade scripts sit at the top, as in contrib: each is frozen
# once released, and a new version adds only its upgrade script.
DATA = $(wildcard user_metadata--*.sql user_metadata_proxy--*.sql)

REGRESS = setup jsonb_merge jsonb_merge_patch store custom_user_data merge_trigger from_ejson document_rules history
REGRESS_OPTS = --inputdir=. --outputdir=test/regress

# Our headers by layer ("store/store.h"); server headers count as system
# headers: -Wextra judges our code, not theirs.
# fmgr's calling convention passes fcinfo to functions that take no arguments.
PG_CPPFLAGS = -Isrc -Wall -Wextra -Wno-unused-parameter -Werror -isystem $(includedir_server)
# pg_regress (REGRESS_OPTS) and test/run write their outputs here
EXTRA_CLEAN = test/regress

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
