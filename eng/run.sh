#!/usr/bin/env bash
# The README's run command: installs what is missing, builds, and starts the whole system.
#   Aspire mode when the Aspire packages restore and a container runtime answers;
#   local-process mode otherwise (PostgreSQL and Redis from Debian packages on loopback ports).
# Prints every URL, runs until Ctrl-C, then stops everything it started.
#
#   eng/run.sh             run until Ctrl-C
#   eng/run.sh --local     force local-process mode
#   eng/run.sh --smoke     local mode on free ports: start, check health and the scrape endpoints, stop
#
# Local mode settings (environment): VOICEHIVE_RUN_DIR (state, default /var/tmp/voicehive-run),
# ORCHESTRATOR_PORT (8000), WORKER_PORT (8001), POSTGRES_PORT (55432), REDIS_PORT (56379),
# PROMETHEUS_PORT (9090), ALERTMANAGER_PORT (9093), REDIS_EXPORTER_PORT (9121), POSTGRES_EXPORTER_PORT (9187),
# NODE_EXPORTER_PORT (9100), BLACKBOX_EXPORTER_PORT (9115); SLACK_WEBHOOK_URL and PAGERDUTY_INTEGRATION_KEY
# for real notifications (without them Alertmanager's Slack and PagerDuty deliveries fail and are logged).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

mode=auto
case "${1:-}" in
  --local) mode=local ;;
  --smoke) mode=smoke ;;
  "") ;;
  *) die "unknown option '$1' (use --local or --smoke)" ;;
esac

eng/deps.sh

if [ "$mode" = auto ]; then
  if ! aspire_restores; then
    say "local-process mode: the Aspire packages do not restore from this NuGet feed"
    mode=local
  elif ! runtime=$(container_runtime); then
    say "local-process mode: no container runtime answers (docker or podman), which Aspire needs for Redis and PostgreSQL"
    mode=local
  else
    say "Aspire mode ($runtime): the AppHost starts everything; its dashboard URL follows"
    exec dotnet run --project VoiceHive.AppHost
  fi
fi

if [ "$mode" = smoke ]; then
  RUN_DIR=$(mktemp -d /tmp/voicehive-smoke.XXXXXX)
  ORCHESTRATOR_PORT=$(free_port); WORKER_PORT=$(free_port); POSTGRES_PORT=$(free_port); REDIS_PORT=$(free_port)
  PROMETHEUS_PORT=$(free_port); ALERTMANAGER_PORT=$(free_port)
  REDIS_EXPORTER_PORT=$(free_port); POSTGRES_EXPORTER_PORT=$(free_port); NODE_EXPORTER_PORT=$(free_port); BLACKBOX_EXPORTER_PORT=$(free_port)
else
  RUN_DIR=${VOICEHIVE_RUN_DIR:-/var/tmp/voicehive-run}
  ORCHESTRATOR_PORT=${ORCHESTRATOR_PORT:-8000}; WORKER_PORT=${WORKER_PORT:-8001}
  POSTGRES_PORT=${POSTGRES_PORT:-55432}; REDIS_PORT=${REDIS_PORT:-56379}
  PROMETHEUS_PORT=${PROMETHEUS_PORT:-9090}; ALERTMANAGER_PORT=${ALERTMANAGER_PORT:-9093}
  REDIS_EXPORTER_PORT=${REDIS_EXPORTER_PORT:-9121}; POSTGRES_EXPORTER_PORT=${POSTGRES_EXPORTER_PORT:-9187}
  NODE_EXPORTER_PORT=${NODE_EXPORTER_PORT:-9100}; BLACKBOX_EXPORTER_PORT=${BLACKBOX_EXPORTER_PORT:-9115}
  for port in "$ORCHESTRATOR_PORT" "$WORKER_PORT" "$POSTGRES_PORT" "$REDIS_PORT" "$PROMETHEUS_PORT" "$ALERTMANAGER_PORT" \
      "$REDIS_EXPORTER_PORT" "$POSTGRES_EXPORTER_PORT" "$NODE_EXPORTER_PORT" "$BLACKBOX_EXPORTER_PORT"; do
    port_in_use "$port" && die "port $port is in use: stop what holds it, or choose other ports (see the top of eng/run.sh)"
  done
