#!/usr/bin/env bash
# Installs the system libraries that Dawn (the npm package `webgpu`) needs to find a software
# WebGPU adapter on Debian bookworm (see DESIGN.md §4):
#   - Vulkan on lavapipe: libvulkan1 + mesa-vulkan-drivers >= 25 (bookworm-backports; Mesa 22's
#     lavapipe is too old for Dawn, which rejects its adapter);
#   - OpenGL ES on llvmpipe (compatibility mode): libegl1 libgles2 libegl-mesa0 libgl1-mesa-dri.
# Idempotent: when everything is present it only checks and exits (run by `npm test` as pretest).
set -euo pipefail

log() { echo "setup-webgpu: $*"; }
fail() {
  echo "setup-webgpu: error: $*" >&2
  exit 1
}

# Whether the dynamic linker can find a library (ldconfig's cache, else the usual directories).
has_lib() {
  local ldconfig
  ldconfig=$(command -v ldconfig || echo /sbin/ldconfig)
  if [ -x "$ldconfig" ] && "$ldconfig" -p 2>/dev/null | grep -q "[[:space:]]$1 "; then return 0; fi
  compgen -G "/usr/lib/*/$1" >/dev/null || compgen -G "/usr/lib/$1" >/dev/null || compgen -G "/lib/*/$1" >/dev/null
}

# Whether lavapipe's ICD is installed from Mesa 25 or later.
has_lavapipe() {
  compgen -G '/usr/share/vulkan/icd.d/lvp_icd*.json' >/dev/null || return 1
  if command -v dpkg-query >/dev/null; then
    local version major
    version=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
    major=${version%%.*}
    major=${major#*:}
    [[ "$major" =~ ^[0-9]+$ ]] && [ "$major" -ge 25 ]
  else
    return 0 # not Debian: trust the ICD that is there
  fi
}

ready() {
  has_lib libvulkan.so.1 && has_lavapipe && has_lib libEGL.so.1 && has_lib libGLESv2.so.2
}

if ready; then
  exit 0
fi

log "Dawn's system libraries are missing or too old (need libvulkan1, Mesa >= 25 lavapipe, EGL and GLES)"

[ -r /etc/os-release ] || fail "cannot identify the OS (no /etc/os-release); install Mesa >= 25 (lavapipe), libvulkan1, libEGL and libGLESv2 yourself"
# shellcheck disable=SC1091
. /etc/os-release
if [ "${ID:-}" != debian ] || [ "${VERSION_CODENAME:-}" != bookworm ]; then
  fail "automatic setup supports Debian bookworm only (found ${PRETTY_NAME:-unknown}); install Mesa >= 25 (lavapipe), libvulkan1, libEGL and libGLESv2 yourself"
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || fail "not root and sudo is not installed; rerun as root"
  SUDO=(sudo)
fi

# The mirror of the existing Debian entry: deb822 first (bookworm's default), then sources.list.
debian_uri() {
  local uri=""
  if [ -r /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(awk '
      BEGIN { RS = ""; FS = "\n" }
      {
        uris = ""; main = 0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); split($i, parts, /[ \t]+/); uris = parts[1] }
          if ($i ~ /^Suites:/ && $i ~ /[ \t]bookworm([ \t]|$)/) main = 1
        }
        if (main && uris != "") { print uris; exit }
      }' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$uri" ] && [ -r /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list)
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  uri=$(debian_uri)
  log "adding the bookworm-backports suite ($uri) as /etc/apt/sources.list.d/bookworm-backports.sources"
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" |
    "${SUDO[@]}" tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null ||
    fail "could not write /etc/apt/sources.list.d/bookworm-backports.sources"
fi

log "apt-get update"
"${SUDO[@]}" apt-get update -q || fail "apt-get update failed"
# One transaction with backports preferred keeps every Mesa package at one version; libegl1 and
# libgles2 (glvnd) are not in backports and come from the main suite.
packages=(mesa-vulkan-drivers libvulkan1 libegl1 libgles2 libegl-mesa0 libgl1-mesa-dri)
log "apt-get install -t bookworm-backports ${packages[*]}"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q -t bookworm-backports "${packages[@]}" ||
  fail "apt-get install failed"

ready || fail "installed the packages, but libvulkan.so.1, Mesa >= 25 lavapipe, libEGL.so.1 or libGLESv2.so.2 is still missing"
log "done: Vulkan (lavapipe) and OpenGL ES (llvmpipe) are available to Dawn"
