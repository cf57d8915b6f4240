# user_metadata: per-user JSON documents merged inside PostgreSQL.
# Build with PGXS: make && sudo make install && make installcheck

EXTENSION = user_metadata
MODULE_big = user_metadata
OBJS = \
	src/user_metadata.o \
	src/jsonb_merge.o \
	src/store.o

DATA = \
	sql/user_metadata--1.0.sql

REGRESS = setup jsonb_merge jsonb_merge_patch store
REGRESS_OPTS = --inputdir=. --outputdir=test/regress

# Server headers count as system headers: -Wextra judges our code, not theirs.
PG_CPPFLAGS = -Wall -Wextra -Werror -isystem $(includedir_server)
EXTRA_CLEAN = test/results

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
