#!/usr/bin/env bash
# One command from a clean clone to a machine that runs `pulumi up --stack dev` and the tests.
# Idempotent: each step checks first and does only what is missing; each prints its seconds.
#
#  1. Debian packages the cloud and the tests use (as root; otherwise it prints the apt-get line);
#  2. a Docker engine, started when none answers (scripts/start-dockerd.sh);
#  3. the base image, pulled or bootstrapped offline (scripts/bootstrap-base-image.sh);
#  4. npm packages (npm ci, when node_modules does not match package-lock.json);
#  5. Pulumi: built from source where it cannot be downloaded (scripts/install-pulumi.sh),
#     otherwise the `pulumi` already installed;
#  6. the cloud's own binaries (cAdvisor, the monitor: scripts/build-cadvisor.sh, cached; `up`
#     builds them too when their sources change, but not when only the files are missing);
#  7. a local Pulumi backend (when none is logged in) and the dev stack selected.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
say() { echo "setup: $*"; }
die() { echo "setup: $*" >&2; exit 1; }
step() { # <label> <command…>
    local label="$1" t=$SECONDS; shift
    say "$label"
    "$@"
    say "$label: $((SECONDS - t)) s"
}

# Tool → Debian package. The cloud needs docker and ssh; the tests the rest (varnishtest, dig,
# network namespaces, hitch, the status page's browser, wrk for the benchmark).
PACKAGES="dockerd:docker.io debootstrap:debootstrap varnishd:varnish dnsmasq:dnsmasq-base dig:dnsutils ssh:openssh-client
  busybox:busybox ip:iproute2 openssl:openssl hitch:hitch /usr/bin/chromium:chromium wrk:wrk git:git curl:curl"
packages() {
    local need=() pair
    for pair in $PACKAGES; do command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}"); done
    [ "${#need[@]}" -eq 0 ] && { say "  Debian packages: all present"; return; }
    local line="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${need[*]}"
    [ "$(id -u)" -eq 0 ] || die "missing: ${need[*]}. As root, run: $line"
    say "  installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

node_packages() {
    command -v node >/dev/null || die "Node.js 18 or newer is needed (https://nodejs.org, or apt-get install nodejs npm)"
    # npm ci is skipped when node_modules was installed from this very package-lock.json.
    local want; want="$(sha256sum package-lock.json | cut -c1-16)"
    if [ "$(cat node_modules/.matrix-lock 2>/dev/null)" = "$want" ]; then
        say "  node_modules matches package-lock.json"
    else
        npm ci --no-audit --no-fund --loglevel=error
        echo "$want" > node_modules/.matrix-lock
    fi
}

pulumi_toolchain() {
    local third="${MATRIX_THIRD_PARTY:-$root/../shared/third_party}"
    if [ -f "$third/SHA256SUMS" ]; then
        bash scripts/install-pulumi.sh       # offline: the genuine CLI and plugins, built once and cached
    elif command -v pulumi >/dev/null; then
        say "  pulumi $(pulumi version) found; it downloads the docker and command plugins on first use"
    else
        die "Pulumi is not installed: https://www.pulumi.com/docs/install/ (machines without internet: see README, Offline machines)"
    fi
}

backend_and_stack() {
    export PULUMI_SKIP_UPDATE_CHECK=true
    if ! pulumi whoami >/dev/null 2>&1; then pulumi login --local >/dev/null; say "  logged in to the local backend (~/.pulumi)"; fi
    # The dev stack's passphrase is not a secret: it guards only the lab's throwaway keys.
    PULUMI_CONFIG_PASSPHRASE=matrix-dev pulumi stack select --create dev >/dev/null
    say "  stack dev selected on $(pulumi whoami --verbose 2>/dev/null | sed -n 's/^Backend URL: //p')"
}

t0=$SECONDS
step "1/7 Debian packages" packages
[ "$(id -u)" -eq 0 ] || say "not root: the Docker engine must already run (scripts/start-dockerd.sh as root)"
step "2/7 Docker engine" bash scripts/start-dockerd.sh
step "3/7 base image" bash scripts/bootstrap-base-image.sh
step "4/7 npm packages" node_packages
step "5/7 Pulumi toolchain" pulumi_toolchain
step "6/7 the cloud's binaries" bash scripts/build-cadvisor.sh
step "7/7 backend and dev stack" backend_and_stack
say "ready in $((SECONDS - t0)) s. Next: PULUMI_CONFIG_PASSPHRASE=matrix-dev pulumi up --stack dev --yes"
