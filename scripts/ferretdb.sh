#!/usr/bin/env bash
# Builds and runs the FerretDB test server (tools/ferretdb) for the tests.
#
#   scripts/ferretdb.sh build            build (or reuse) the binary; prints its path
#   scripts/ferretdb.sh run -- CMD...    start a server on a free 127.0.0.1 port,
#                                        run CMD with CHATBOX_TEST_MONGODB_URI and
#                                        CHATBOX_TEST_FERRETDB_BIN exported, stop the
#                                        server and remove its data whatever CMD did;
#                                        exits with CMD's status
#
# The binary goes to tools/ferretdb/bin/ferretdb (ignored by git); Go's build
# cache makes rebuilding an unchanged tool take about a second.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tool="$root/tools/ferretdb"
bin="$tool/bin/ferretdb"
start_timeout="${FERRETDB_START_TIMEOUT:-60}"

build() {
	(cd "$tool" && go build -trimpath -tags ferretdb_no_postgresql -o "$bin" .) >&2
}

run() {
	[[ "${1:-}" == "--" ]] && shift
	if [[ $# -eq 0 ]]; then
		echo "usage: $0 run -- command [args...]" >&2
		exit 2
	fi
	build
	local dir pid uri status
	dir="$(mktemp -d "${TMPDIR:-/tmp}/chatbox-ferretdb.XXXXXX")"
	"$bin" -dir "$dir/data" -uri-file "$dir/uri" >"$dir/log" 2>&1 &
	pid=$!
	# Stop the server and remove its data on every exit path.
	trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	local waited=0
	until [[ -s "$dir/uri" ]]; do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "ferretdb exited before listening:" >&2
			cat "$dir/log" >&2
			exit 1
		fi
		if ((waited >= start_timeout * 10)); then
			echo "ferretdb did not listen within ${start_timeout}s:" >&2
			cat "$dir/log" >&2
			exit 1
		fi
		sleep 0.1
		waited=$((waited + 1))
	done
	uri="$(cat "$dir/uri")"
	echo "ferretdb: listening at $uri (pid $pid)" >&2
	status=0
	CHATBOX_TEST_MONGODB_URI="$uri" CHATBOX_TEST_FERRETDB_BIN="$bin" "$@" || status=$?
	exit "$status"
}

case "${1:-}" in
build)
	build
	echo "$bin"
	;;
run)
	shift
	run "$@"
	;;
*)
	echo "usage: $0 build | run -- command [args...]" >&2
	exit 2
	;;
esac
