#!/usr/bin/env bash
# Sets up orma on Debian/Ubuntu with Node 20: system libraries, npm packages, the libtorch addon, the build.
#   bash scripts/setup.sh            # as root, or with sudo available, installs missing apt packages
#   ORMA_SKIP_APT=1 bash scripts/setup.sh   # never touch apt (prints what is missing instead)
# LIBTORCH=/path/to/libtorch builds the addon against another libtorch (for example a CUDA build).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*" >&2; }

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  say "Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none))."
  exit 1
fi

# libtorch (with its headers) and an optimized BLAS: without libopenblas, Debian's libtorch silently
# runs on the reference BLAS, 10-18x slower. g++ builds the addon.
packages=(g++ make libopenblas0-pthread)
[ -z "${LIBTORCH:-}" ] && packages+=(libtorch-dev)
packages+=(${ORMA_EXTRA_APT_PACKAGES:-})
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "${ORMA_SKIP_APT:-0}" = 1 ]; then
    say "missing system packages: ${missing[*]}"
    say "install them with: sudo apt-get install -y ${missing[*]}"
    exit 1
  fi
  if [ "$(id -u)" = 0 ]; then SUDO=(); elif command -v sudo >/dev/null; then SUDO=(sudo); else
    say "missing system packages: ${missing[*]}; run as root: apt-get install -y ${missing[*]}"
    exit 1
  fi
  say "installing ${missing[*]} (about 500 MiB with libtorch's dependencies)"
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
say "building the libtorch addon"
node scripts/build-addon.mjs
say "compiling TypeScript"
npx tsc -p tsconfig.json
say "ready: node bin/orma.js --help"
