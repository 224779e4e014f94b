#!/bin/sh
# Runs the whole suite with node:test. Node 20 does not expand globs itself, so find lists the files.
set -eu
cd "$(dirname "$0")/.."
files=$(find test -name '*.test.ts' | sort)
exec node --import tsx --test --test-reporter=spec "$@" $files