fi
mkdir -p "$RUN_DIR/logs"
chmod 755 "$RUN_DIR"

pids=()
stop_all() {
  trap - INT TERM EXIT
  say "stopping"
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    # PostgreSQL's fast shutdown is SIGINT; the others stop on SIGTERM.
    kill -"${signals[$i]}" "${pids[$i]}" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  [ "$mode" = smoke ] && rm -rf "$RUN_DIR"
  return 0
}
signals=()
trap 'stop_all; exit 130' INT TERM
trap stop_all EXIT

started() { pids+=("$1"); signals+=("$2"); }

say "building (Release)"
dotnet build VoiceHive.Services.slnf -c Release -nologo -clp:ErrorsOnly >"$RUN_DIR/logs/build.log" 2>&1 || { cat "$RUN_DIR/logs/build.log"; die "build failed"; }

# PostgreSQL: a cluster of our own in the run directory (kept between runs), owned by the postgres user under root.
pgbin=$(postgres_bin)
if [ ! -f "$RUN_DIR/postgres/PG_VERSION" ]; then
  mkdir -p "$RUN_DIR/postgres" "$RUN_DIR/postgres-socket"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$RUN_DIR/postgres" "$RUN_DIR/postgres-socket"
  "${AS_POSTGRES[@]}" "$pgbin/initdb" -D "$RUN_DIR/postgres" -U postgres --auth=trust --encoding=UTF8 --no-locale >"$RUN_DIR/logs/initdb.log" 2>&1 \
    || { cat "$RUN_DIR/logs/initdb.log"; die "initdb failed"; }
fi
"${AS_POSTGRES[@]}" "$pgbin/postgres" -D "$RUN_DIR/postgres" -p "$POSTGRES_PORT" -k "$RUN_DIR/postgres-socket" \
  -c listen_addresses=127.0.0.1 >"$RUN_DIR/logs/postgres.log" 2>&1 &
started $! INT
for _ in $(seq 1 120); do "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$POSTGRES_PORT" && break; sleep 0.25; done
"$pgbin/pg_isready" -q -h 127.0.0.1 -p "$POSTGRES_PORT" || { tail -n 20 "$RUN_DIR/logs/postgres.log"; die "PostgreSQL did not start"; }
"$pgbin/psql" -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'voicehivedb'" | grep -q 1 \
  || "$pgbin/psql" -q -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres -c "CREATE DATABASE voicehivedb"

mkdir -p "$RUN_DIR/redis"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$RUN_DIR/redis" --appendonly yes --daemonize no \
  >"$RUN_DIR/logs/redis.log" 2>&1 &
started $! TERM

