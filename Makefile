# user_metadata: per-user JSON documents merged inside PostgreSQL.
# Build with PGXS: make && make install (as root) && make installcheck
# (installcheck: a running server reachable via PGHOST/PGPORT/PGUSER as a
# superuser, the extension installed; README, Development)

EXTENSION = user_metadata user_metadata_proxy
MODULE_big = user_metadata
OBJS = \
	src/user_metadata.o \
	src/admin_access.o \
	src/args.o \
	src/citus_guard.o \
	src/document_trigger.o \
	src/proxy.o \
	src/jsonb_merge.o \
	src/store.o \
	src/store_table.o \
	src/identity.o \
	src/custom_user_data.o \
	src/merge_trigger.o \
	src/notify.o \
	src/ejson.o \
	src/bulk_write.o \
	src/history.o

# the Atlas App Services import command (README, Moving in)
SCRIPTS = src/user_metadata_import_atlas

# Install and upgrade scripts sit at the top, as in contrib: each is frozen
# once released, and a new version adds only its upgrade script.
DATA = $(wildcard user_metadata--*.sql user_metadata_proxy--*.sql)

REGRESS = setup jsonb_merge jsonb_merge_patch store custom_user_data merge_trigger from_ejson history
REGRESS_OPTS = --inputdir=. --outputdir=test/regress

# Server headers count as system headers: -Wextra judges our code, not theirs.
# fmgr's calling convention passes fcinfo to functions that take no arguments.
PG_CPPFLAGS = -Wall -Wextra -Wno-unused-parameter -Werror -isystem $(includedir_server)
# pg_regress (REGRESS_OPTS) and test/run write their outputs here
EXTRA_CLEAN = test/regress

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
