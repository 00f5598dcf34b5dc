#!/usr/bin/env bash
# Runs a private PostgreSQL cluster for the tests.
#
#   scripts/postgres.sh run -- CMD...    start a cluster on a free 127.0.0.1 port,
#                                        run CMD with CHATBOX_TEST_POSTGRES_URL,
#                                        CHATBOX_TEST_POSTGRES_BIN (the server's
#                                        bin folder) and CHATBOX_TEST_POSTGRES_RUNAS
#                                        (the user the server runs as, empty when
#                                        it is the current one) exported; stop the
#                                        cluster and remove its folder whatever CMD
#                                        did; exits with CMD's status
#
# When CHATBOX_TEST_POSTGRES_URL is already set, CMD runs against that server
# and no cluster is started (the bin folder and user are still exported, for
# the tests that start a server of their own).
#
# PostgreSQL refuses to run as root: as root, the cluster belongs to the
# unprivileged user chatbox-test (created if missing) and the server programs
# run through runuser. Without PostgreSQL (no initdb), as root on Debian, the
# postgresql package is installed. Durability is off (fsync, synchronous
# commit, full page writes): the data lives only as long as the run.
set -euo pipefail

start_timeout="${POSTGRES_START_TIMEOUT:-60}"
test_user=chatbox-test

# find_bin prints the folder holding initdb and pg_ctl: the newest
# /usr/lib/postgresql/*/bin, else the one on PATH.
find_bin() {
	local found
	found="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
	if [[ -n "$found" && -x "$found/initdb" ]]; then
		echo "$found"
	elif command -v initdb >/dev/null 2>&1; then
		dirname "$(readlink -f "$(command -v initdb)")"
	else
		return 1
	fi
}

ensure_bin() {
	local bin
	if bin="$(find_bin)"; then
		echo "$bin"
		return
	fi
	if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
		echo "postgres.sh: initdb not found; install PostgreSQL (Debian: apt-get install postgresql)" >&2
		return 1
	fi
	echo "postgres.sh: installing PostgreSQL" >&2
	(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql) >&2
	find_bin
}

# as_owner runs a command as the cluster's owner.
as_owner() {
	if [[ -n "$runas" ]]; then
		runuser -u "$runas" -- "$@"
	else
		"$@"
	fi
}

# free_port prints a loopback port nothing listens on.
free_port() {
	local port
	for _ in $(seq 1 100); do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
	echo "postgres.sh: no free port found" >&2
	return 1
}

run() {
	[[ "${1:-}" == "--" ]] && shift
	if [[ $# -eq 0 ]]; then
		echo "usage: $0 run -- command [args...]" >&2
		exit 2
	fi
	local status=0 bin dir port url
	runas=""
	if [[ "$(id -u)" -eq 0 ]]; then
		runas="$test_user"
		id -u "$runas" >/dev/null 2>&1 ||
			useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$runas"
	fi
	if [[ -n "${CHATBOX_TEST_POSTGRES_URL:-}" ]]; then
		# Tests that run a server of their own still get the programs.
		echo "postgres.sh: using the server at CHATBOX_TEST_POSTGRES_URL" >&2
		CHATBOX_TEST_POSTGRES_BIN="${CHATBOX_TEST_POSTGRES_BIN:-$(find_bin || true)}" \
			CHATBOX_TEST_POSTGRES_RUNAS="${CHATBOX_TEST_POSTGRES_RUNAS-$runas}" "$@" || status=$?
		exit "$status"
	fi
	bin="$(ensure_bin)"
	dir="$(mktemp -d "${TMPDIR:-/tmp}/chatbox-postgres.XXXXXX")"
	chmod 755 "$dir"
	mkdir "$dir/data" "$dir/socket"
	[[ -n "$runas" ]] && chown "$runas" "$dir/data" "$dir/socket"
	# Stop the command, the server, and remove the folder on every exit path.
	child=""
	trap '[[ -n "$child" ]] && kill -TERM "$child" 2>/dev/null; as_owner "$bin/pg_ctl" -D "$dir/data" stop -m immediate >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
		as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 || {
		echo "postgres.sh: initdb failed:" >&2
		cat "$dir/initdb.log" >&2
		exit 1
	}
	local started=""
	for _ in 1 2 3 4 5; do
		port="$(free_port)"
		if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/socket/log" -w -t "$start_timeout" \
			-o "-p $port -k $dir/socket -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
			start >/dev/null 2>&1; then
			started=1
			break
		fi
	done
	if [[ -z "$started" ]]; then
		echo "postgres.sh: the server did not start:" >&2
		cat "$dir/socket/log" >&2 || true
		exit 1
	fi
	url="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
	echo "postgres.sh: listening at $url (data in $dir/data)" >&2
	# CMD runs in the background so that a signal to this script is handled
	# at once (bash runs traps only between foreground commands).
	CHATBOX_TEST_POSTGRES_URL="$url" CHATBOX_TEST_POSTGRES_BIN="$bin" CHATBOX_TEST_POSTGRES_RUNAS="$runas" "$@" <&0 &
	child=$!
	wait "$child" || status=$?
	child=""
	exit "$status"
}

case "${1:-}" in
run)
	shift
	run "$@"
	;;
*)
	echo "usage: $0 run -- command [args...]" >&2
	exit 2
	;;
esac