# The environment contract the AppHost would inject.
export ConnectionStrings__voicehivedb="Host=127.0.0.1;Port=$POSTGRES_PORT;Username=postgres;Database=voicehivedb"
export ConnectionStrings__redis="127.0.0.1:$REDIS_PORT"
export ASPNETCORE_ENVIRONMENT=${ASPNETCORE_ENVIRONMENT:-Development}
export services__orchestrator__http__0="http://127.0.0.1:$ORCHESTRATOR_PORT"
TRAFFIC_RATE=${TRAFFIC_RATE:-1}
# Local-only secrets: Alertmanager's bearer token for the webhook, Prometheus's for the scrape endpoints, and a
# signing key made for this run, with which the tokens below are issued (the services check them as JWT bearer
# tokens; the key is never written to the repository).
export ALERT_WEBHOOK_TOKEN=${ALERT_WEBHOOK_TOKEN:-local-webhook-token}
export Monitoring__ScrapeToken=${Monitoring__ScrapeToken:-local-scrape-token}
jwt_key=$(openssl rand -base64 32)
export Authentication__Schemes__Bearer__ValidIssuer=voicehive-local
export Authentication__Schemes__Bearer__ValidAudiences__0=voicehive
export Authentication__Schemes__Bearer__SigningKeys__0__Issuer=voicehive-local
export Authentication__Schemes__Bearer__SigningKeys__0__Value=$jwt_key
base64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
# An HS256 JWT for this run's issuer and key, with the given space-separated scopes, valid for a day.
issue_token() {
  local now header claims signature
  now=$(date +%s)
  header=$(printf '{"alg":"HS256","typ":"JWT"}' | base64url)
  claims=$(printf '{"iss":"voicehive-local","aud":"voicehive","sub":"%s","scope":"%s","nbf":%s,"exp":%s}' "$2" "$1" "$now" $((now + 86400)) | base64url)
  signature=$(printf '%s.%s' "$header" "$claims" \
    | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$(printf '%s' "$jwt_key" | base64 -d | od -An -tx1 | tr -d ' \n')" -binary | base64url)
  printf '%s.%s.%s' "$header" "$claims" "$signature"
}
CALLS_TOKEN=$(issue_token calls local-gateway)
OPERATOR_TOKEN=$(issue_token operations local-operator)

start_service() {
  local name=$1 project=$2 port=$3
  OTEL_SERVICE_NAME=$name ASPNETCORE_URLS="http://127.0.0.1:$port" \
    dotnet "$project/bin/Release/net10.0/$project.dll" >"$RUN_DIR/logs/$name.log" 2>&1 &
  started $! TERM
}
start_service orchestrator VoiceHive.Orchestrator "$ORCHESTRATOR_PORT"
start_service worker VoiceHive.Worker "$WORKER_PORT"

for service in "orchestrator:$ORCHESTRATOR_PORT" "worker:$WORKER_PORT"; do
  name=${service%%:*} port=${service##*:}
  wait_http_ok "http://127.0.0.1:$port/health" 90 || { tail -n 30 "$RUN_DIR/logs/$name.log"; curl -s "http://127.0.0.1:$port/health"; echo; die "$name is not healthy"; }
done

# The monitoring stack from monitoring/, with this mode's addresses: file_sd targets written here, and a copy of
# the Alertmanager configuration with its secrets directory and the webhook's host replaced.
MON="$RUN_DIR/monitoring"
rm -rf "$MON"; mkdir -p "$MON/prometheus/targets" "$MON/prometheus/secrets" "$MON/alertmanager/secrets"
printf '%s' "$Monitoring__ScrapeToken" >"$MON/prometheus/secrets/scrape_token"
# Alertmanager runs without its web.yml on loopback here; the password Prometheus would send it is unused.
printf '%s' unused-on-loopback >"$MON/prometheus/secrets/alertmanager_password"
chmod 600 "$MON/prometheus/secrets/"*
sed -e "s|/etc/prometheus/secrets/|$MON/prometheus/secrets/|" monitoring/prometheus/prometheus.yml >"$MON/prometheus/prometheus.yml"
cp -r monitoring/prometheus/rules "$MON/prometheus/"
target() { printf '[{"targets": ["%s"]}]\n' "$2" >"$MON/prometheus/targets/$1.json"; }
target orchestrator "127.0.0.1:$ORCHESTRATOR_PORT"
target worker "127.0.0.1:$WORKER_PORT"
target alertmanager "127.0.0.1:$ALERTMANAGER_PORT"
target redis-exporter "127.0.0.1:$REDIS_EXPORTER_PORT"
target postgres-exporter "127.0.0.1:$POSTGRES_EXPORTER_PORT"
target node-exporter "127.0.0.1:$NODE_EXPORTER_PORT"
printf '[{"targets": ["http://127.0.0.1:%s/health", "http://127.0.0.1:%s/health"], "labels": {"blackbox": "127.0.0.1:%s"}}]\n' \
  "$ORCHESTRATOR_PORT" "$WORKER_PORT" "$BLACKBOX_EXPORTER_PORT" >"$MON/prometheus/targets/health-probes.json"
printf '%s' "${SLACK_WEBHOOK_URL:-http://127.0.0.1:9/slack-not-configured}" >"$MON/alertmanager/secrets/slack_webhook_url"
printf '%s' "${PAGERDUTY_INTEGRATION_KEY:-pagerduty-not-configured}" >"$MON/alertmanager/secrets/pagerduty_routing_key"
printf '%s' "$ALERT_WEBHOOK_TOKEN" >"$MON/alertmanager/secrets/alert_webhook_token"
chmod 600 "$MON/alertmanager/secrets/"*
sed -e "s|/etc/alertmanager/secrets/|$MON/alertmanager/secrets/|" \
    -e "s|http://orchestrator:8000/|http://127.0.0.1:$ORCHESTRATOR_PORT/|" \
    -e "s|  - templates/\*.tmpl|  - $REPO_ROOT/monitoring/alertmanager/templates/*.tmpl|" \
    monitoring/alertmanager/alertmanager.yml >"$MON/alertmanager/alertmanager.yml"

prometheus-redis-exporter -redis.addr "redis://127.0.0.1:$REDIS_PORT" -web.listen-address "127.0.0.1:$REDIS_EXPORTER_PORT" \
  >"$RUN_DIR/logs/redis-exporter.log" 2>&1 &
started $! TERM
DATA_SOURCE_NAME="postgresql://postgres@127.0.0.1:$POSTGRES_PORT/postgres?sslmode=disable" \
  prometheus-postgres-exporter --web.listen-address="127.0.0.1:$POSTGRES_EXPORTER_PORT" >"$RUN_DIR/logs/postgres-exporter.log" 2>&1 &
started $! TERM
prometheus-node-exporter --web.listen-address="127.0.0.1:$NODE_EXPORTER_PORT" >"$RUN_DIR/logs/node-exporter.log" 2>&1 &
started $! TERM
prometheus-blackbox-exporter --config.file=/etc/prometheus/blackbox.yml --web.listen-address="127.0.0.1:$BLACKBOX_EXPORTER_PORT" \
  >"$RUN_DIR/logs/blackbox-exporter.log" 2>&1 &
started $! TERM
prometheus-alertmanager --config.file="$MON/alertmanager/alertmanager.yml" --storage.path="$RUN_DIR/alertmanager-data" \
  --web.listen-address="127.0.0.1:$ALERTMANAGER_PORT" --cluster.listen-address= >"$RUN_DIR/logs/alertmanager.log" 2>&1 &
started $! TERM
prometheus --config.file="$MON/prometheus/prometheus.yml" --storage.tsdb.path="$RUN_DIR/prometheus-data" \
  --storage.tsdb.retention.time=30d --storage.tsdb.retention.size=10GB \
  --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" --web.enable-lifecycle >"$RUN_DIR/logs/prometheus.log" 2>&1 &
started $! TERM
wait_http_ok "http://127.0.0.1:$ALERTMANAGER_PORT/-/ready" 60 || { tail -n 20 "$RUN_DIR/logs/alertmanager.log"; die "Alertmanager did not start"; }
wait_http_ok "http://127.0.0.1:$PROMETHEUS_PORT/-/ready" 60 || { tail -n 20 "$RUN_DIR/logs/prometheus.log"; die "Prometheus did not start"; }

if [ "$mode" = smoke ]; then
  # Every scrape target up: the services' four jobs, three exporters, two /health probes through blackbox.
  up_targets() { curl -s "http://127.0.0.1:$PROMETHEUS_PORT/api/v1/targets?state=active" | grep -o '"health":"up"' | wc -l; }
  for _ in $(seq 1 120); do [ "$(up_targets)" -eq 9 ] && break; sleep 0.5; done
  [ "$(up_targets)" -eq 9 ] || { curl -s "http://127.0.0.1:$PROMETHEUS_PORT/api/v1/targets?state=active" | grep -o '"lastError":"[^"]*"' | sort | uniq -c; die "not every Prometheus target is up"; }
  for port in "$ORCHESTRATOR_PORT" "$WORKER_PORT"; do
    for path in /metrics /monitoring/metrics; do
      [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$path")" = 401 ] || die ":$port$path answers without the scrape token"
      curl -sf -H "Authorization: Bearer $Monitoring__ScrapeToken" "http://127.0.0.1:$port$path" | promtool check metrics || die "promtool check metrics failed for :$port$path"
    done
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/alive")" = 200 ] || die "/alive is not 200 on :$port"
  done
  # One call end to end through the built binaries.
  api="http://127.0.0.1:$ORCHESTRATOR_PORT"
  gateway=(-H 'Content-Type: application/json' -H "Authorization: Bearer $CALLS_TOKEN")
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d '{}' "$api/api/calls")" = 401 ] || die "the calls API answers without a token"
  call=$(curl -sf "${gateway[@]}" -d '{"hotelId":"grand-plaza","callerNumber":"+447700900123","language":"en"}' "$api/api/calls") \
    || die "starting a call failed"
  id=$(printf '%s' "$call" | sed -n 's/.*"id":"\([0-9a-f-]*\)".*/\1/p')
  curl -sf "${gateway[@]}" -d '{"utterance":"Can you check reservation GR1042?"}' "$api/api/calls/$id/turns" | grep -q '"intent":"reservation_lookup"' \
    || die "a turn failed"
  curl -sf "${gateway[@]}" -d '{"outcome":"resolved"}' "$api/api/calls/$id/end" | grep -q '"succeeded":true' || die "ending the call failed"
  curl -sf -H "Authorization: Bearer $OPERATOR_TOKEN" "$api/api/calls/$id" | grep -q '"transcript"' || die "an operator cannot read the call"
  curl -sf -H "Authorization: Bearer $Monitoring__ScrapeToken" "$api/monitoring/metrics" | grep -q 'voicehive_call_success_total{hotel_id="grand-plaza",outcome="resolved"} 1' \
    || die "the call is not in the business metrics"
  curl -sf "$api/openapi/v1.json" >/dev/null || die "no OpenAPI document"
  say "smoke check passed: both services healthy, scrape endpoints pass promtool, a call went through, every Prometheus target is up"
  exit 0
