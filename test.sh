#!/bin/sh
# Runs all of jimbot's tests. It first installs what the tests need when it
# is missing (Node.js, the npm packages of the protocol conformance test,
# and Chromium for the web chat page), so it passes on a fresh machine.
# .ci/run calls exactly this.
set -eu
cd "$(dirname "$0")"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=""
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing="$missing chromium"
if [ -n "$missing" ]; then
	echo "test.sh: installing$missing (apt-get)"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
conformance=jmessage/jmserver/testdata/conformance
if [ ! -d "$conformance/node_modules/socket.io-client" ]; then
	echo "test.sh: installing socket.io-client@1.4.5 (npm ci in $conformance)"
	(cd "$conformance" && npm ci --no-audit --no-fund --loglevel=error)
fi

echo "test.sh: go vet"
go vet ./...
echo "test.sh: go test -race"
go test -race -count=1 -timeout 15m ./...
echo "test.sh: jimbot test scripts/"
go run ./cmd/jimbot test scripts/
