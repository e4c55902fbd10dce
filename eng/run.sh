#!/usr/bin/env bash
# The README's run command: installs what is missing, builds, and runs the AppHost, which brings up the whole
# system with the Aspire dashboard: in containers where Docker or Podman answers, as the Debian packages' programs
# on loopback otherwise. It prints the dashboard's login URL and, once everything is healthy, the main addresses.
# Ctrl-C stops everything and waits until nothing of it runs any more.
#
#   eng/run.sh                       run until Ctrl-C
#   eng/run.sh --smoke               start, wait until every resource is healthy, check a call, stop, check nothing is left
#
# Settings (environment): Infrastructure__Form=containers|processes (default: auto), Infrastructure__DataDirectory
# (host processes' state, default /var/tmp/voicehive), Monitoring__FastAlerting=true (alerts within a minute: demos).
# Secrets are the AppHost's parameters: generated on the first run and kept in its user secrets; give Slack and
# PagerDuty's with `dotnet user-secrets set Parameters:slack-webhook-url <url> --project VoiceHive.AppHost`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

mode=run
case "${1:-}" in
  --smoke) mode=smoke ;;
  "") ;;
  *) die "unknown option '$1' (use --smoke, or nothing)" ;;
esac

eng/deps.sh --run

say "building the AppHost"
log=$(mktemp /tmp/voicehive-build.XXXXXX)
dotnet build VoiceHive.AppHost -nologo -clp:ErrorsOnly >"$log" 2>&1 || { cat "$log"; die "build failed"; }
rm -f "$log"

# Plain HTTP for the dashboard and ports Aspire allocates: no developer certificate, and a busy port stops nothing.
export ASPNETCORE_ENVIRONMENT=Development DOTNET_ENVIRONMENT=Development ASPIRE_ALLOW_UNSECURED_TRANSPORT=true
export ASPNETCORE_URLS=http://localhost:0 ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL=http://localhost:0 ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL=http://localhost:0
apphost=VoiceHive.AppHost/bin/Debug/net10.0/VoiceHive.AppHost

# What an AppHost started by this script left running: its DCP (which watches the AppHost's process id) and the
# host processes, found by their working directory under the data directory and their program being one the AppHost
# runs (redis-server, say, rewrites its command line, so that is no guide; a shell someone left in the data
# directory is not ours). A data directory set in the AppHost's user secrets rather than the environment is not seen.
leftovers() {
  local pid=$1 data=$2 process cwd
  pgrep -f -- "--monitor $pid( |$)" || true
  [ -n "$data" ] || return 0
  for process in /proc/[0-9]*; do
    cwd=$(readlink "$process/cwd" 2>/dev/null) || continue
    case "$cwd" in "$data"|"$data"/*) ;; *) continue ;; esac
    case "$(readlink "$process/exe" 2>/dev/null)" in
      # (Debian's redis-server is a link to redis-check-rdb, which /proc names; Alertmanager is prometheus-alertmanager.)
      */redis-server|*/redis-check-rdb|*/postgres|*/prometheus|*/prometheus-*) echo "${process#/proc/}" ;;
    esac
  done
}

# After the AppHost exits, DCP stops the resources on its own: wait for that (bounded), then stop what remains.
wait_until_stopped() {
  local pid=$1 data=$2 i
  for i in $(seq 1 120); do
    [ -z "$(leftovers "$pid" "$data")" ] && return 0
    sleep 0.5
  done
  warn "still running 60 s after the AppHost stopped; stopping: $(leftovers "$pid" "$data" | tr '\n' ' ')"
  leftovers "$pid" "$data" | xargs -r kill -KILL 2>/dev/null || true
  return 1
}

