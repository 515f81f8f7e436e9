#!/usr/bin/env bash
# The monitoring binaries, built from the Go module proxy (the lab cannot pull images):
#
#  1. cadvisor: cAdvisor v0.57.0's collectors behind a small REST front (toolchain/go/cadvisor:
#     why not upstream's main is said there), static (CGO_ENABLED=0), for images/cadvisor;
#  2. matrix-monitor: the manager's collector and status page (monitor/, stdlib only), static,
#     for images/monitor, beside the chart library's dist files (uPlot, from node_modules).
#
# Module lists and checksums are checked in (toolchain/go/cadvisor/go.{mod,sum}, monitor/go.{mod,sum});
# builds run with -mod=readonly. Binaries are cached by the hash of their inputs outside the repo
# (MATRIX_TOOLCHAIN_CACHE, default ~/.cache/matrix-cadvisor) and copied into the image build
# contexts (git-ignored files). Online users who set monitoring.cadvisorImage still need
# matrix-monitor. `pulumi up` runs this script itself (components/monitoring.ts) whenever the
# hash of its inputs changes; running it by hand first only fills the cache.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${MATRIX_TOOLCHAIN_CACHE:-$HOME/.cache/matrix-cadvisor}"
say() { echo "build-cadvisor: $*"; }

command -v go >/dev/null || { echo "build-cadvisor: Go is needed to build the cloud's binaries, cAdvisor and the monitor, from the Go module proxy (apt-get install golang, or go.dev/dl)" >&2; exit 1; }

build() { # <source dir> <binary> <destination in an image context> [linker flags]
  local src="$root/$1" t0=$SECONDS key out
  # Every file of the module: the status page (monitor/page) is embedded in the binary too.
  key="$(cd "$src" && find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-12)"
  out="$cache/$2-$key"
  if [ -x "$out/$2" ]; then
    say "$2: cached in $out"
  else
    mkdir -p "$out"
    say "$2: building $1 (static; cAdvisor with a cold Go cache: about 2 minutes)"
    (cd "$src" && CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath -ldflags "-s -w ${4:-}" -o "$out/$2.tmp" .)
    mv "$out/$2.tmp" "$out/$2"
    say "$2: built in $((SECONDS - t0)) s, $(du -h "$out/$2" | cut -f1)"
  fi
  install -m 0755 "$out/$2" "$root/$3"
}
# Arguments: which to build (cadvisor, monitor); none: both. The page's browser test builds the monitor only.
want=" ${*:-cadvisor monitor} "
if [[ $want == *" cadvisor "* ]]; then
  build toolchain/go/cadvisor cadvisor images/cadvisor/cadvisor "-X github.com/google/cadvisor/version.Version=v$(sed -n "s#^require github.com/google/cadvisor v\(.*\)\$#\1#p" "$root/toolchain/go/cadvisor/go.mod")"
fi
[[ $want == *" monitor "* ]] || exit 0
build monitor matrix-monitor images/monitor/matrix-monitor

# The chart library, as published on npm (pinned in package.json).
uplot="$root/node_modules/uplot/dist"
[ -f "$uplot/uPlot.iife.min.js" ] || { echo "build-cadvisor: run npm ci first (the status page's chart library, uPlot, comes from node_modules)" >&2; exit 1; }
install -m 0644 "$uplot/uPlot.iife.min.js" "$uplot/uPlot.min.css" "$root/images/monitor/"
say "done:${want}(images/monitor also has uPlot.iife.min.js, uPlot.min.css)"
