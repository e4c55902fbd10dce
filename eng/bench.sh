#!/usr/bin/env bash
# The benchmark runner: installs what is missing, builds in Release, and runs VoiceHive.Benchmarks, which
# starts PostgreSQL (durable), Redis (AOF), the services as their own processes, Prometheus, Alertmanager and
# node_exporter on loopback, runs each benchmark, and writes docs/benchmarks.md (machine, date, table).
#
#   eng/bench.sh                                   everything, 5 runs each (about 95 minutes: memory alone is 5 × 12 min)
#   eng/bench.sh --only telemetry,scrape --runs 5  some of them (telemetry, scrape, ingest, pipeline, alerts, memory)
#   eng/bench.sh --memory-minutes 10 --output docs/benchmarks.md
#   eng/bench.sh --only alerts --update                       re-measure some; keep the other rows of the report
#   eng/bench.sh --only ingest --runs 1 --env Logging__LogLevel__Default=Warning   a service setting changed, to profile
#   eng/bench.sh --only memory --runs 1 --memory-rate 60                          memory alone, at a given load (calls/s)
#   eng/bench.sh --only ingest --runs 3 --ingest-http-floor                         the webhook also against the floor behind HTTP (printed)
#
# Benchmarks are not tests: the test command never runs them, and nothing asserts a time. Each figure is the
# median of the runs, each run a ratio against a baseline measured in the same run. Exit code 1 when a
# benchmark could not be measured (a target missed is reported in the table, not as a failure).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

eng/deps.sh
say "building (Release)"
dotnet build VoiceHive.sln -c Release -nologo -clp:ErrorsOnly
# The runner and everything it starts (PostgreSQL, Redis, Prometheus, the services) get a process group of their own, so
# that Ctrl-C or a kill of this script stops all of them, in the foreground or not (a background job ignores SIGINT,
# and the runner does not stop on SIGTERM by itself).
setsid dotnet VoiceHive.Benchmarks/bin/Release/net10.0/VoiceHive.Benchmarks.dll "$@" &
runner=$!
stop_runner() {
  # The runner first, so that it does not report the benchmark it was in as failed when its servers go.
  kill -KILL "$runner" 2>/dev/null || true
  kill -TERM -- "-$runner" 2>/dev/null || true
  sleep 2
  kill -KILL -- "-$runner" 2>/dev/null || true
  # What the servers left: the runner removes it itself on a normal exit.
  rm -rf "${TMPDIR:-/tmp}/voicehive-tests/$runner"
  exit 130
}
trap stop_runner INT TERM
wait "$runner"