fi

cat <<INFO

VoiceHive is running in local-process mode (Grafana and Jaeger have no Debian package; they run in Aspire mode).
Prometheus, Alertmanager and the exporters use the files in monitoring/; their copies with this mode's
addresses are in $MON.

  orchestrator   http://127.0.0.1:$ORCHESTRATOR_PORT   health /health  liveness /alive  metrics /metrics, /monitoring/metrics
    calls API    http://127.0.0.1:$ORCHESTRATOR_PORT/api/calls      (OpenAPI: /openapi/v1.json)
    SLA report   http://127.0.0.1:$ORCHESTRATOR_PORT/monitoring/sla
    alerts       http://127.0.0.1:$ORCHESTRATOR_PORT/monitoring/alerts   (webhook token: $ALERT_WEBHOOK_TOKEN)
    PMS faults   http://127.0.0.1:$ORCHESTRATOR_PORT/admin/pms-simulator
  worker         http://127.0.0.1:$WORKER_PORT   health /health  liveness /alive  metrics /metrics, /monitoring/metrics
    dead letters http://127.0.0.1:$WORKER_PORT/admin/dead-letters   (POST .../replay puts them back)

Credentials for this run (local only; the signing key is new each run):
  call channel (scope calls):       Authorization: Bearer $CALLS_TOKEN
  operator (scope operations):      Authorization: Bearer $OPERATOR_TOKEN
  scrapes (/metrics, /monitoring/metrics, /monitoring/scrape-targets): Authorization: Bearer $Monitoring__ScrapeToken
  prometheus     http://127.0.0.1:$PROMETHEUS_PORT/classic/graph   (targets: /classic/targets, alerts: /classic/alerts)
  alertmanager   http://127.0.0.1:$ALERTMANAGER_PORT
  postgresql     $ConnectionStrings__voicehivedb
  redis          $ConnectionStrings__redis
  logs           $RUN_DIR/logs

Traffic: eng/traffic.sh sends a mix of calls (TRAFFIC_RATE=$TRAFFIC_RATE calls/s here; 0 turns it off).
Faults:  eng/traffic.sh --fault grand-plaza --failure-rate 0.5 --latency-ms 2500   (and --clear-faults)

Ctrl-C stops everything.
INFO
if awk -v r="$TRAFFIC_RATE" 'BEGIN { exit !(r > 0) }'; then
  eng/traffic.sh --url "http://127.0.0.1:$ORCHESTRATOR_PORT" --rate "$TRAFFIC_RATE" >"$RUN_DIR/logs/traffic.log" 2>&1 &
  started $! TERM
fi
wait -n "${pids[@]}" || true
warn "a process exited; see $RUN_DIR/logs"
