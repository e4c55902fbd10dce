#!/usr/bin/env bash
# Installs what the tests and the local-process run mode need, from Debian packages.
# Safe to run again: it installs only what is missing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

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

command -v dotnet >/dev/null 2>&1 || die "the .NET SDK 10 is not installed: see https://dot.net (global.json names the version)"

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

say "installing Debian packages: ${missing[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
  die "not a Debian/Ubuntu machine: install ${missing[*]} (or their equivalents) yourself, or use the Aspire mode (docker or podman)"
fi
sudo=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "run as root, or install sudo, to install: ${missing[*]}"
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
# Packages must not start their own system services: everything runs on loopback ports of its own.
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