# The AppHost runs in the background of this script, which is how the script can wait for what it leaves behind; a
# background process of a script ignores SIGINT, so Ctrl-C is passed on as SIGTERM, which Aspire also stops on.
if [ "$mode" = run ]; then
  "$apphost" &
  pid=$!
  trap 'kill -TERM "$pid" 2>/dev/null || true' INT TERM
  status=0
  wait "$pid" || status=$?
  # A second wait: the first returns when the trap runs, before the AppHost has finished stopping.
  wait "$pid" 2>/dev/null || true
  say "stopping: waiting until every resource has stopped"
  wait_until_stopped "$pid" "${Infrastructure__DataDirectory:-/var/tmp/voicehive}" || true
  exit "$status"
fi

# --smoke: the run command end to end, on a data directory of its own, for eng/test.sh.
data=$(mktemp -d /tmp/voicehive-smoke.XXXXXX)
chmod 755 "$data"
output="$data.log"
export Infrastructure__DataDirectory="$data"
# The host-process form, which this machine and CI can run whatever container engine answers (the container form's
# images would otherwise be pulled and run where Docker answers).
export Infrastructure__Form=processes
# Fixed secrets: the smoke check must not write generated ones into the developer's user secrets. (Parameter names
# have dashes, which bash cannot export: env passes them.)
signing_key=$(openssl rand -base64 32)
secrets=("Parameters__jwt-signing-key=$signing_key")
for name in redis-password postgres-password alert-webhook-token caller-hash-key scrape-token prometheus-web-password alertmanager-web-password grafana-admin-password; do
  secrets+=("Parameters__$name=smoke-$name-0123456789")
done
env "${secrets[@]}" "$apphost" >"$output" 2>&1 &
pid=$!
cleanup() { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; wait_until_stopped "$pid" "$data" || true; rm -rf "$data" "$output"; }
trap cleanup EXIT
for _ in $(seq 1 360); do
  grep -q "VoiceHive is running" "$output" && break
  kill -0 "$pid" 2>/dev/null || { tail -n 40 "$output"; die "the AppHost exited before everything was healthy"; }
  sleep 0.5
done
grep -q "VoiceHive is running" "$output" || { tail -n 40 "$output"; die "not every resource became healthy within 3 minutes"; }
grep -q "Login to the dashboard at http://localhost:" "$output" || die "no dashboard login URL was printed"
orchestrator=$(sed -n 's/^ *orchestrator *\(http:\/\/[^ ]*\)$/\1/p' "$output" | head -n 1)
[ -n "$orchestrator" ] || { tail -n 20 "$output"; die "the orchestrator's address was not printed"; }
# A call channel's token, as the AppHost signs them (HS256 with the signing key, scope "calls").
base64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
now=$(date +%s)
unsigned="$(printf '{"alg":"HS256","typ":"JWT"}' | base64url).$(printf '{"iss":"voicehive-apphost","aud":"voicehive","sub":"smoke","scope":"calls","nbf":%s,"exp":%s}' \
  "$((now - 60))" "$((now + 600))" | base64url)"
signature=$(printf '%s' "$unsigned" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$(printf '%s' "$signing_key" | base64 -d | od -An -tx1 | tr -d ' \n')" -binary | base64url)
[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d '{}' "$orchestrator/api/calls")" = 401 ] \
  || die "the calls API answers without a token"
call=$(curl -sf -H "Authorization: Bearer $unsigned.$signature" -H 'Content-Type: application/json' \
  -d '{"hotelId":"grand-plaza","callerNumber":"+447700900123","language":"en"}' "$orchestrator/api/calls") \
  || die "starting a call through $orchestrator failed"
printf '%s' "$call" | grep -q '"status":"active"' || die "unexpected answer to a call: $call"

kill -TERM "$pid"
wait "$pid" || die "the AppHost did not stop cleanly on Ctrl-C"
wait_until_stopped "$pid" "$data" || die "processes were left running after Ctrl-C"
trap - EXIT
rm -rf "$data" "$output"
say "smoke check passed: every resource healthy, the API refused a call without a token and took one with it, Ctrl-C left nothing running"
