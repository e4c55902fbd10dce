#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs every test and check, and ends
# with one line "N passed, N failed, N skipped" for the whole run. Exits non-zero on any failure.
#
#   eng/test.sh                 everything
#   eng/test.sh -class 'X'      only some xunit tests (any xunit v3 runner option is passed through to both test projects)
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

passed=0 failed=0 skipped=0
failures=()

# A check outside xunit: counted as one test.
check() {
  local name=$1; shift
  if "$@" >"$RESULTS/check.log" 2>&1; then
    passed=$((passed + 1)); printf '  \033[32mpass\033[0m %s\n' "$name"
  else
    failed=$((failed + 1)); failures+=("$name"); printf '  \033[31mFAIL\033[0m %s\n' "$name"; sed 's/^/       /' "$RESULTS/check.log" | tail -n 40
  fi
}

summary() {
  echo
  [ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
  echo "$passed passed, $failed failed, $skipped skipped"
}

eng/deps.sh || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }

# Servers the tests start live under one directory, removed (with anything still running from it) at exit.
export VOICEHIVE_TEST_ROOT
VOICEHIVE_TEST_ROOT=$(mktemp -d /tmp/voicehive-tests.XXXXXX)
chmod 755 "$VOICEHIVE_TEST_ROOT"
RESULTS="$VOICEHIVE_TEST_ROOT/results"
mkdir -p "$RESULTS"
cleanup() {
  pkill -KILL -f -- "$VOICEHIVE_TEST_ROOT" 2>/dev/null || true
  rm -rf "$VOICEHIVE_TEST_ROOT"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

say "building VoiceHive.sln"
if ! dotnet build VoiceHive.sln -c Release -nologo -clp:ErrorsOnly >"$RESULTS/build.log" 2>&1; then
  cat "$RESULTS/build.log"
  failed=$((failed + 1)); failures+=("build VoiceHive.sln")
  summary
  exit 1
fi

# Runs one xunit v3 test assembly and adds its counts to the totals.
run_tests() {
  local name=$1; shift
  local binary="$name/bin/Release/net10.0/$name" xml="$RESULTS/$name.xml"
  "$binary" -noColor -noLogo -xml "$xml" "$@" | grep -vE '^\s*$'
  local exit_code=${PIPESTATUS[0]}
  attribute() {
    local sum=0 value
    for value in $(grep -o '<assembly [^>]*' "$xml" 2>/dev/null | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'); do
      sum=$((sum + value))
    done
    echo "$sum"
  }
  if [ -f "$xml" ]; then
    passed=$((passed + $(attribute passed))); failed=$((failed + $(attribute failed) + $(attribute errors))); skipped=$((skipped + $(attribute skipped)))
    [ "$(attribute failed)" -gt 0 ] && failures+=("$name: $(attribute failed) test(s)")
  fi
  if [ "$exit_code" -ne 0 ] && { [ ! -f "$xml" ] || [ "$(attribute failed)" -eq 0 ]; }; then
    failed=$((failed + 1)); failures+=("$name: the runner exited with $exit_code")
  fi
}

# With arguments, they choose the tests (an xunit -class or -method names one project's tests; the other ignores it).
say "xunit tests (unit, and integration against real PostgreSQL, Redis, Prometheus and Alertmanager)"
run_tests VoiceHive.Tests "$@"

say "the end-to-end tests on the AppHost (Aspire.Hosting.Testing, the infrastructure as host processes)"
run_tests VoiceHive.AppHost.Tests "$@"

if [ $# -eq 0 ]; then
  say "the run command, end to end"
  check "eng/run.sh --smoke: every resource healthy, a call with a token through the printed address, Ctrl-C leaves nothing running" eng/run.sh --smoke
fi

summary
[ "$failed" -eq 0 ]
