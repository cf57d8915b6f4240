# test/lib/cluster.sh: shared set-up for the test, demo and benchmark commands.
#
# Source it, then: um_install_packages PKG...; um_build_install;
# um_start_cluster NAME [TCP_PORT|tcp]; um_stop_clusters (also run on exit).
# Clusters run as the postgres OS user in a private temporary directory and
# listen on a unix socket there (plus 127.0.0.1 when a TCP port is given).
# "tcp" takes a free port (um_free_port): suites never need fixed ones.
# UM_PORT_BASE=P makes free ports come from P upwards (first free one).
#
# The server is PGBIN's (test/run exports it for its suites), else that of
# PG_CONFIG=/path/to/pg_config (any major from 15, any installation prefix),
# else Debian's PostgreSQL 15.  UM_PG_MAJOR is its major version.
#
# UM_SANDBOX=DIR (test/sanitize) builds and runs against a private copy of
# the PostgreSQL installation under DIR instead of the system's; its server
# runs with the NAME=VALUE words of UM_SANDBOX_ENV in its environment.

if [ -z "${PGBIN:-}" ] && [ -n "${PG_CONFIG:-}" ]; then
	PGBIN=${UM_SANDBOX:-}$("$PG_CONFIG" --bindir) || exit 1
fi
PGBIN=${PGBIN:-${UM_SANDBOX:-}/usr/lib/postgresql/15/bin}
# the installation the sandbox copies: PGBIN without the sandbox's prefix
UM_PGBIN_REAL=${PGBIN#"${UM_SANDBOX:-}"}
UM_PG_MAJOR=$("${UM_PGBIN_REAL}/pg_config" --version 2>/dev/null | sed -nE 's/^PostgreSQL ([0-9]+).*/\1/p')
UM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$UM_ROOT/test/lib/workplace.sh"
UM_CLUSTERS=()
UM_TMP=${UM_TMP:-$(mktemp -d /tmp/user_metadata.XXXXXX)}
chmod 755 "$UM_TMP"

um_log() { printf '== %s\n' "$*" >&2; }

# Install the Debian packages that are missing; apt-get update only if needed.
um_install_packages() {
	local missing=() pkg
	for pkg in "$@"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	um_log "installing ${missing[*]}"
	apt-get update -qq >/dev/null &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# um_build_install [MAKE ARGS]: build the tree and install it into PGBIN's
# installation.  With UM_SANDBOX, a copy of the tree is built there, so a
# special build replaces neither the tree's objects nor the system's files.
um_build_install() {
	local dir=$UM_ROOT
	um_log "building and installing the extension"
	if [ -n "${UM_SANDBOX:-}" ]; then
		dir=$UM_SANDBOX/build
		um_make_sandbox "$dir" || return 1
	fi
	# make does not see a change of server: objects built for another
	# major would be installed as they are, and refused by its dynamic loader
	if [ "$(cat "$dir/.um_pg_config" 2>/dev/null)" != "$PGBIN/pg_config" ]; then
		make -C "$dir" -s PG_CONFIG="$PGBIN/pg_config" clean >/dev/null || return 1
	fi
	make -C "$dir" -s PG_CONFIG="$PGBIN/pg_config" "$@" >/dev/null &&
		make -C "$dir" -s PG_CONFIG="$PGBIN/pg_config" "$@" install >/dev/null &&
		echo "$PGBIN/pg_config" >"$dir/.um_pg_config"
}

# um_make_sandbox DIR: fresh copies of the PostgreSQL installation under
# UM_SANDBOX (its programs find share/ and lib/ relative to themselves; the
# headers are only read) and of the tree, without build products, in DIR.
# Debian's installation is split over /usr/lib, /usr/share and /usr/include;
# one built from source (../shared/postgresql/build.sh) is one prefix.
# With UM_SANDBOX_ENV, its postgres becomes a script that exports those
# words and runs the real one under the same name, so that every start of
# the server, pg_ctl restart included, has them.
um_make_sandbox() {
	local dir=$1 bin=$PGBIN usr=$UM_SANDBOX/usr prefix=${UM_PGBIN_REAL%/bin}
	rm -rf "$dir" && mkdir -p "$dir" || return 1
	if [[ $UM_PGBIN_REAL == /usr/lib/postgresql/*/bin ]]; then
		rm -rf "$usr" &&
			mkdir -p "$usr/lib/postgresql" "$usr/share/postgresql" "$usr/include" &&
			cp -a "$prefix" "$usr/lib/postgresql/" &&
			cp -a "/usr/share/postgresql/$UM_PG_MAJOR" "$usr/share/postgresql/" &&
			ln -s /usr/include/postgresql "$usr/include/postgresql" || return 1
	else
		rm -rf "$UM_SANDBOX$prefix" && mkdir -p "$(dirname "$UM_SANDBOX$prefix")" &&
			cp -a "$prefix" "$UM_SANDBOX$prefix" || return 1
	fi
	if [ -n "${UM_SANDBOX_ENV:-}" ]; then
		# shellcheck disable=SC2016 # $0 and $@ are the script's own
		mv "$bin/postgres" "$bin/postgres.real" &&
			printf '#!/bin/bash\nexport %s\nexec -a "$0" "$0.real" "$@"\n' \
				"$UM_SANDBOX_ENV" >"$bin/postgres" &&
			chmod 755 "$bin/postgres" || return 1
	fi
	tar -C "$UM_ROOT" --exclude=./.git --exclude=./test \
		--exclude='*.o' --exclude='*.bc' --exclude='*.so' -cf - . | tar -C "$dir" -xf -
}

# um_port_busy PORT: true when something listens on 127.0.0.1:PORT
um_port_busy() {
	timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# um_free_port: a TCP port on 127.0.0.1 that nothing listens on, from
# UM_PORT_BASE upwards, or else from a random start in 20000-32767 (below
# Linux's ephemeral ports, which outgoing connections take).  Another
# process may take it before the caller binds it: um_start_cluster retries.
um_free_port() {
	local port=${UM_PORT_BASE:-$((20000 + RANDOM % 12000))} tries=0
	while um_port_busy "$port"; do
		port=$((port + 1)) tries=$((tries + 1))
		[ $tries -lt 1000 ] || { um_log "no free TCP port from ${UM_PORT_BASE:-$port} up"; return 1; }
	done
	echo "$port"
}

# um_start_cluster NAME [TCP_PORT|tcp]: start a throwaway cluster; sets
# <NAME>_HOST, <NAME>_PORT and <NAME>_DIR.  Without a port it listens only
# on a unix socket in its own directory; "tcp" also listens on a free port
# of 127.0.0.1, a number on that port (refused when busy).  Extra postgres
# settings can be passed in UM_PG_OPTS.
um_start_cluster() {
	local name=$1 tcp=${2:-} dir port=5432 listen='' try
	dir="$UM_TMP/$name"
	mkdir -p "$dir" && chown postgres: "$dir" && chmod 700 "$dir"
	[ -n "$tcp" ] && listen=127.0.0.1
	if [ -n "$tcp" ] && [ "$tcp" != tcp ] && um_port_busy "$tcp"; then
		um_log "cluster $name: port $tcp on 127.0.0.1 is busy (another server listens there);" \
			"choose another port, or none to get a free one"
		return 1
	fi
	runuser -u postgres -- "$PGBIN/initdb" -D "$dir/data" -U postgres -A trust \
		--no-sync -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
		cat "$dir/initdb.log" >&2
		return 1
	}
	for try in 1 2 3 4 5; do
		case $tcp in
			'') ;;
			tcp) port=$(um_free_port) || return 1 ;;
			*) port=$tcp ;;
		esac
		rm -f "$dir/server.log"
		runuser -u postgres -- "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
			-o "-c listen_addresses='$listen' -p $port -k $dir -c fsync=off ${UM_PG_OPTS:-}" \
			start >/dev/null && break
		if [ "$tcp" = tcp ] && [ $try -lt 5 ] && grep -q 'could not bind' "$dir/server.log"; then
			um_log "cluster $name: port $port was taken meanwhile, trying another"
			continue
		fi
		grep -q 'could not bind' "$dir/server.log" &&
			um_log "cluster $name: port $port on 127.0.0.1 is busy"
		cat "$dir/server.log" >&2
		return 1
	done
	UM_CLUSTERS+=("$dir")
	printf -v "${name}_HOST" '%s' "$dir"
	printf -v "${name}_PORT" '%s' "$port"
	printf -v "${name}_DIR" '%s' "$dir"
}

um_stop_cluster() {
	local dir=$1
	[ -f "$dir/data/postmaster.pid" ] &&
		runuser -u postgres -- "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1
	return 0
}

um_stop_clusters() {
	local dir
	for dir in "${UM_CLUSTERS[@]}"; do
		um_stop_cluster "$dir"
	done
	UM_CLUSTERS=()
	[ -n "${UM_KEEP_TMP:-}" ] || rm -rf "$UM_TMP"
}

trap um_stop_clusters EXIT
