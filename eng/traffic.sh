#!/usr/bin/env bash
# Traffic for a running VoiceHive: a realistic mix of hotels, intents and outcomes, so that the dashboards
# and alerts have something to show. Also switches PMS faults on and off through the simulator's admin
# endpoint (Development only).
#
#   eng/traffic.sh [--url URL] [--rate CALLS_PER_SECOND] [--duration SECONDS]
#   eng/traffic.sh --fault HOTEL --failure-rate 0.5 --latency-ms 2500    slow, failing PMS for one hotel
#   eng/traffic.sh --clear-faults                                        back to normal
#
# Defaults: --url http://127.0.0.1:8000, --rate 1, --duration 0 (until Ctrl-C). The admin token is
# Pms__SimulatorAdminToken (eng/run.sh's default: local-simulator-token).
set -uo pipefail

url=http://127.0.0.1:8000 rate=1 duration=0 fault="" failure_rate=0.5 latency_ms=2500 clear=false
token=${Pms__SimulatorAdminToken:-local-simulator-token}
while [ $# -gt 0 ]; do
  case "$1" in
    --url) url=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --fault) fault=$2; shift 2 ;;
    --failure-rate) failure_rate=$2; shift 2 ;;
    --latency-ms) latency_ms=$2; shift 2 ;;
    --clear-faults) clear=true; shift ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done

admin() { curl -sf -X "$1" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' ${2:+-d "$2"} "$url/admin/pms-simulator"; }
if [ "$clear" = true ]; then
  admin DELETE >/dev/null && echo "PMS faults cleared" || { echo "could not reach the simulator admin endpoint" >&2; exit 1; }
  exit 0
fi
if [ -n "$fault" ]; then
  p95=$(( latency_ms + latency_ms / 5 ))
  admin PUT "{\"hotelId\":\"$fault\",\"latencyMedianMs\":$latency_ms,\"latencyP95Ms\":$p95,\"failureRate\":$failure_rate}" >/dev/null \
    && echo "PMS fault on $fault: median $latency_ms ms, failure rate $failure_rate" \
    || { echo "could not reach the simulator admin endpoint" >&2; exit 1; }
  exit 0
fi

hotels=(grand-plaza grand-plaza harbor-view alpine-lodge city-central)
prefixes=(GR GR HA AL CI)
utterances_checkout=("What time is check-out?" "When do I have to leave the room?" "Can I have a late checkout?")
utterances_availability=("Do you have any rooms available tomorrow?" "Is there a room available tonight?" "I'd like to book a room for tomorrow")
utterances_service=("I'd like to order room service" "Can I get breakfast in my room?" "Is the menu available late?")
utterances_other=("Can I speak to someone at the front desk?" "Hmm, the weather is nice" "Thank you, that's all")
outcomes=(resolved resolved resolved resolved resolved transferred abandoned abandoned resolved dropped)
pick() { local -n list=$1; printf '%s' "${list[RANDOM % ${#list[@]}]}"; }
post() { curl -s -m 10 -H 'Content-Type: application/json' -d "$2" "$url$1"; }

interval=$(awk -v r="$rate" 'BEGIN { printf "%.3f", (r > 0 ? 1 / r : 1) }')
started=$(date +%s) calls=0
trap 'echo; echo "$calls calls"; exit 0' INT TERM
echo "traffic: $rate calls/s to $url (Ctrl-C stops)"
while [ "$duration" -eq 0 ] || [ $(( $(date +%s) - started )) -lt "$duration" ]; do
  i=$(( RANDOM % ${#hotels[@]} ))
  hotel=${hotels[$i]}
  number="+44770090$(printf '%04d' $(( RANDOM % 10000 )))"
  id=$(post /api/calls "{\"hotelId\":\"$hotel\",\"callerNumber\":\"$number\",\"language\":\"en\"}" | sed -n 's/.*"id":"\([0-9a-f-]*\)".*/\1/p')
  if [ -n "$id" ]; then
    for _ in $(seq 1 $(( 1 + RANDOM % 3 ))); do
      case $(( RANDOM % 6 )) in
        0|1) utterance="Can you check my reservation ${prefixes[$i]}$(( 1000 + RANDOM % 500 ))?" ;;
        2) utterance=$(pick utterances_availability) ;;
        3) utterance=$(pick utterances_checkout) ;;
        4) utterance=$(pick utterances_service) ;;
        *) utterance=$(pick utterances_other) ;;
      esac
      post "/api/calls/$id/turns" "{\"utterance\":\"$utterance\"}" >/dev/null
    done
    post "/api/calls/$id/end" "{\"outcome\":\"$(pick outcomes)\"}" >/dev/null
    calls=$(( calls + 1 ))
  fi
  sleep "$interval"
done
echo "$calls calls"
