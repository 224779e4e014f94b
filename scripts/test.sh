#!/bin/sh
# Runs the whole suite with node:test, then the API tests a second time through a dedicated web
# server in front of each test node (TENDRIL_TEST_FRONT=dedicated, see test/helpers/node.ts), so
# `npm test` proves that the embedded and the dedicated server serve the same API. The second pass
# takes the test/http and test/reliability files that talk to a node through startTestNode (the
# hostile-request corpus and the concurrency tests included); the others (unit tests,
# tests of nodes in child processes) would only repeat themselves. Node 20 does not expand globs
# itself, so find and grep list the files.
set -eu
cd "$(dirname "$0")/.."
files=$(find test -name '*.test.ts' | sort)
api=$(grep -l 'startTestNode' test/http/*.test.ts test/reliability/*.test.ts | sort)
# Two test files at a time: most of them wait on sockets and child processes, so two at once
# halve the wall time on two cores (21 → 11.5 min on a busy machine) without changing a result.
jobs=--test-concurrency=2
status=0
node --import tsx --test --test-reporter=spec $jobs "$@" $files || status=$?
echo "# again, through a dedicated web server (TENDRIL_TEST_FRONT=dedicated)"
TENDRIL_TEST_FRONT=dedicated node --import tsx --test --test-reporter=spec $jobs "$@" $api || status=$?
exit $status
