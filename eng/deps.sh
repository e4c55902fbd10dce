#!/usr/bin/env bash
# Installs what is missing, from Debian packages: the servers the tests start, and the programs the AppHost runs
# as host processes where no container engine answers. Safe to run again: it installs only what is missing.
#
#   eng/deps.sh          everything the tests need
#   eng/deps.sh --run    what eng/run.sh needs: nothing but .NET when the AppHost will run its infrastructure in containers
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v dotnet >/dev/null 2>&1 || die "the .NET SDK 10 is not installed: see https://dot.net (global.json names the version)"
if [ "${1:-}" = --run ] && [ "${Infrastructure__Form:-auto}" != processes ] && runtime=$(container_runtime); then
  say "$runtime answers: the AppHost runs the infrastructure in containers, no Debian package is needed"
  exit 0
fi

# binary (as the package installs it) : Debian package
required=(
  "/usr/lib/postgresql/*/bin/postgres:postgresql"
  "redis-server:redis-server"
  "prometheus:prometheus"
  "promtool:prometheus"
  "prometheus-alertmanager:prometheus-alertmanager"
  "amtool:prometheus-alertmanager"
  "prometheus-redis-exporter:prometheus-redis-exporter"
  "prometheus-postgres-exporter:prometheus-postgres-exporter"
  "prometheus-node-exporter:prometheus-node-exporter"
  "prometheus-blackbox-exporter:prometheus-blackbox-exporter"
  "setpriv:util-linux"
  "curl:curl"
  "openssl:openssl"
)

have() {
  case "$1" in
    /*) compgen -G "$1" >/dev/null ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

missing=()
for entry in "${required[@]}"; do
  binary=${entry%%:*} package=${entry##*:}
  have "$binary" || missing+=("$package")
done
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sed '/^$/d' | sort -u)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

say "installing Debian packages: ${missing[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
  die "not a Debian/Ubuntu machine: install ${missing[*]} (or their equivalents) yourself, or run Docker or Podman so that the AppHost uses containers"
fi
sudo=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "run as root, or install sudo, to install: ${missing[*]}"
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
# Some packages start a daemon of their own (redis-server on 6379, say): nothing here uses it, and the AppHost's
# ports are allocated by Aspire, so it is in nobody's way.
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
