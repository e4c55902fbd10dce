# Shared helpers for the eng/ scripts. Sourced, not run.
# shellcheck shell=bash

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

say()  { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
warn() { printf '\033[1;33mwarning:\033[0m %s\n' "$*" >&2; }
die()  { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# True when something accepts TCP connections on 127.0.0.1:$1.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A loopback port nobody listens on, from a range the kernel does not hand out for outgoing connections.
free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$(( 20000 + RANDOM % 12000 ))
    port_in_use "$port" || { echo "$port"; return 0; }
  done
  die "no free loopback port found"
}

# Newest PostgreSQL server binaries from the Debian package.
postgres_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && [ -x "$dir/postgres" ] || die "PostgreSQL server not found: install the Debian package 'postgresql' (eng/deps.sh does)"
  echo "$dir"
}

# The prefix that runs a command as the postgres OS user when we are root (PostgreSQL refuses to run
# as root). setpriv execs, so a backgrounded "${AS_POSTGRES[@]}" postgres … has the server's own PID.
AS_POSTGRES=()
if [ "$(id -u)" = 0 ]; then AS_POSTGRES=(setpriv --reuid=postgres --regid=postgres --init-groups --); fi

# Whether the Aspire packages restore here (the AppHost is the only project that needs them).
aspire_restores() {
  dotnet restore "$REPO_ROOT/VoiceHive.AppHost/VoiceHive.AppHost.csproj" >/dev/null 2>&1
}

# Whether a container runtime answers (Aspire runs Redis, PostgreSQL and the monitoring stack in containers).
container_runtime() {
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then echo docker; return 0; fi
  if command -v podman >/dev/null 2>&1 && podman info >/dev/null 2>&1; then echo podman; return 0; fi
  return 1
}

# Waits until curl gets 200 from $1 (bounded by $2 seconds).
wait_http_ok() {
  local url=$1 limit=${2:-60} i
  for i in $(seq 1 $((limit * 4))); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$url" 2>/dev/null)" = 200 ] && return 0
    sleep 0.25
  done
  return 1
}
