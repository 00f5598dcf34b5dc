#!/usr/bin/env bash
# Runs a private Redis for the tests.
#
#   scripts/redis.sh run -- CMD...    unless CHATBOX_TEST_REDIS_ADDR is already
#                                     set, start redis-server (installed from
#                                     Debian when missing) on a free 127.0.0.1
#                                     port without persistence, in a temporary
#                                     directory; run CMD with
#                                     CHATBOX_TEST_REDIS_ADDR and
#                                     CHATBOX_TEST_REDIS_SERVER (the binary, for
#                                     tests that start and restart servers of
#                                     their own) exported; stop the server and
#                                     remove its directory whatever CMD did;
#                                     exit with CMD's status
set -euo pipefail

start_timeout="${REDIS_START_TIMEOUT:-30}"

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

run() {
	[[ "${1:-}" == "--" ]] && shift
	if [[ $# -eq 0 ]]; then
		echo "usage: $0 run -- command [args...]" >&2
		exit 2
	fi
	if [[ -n "${CHATBOX_TEST_REDIS_ADDR:-}" ]]; then
		exec "$@"
	fi
	if ! command -v redis-server >/dev/null; then
		apt-get update >&2 && apt-get install -y redis-server >&2
	fi
	local bin dir pid port status
	bin="$(command -v redis-server)"
	dir="$(mktemp -d "${TMPDIR:-/tmp}/chatbox-redis.XXXXXX")"
	port="$(free_port)"
	"$bin" --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" >"$dir/log" 2>&1 &
	pid=$!
	# Stop the server and remove its directory on every exit path.
	trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	local waited=0
	until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "redis-server exited before listening:" >&2
			cat "$dir/log" >&2
			exit 1
		fi
		if ((waited >= start_timeout * 10)); then
			echo "redis-server did not listen within ${start_timeout}s:" >&2
			cat "$dir/log" >&2
			exit 1
		fi
		sleep 0.1
		waited=$((waited + 1))
	done
	echo "redis: listening at 127.0.0.1:$port (pid $pid)" >&2
	status=0
	CHATBOX_TEST_REDIS_ADDR="127.0.0.1:$port" CHATBOX_TEST_REDIS_SERVER="$bin" "$@" || status=$?
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
