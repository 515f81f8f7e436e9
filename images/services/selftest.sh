#!/usr/bin/env bash
# Smoke test of the manager services image (images/services): registry (plain and with
# htpasswd auth), varnish (serve + vcl.load/vcl.use via varnishadm), dnsmasq (query +
# SIGHUP reload of addn-hosts). Only loopback and the containers it creates are contacted.
# Usage: bash images/services/selftest.sh      (env: BASE_IMAGE)
# Removes every container, network and pushed tag it creates, also on failure.
set -euo pipefail

BASE_IMAGE="${BASE_IMAGE:-debian:bookworm-slim}"
IMAGE=matrix-services:selftest
P=matrix-services-selftest
NET=$P
SUBNET=10.98.0.0/24
GATEWAY=10.98.0.254
DNS_IP=10.98.0.53
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d /tmp/matrix-services-selftest.XXXXXX)"
chmod 0755 "$tmp"   # bind-mounted below; varnish and dnsmasq drop root
pushed=()

cleanup() {
  local rc=$?
  for c in registry registry-auth varnish dns; do
    if [ "$rc" != 0 ] && docker container inspect "$P-$c" >/dev/null 2>&1; then
      echo "--- docker logs $P-$c (last 15 lines)" >&2
      docker logs --tail 15 "$P-$c" >&2 2>&1 || true
    fi
    docker rm -f "$P-$c" >/dev/null 2>&1 || true
  done
  docker network rm "$NET" >/dev/null 2>&1 || true
  for t in "${pushed[@]}"; do docker rmi "$t" >/dev/null 2>&1 || true; done
  rm -rf "$tmp"
  [ "$rc" = 0 ] && echo "services selftest: OK" || echo "services selftest: FAILED" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step_start=$SECONDS
step() {
  [ -n "${step_name:-}" ] && printf '    (%s: %ss)\n' "$step_name" "$((SECONDS - step_start))"
  step_name="$1"; step_start=$SECONDS
  echo "==> $1"
}
fail() { echo "FAIL: $*" >&2; exit 1; }
port_of() { local p; p="$(docker port "$1" "$2" | head -n1)"; echo "${p##*:}"; }
wait_http() { # wait_http URL: until anything answers HTTP (any status)
  for _ in $(seq 1 30); do
    curl -s -o /dev/null --max-time 2 "$1" && return 0
    sleep 0.5
  done
  fail "nothing answers $1"
}

step "build $IMAGE (BASE_IMAGE=$BASE_IMAGE)"
docker build -q --build-arg BASE_IMAGE="$BASE_IMAGE" -t "$IMAGE" "$here" >/dev/null

# A tiny image to push: one file, imported from a tarball (no base image needed).
mkdir -p "$tmp/rootfs" && echo matrix-selftest > "$tmp/rootfs/hello"
tiny() { tar -C "$tmp/rootfs" -c . | docker import - "$1" >/dev/null; pushed+=("$1"); }

step "registry without auth: push, pull back"
mkdir -p "$tmp/registry"
cat > "$tmp/registry/config.yml" <<'EOF'
version: 0.1
storage:
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
EOF
docker run -d --name "$P-registry" -v "$tmp/registry:/etc/matrix/registry:ro" \
  -p 127.0.0.1::5000 "$IMAGE" matrix-registry >/dev/null
port="$(port_of "$P-registry" 5000/tcp)"
wait_http "http://127.0.0.1:$port/v2/"
ref="127.0.0.1:$port/selftest/tiny:1"
tiny "$ref"
docker push -q "$ref" >/dev/null
docker rmi "$ref" >/dev/null
docker pull -q "$ref" >/dev/null
curl -fsS "http://127.0.0.1:$port/v2/_catalog" | grep -q '"selftest/tiny"' || fail "catalog lacks selftest/tiny"

step "registry with htpasswd auth: 401, docker login, push"
mkdir -p "$tmp/registry-auth"
docker run --rm "$IMAGE" htpasswd -Bbn matrix s3cret > "$tmp/registry-auth/htpasswd"
cat > "$tmp/registry-auth/config.yml" <<'EOF'
version: 0.1
storage:
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
auth:
  htpasswd:
    realm: matrix-registry
    path: /etc/matrix/registry/htpasswd
EOF
docker run -d --name "$P-registry-auth" -v "$tmp/registry-auth:/etc/matrix/registry:ro" \
  -p 127.0.0.1::5000 "$IMAGE" matrix-registry >/dev/null
port="$(port_of "$P-registry-auth" 5000/tcp)"
wait_http "http://127.0.0.1:$port/v2/"
code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/")"
[ "$code" = 401 ] || fail "registry with auth answered $code without credentials, expected 401"
ref="127.0.0.1:$port/selftest/tiny:2"
tiny "$ref"
export DOCKER_CONFIG="$tmp/docker-config"   # keep the user's credentials untouched
mkdir -p "$DOCKER_CONFIG"
if docker push -q "$ref" >/dev/null 2>&1; then fail "push without login succeeded"; fi
echo s3cret | docker login -u matrix --password-stdin "127.0.0.1:$port" >/dev/null 2>&1 || fail "docker login"
docker push -q "$ref" >/dev/null
docker logout "127.0.0.1:$port" >/dev/null
unset DOCKER_CONFIG
curl -fsS -u matrix:s3cret "http://127.0.0.1:$port/v2/selftest/tiny/tags/list" | grep -q '"2"' \
  || fail "tag 2 not listed"

step "varnish: serve, varnishadm vcl.load + vcl.use"
mkdir -p "$tmp/router"
vcl() { # vcl NAME: a VCL answering "router NAME" without any backend
  cat <<EOF
vcl 4.1;
backend default none;
sub vcl_recv { return (synth(200, "$1")); }
sub vcl_synth {
  set resp.http.Content-Type = "text/plain";
  set resp.body = "router " + resp.reason;
  return (deliver);
}
EOF
}
vcl v1 > "$tmp/router/default.vcl"
chmod 0644 "$tmp/router/default.vcl"
docker run -d --name "$P-varnish" -v "$tmp/router:/etc/matrix/router:ro" \
  -p 127.0.0.1::80 "$IMAGE" matrix-varnish >/dev/null
port="$(port_of "$P-varnish" 80/tcp)"
wait_http "http://127.0.0.1:$port/"
[ "$(curl -fsS "http://127.0.0.1:$port/")" = "router v1" ] || fail "varnish did not serve v1"
docker exec "$P-varnish" varnishadm vcl.list | grep -qE '^active .* boot$' || fail "vcl.list"
vcl v2 > "$tmp/router/v2.vcl"
chmod 0644 "$tmp/router/v2.vcl"
docker exec "$P-varnish" varnishadm vcl.load v2 /etc/matrix/router/v2.vcl >/dev/null
docker exec "$P-varnish" varnishadm vcl.use v2 >/dev/null
[ "$(curl -fsS "http://127.0.0.1:$port/")" = "router v2" ] || fail "varnish did not switch to v2"
if docker exec "$P-varnish" varnishadm vcl.load bad /etc/matrix/router/missing.vcl >/dev/null 2>&1; then
  fail "varnishadm vcl.load of a missing file exited 0"
fi

step "dnsmasq: query, change addn-hosts, SIGHUP, query again"
docker network create --subnet "$SUBNET" --gateway "$GATEWAY" "$NET" >/dev/null
mkdir -p "$tmp/dns"
cat > "$tmp/dns/dnsmasq.conf" <<EOF
no-resolv
addn-hosts=/etc/matrix/dns/hosts
listen-address=$DNS_IP
EOF
echo "10.98.0.10 app.matrix.test" > "$tmp/dns/hosts"
chmod 0644 "$tmp/dns/dnsmasq.conf" "$tmp/dns/hosts"
docker run -d --name "$P-dns" -v "$tmp/dns:/etc/matrix/dns:ro" \
  --network "$NET" --ip "$DNS_IP" -p 127.0.0.1::53/udp "$IMAGE" matrix-dns >/dev/null
port="$(port_of "$P-dns" 53/udp)"
lookup() { dig @127.0.0.1 -p "$port" +short +time=1 +tries=1 "$1" A 2>/dev/null || true; }
answer=""
for _ in $(seq 1 20); do answer="$(lookup app.matrix.test)"; [ -n "$answer" ] && break; sleep 0.5; done
[ "$answer" = 10.98.0.10 ] || fail "app.matrix.test answered '$answer', expected 10.98.0.10"
printf '10.98.0.11 app.matrix.test\n10.98.0.12 new.matrix.test\n' > "$tmp/dns/hosts.new"
chmod 0644 "$tmp/dns/hosts.new"
mv "$tmp/dns/hosts.new" "$tmp/dns/hosts"
docker kill -s HUP "$P-dns" >/dev/null
sleep 0.5
[ "$(lookup app.matrix.test)" = 10.98.0.11 ] || fail "app.matrix.test not updated after SIGHUP"
[ "$(lookup new.matrix.test)" = 10.98.0.12 ] || fail "new.matrix.test not served after SIGHUP"
[ "$(docker inspect -f '{{.RestartCount}} {{.State.Running}}' "$P-dns")" = "0 true" ] \
  || fail "dnsmasq container restarted or stopped"

step "done"
echo "    total ${SECONDS}s"
