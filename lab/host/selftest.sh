#!/usr/bin/env bash
# Smoke test of the lab host image (lab/host): build it, run one lab host exactly as the
# Pulumi lab component does, and drive its inner Docker engine over SSH.
# Usage: bash lab/host/selftest.sh      (env: BASE_IMAGE, SELFTEST_SSH_PORT)
# Needs a local Docker engine and the base image (scripts/bootstrap-base-image.sh).
# Removes every container, volume and network it creates, also on failure.
set -euo pipefail

# Capabilities for a lab host: every capability except SYS_RESOURCE (missing from the
# bounding set of this kind of machine, which is why --privileged fails) and except
# BPF, PERFMON, CHECKPOINT_RESTORE (Docker 20.10 rejects those names).
CAPS=(AUDIT_CONTROL AUDIT_READ AUDIT_WRITE BLOCK_SUSPEND CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID IPC_LOCK IPC_OWNER KILL LEASE LINUX_IMMUTABLE MAC_ADMIN MAC_OVERRIDE MKNOD NET_ADMIN NET_BIND_SERVICE NET_BROADCAST NET_RAW SETFCAP SETGID SETPCAP SETUID SYS_ADMIN SYS_BOOT SYS_CHROOT SYS_MODULE SYS_NICE SYS_PACCT SYS_PTRACE SYS_RAWIO SYS_TIME SYS_TTY_CONFIG SYSLOG WAKE_ALARM)

BASE_IMAGE="${BASE_IMAGE:-debian:bookworm-slim}"
IMAGE=matrix-lab-host:selftest
NET=matrix-selftest
SUBNET=10.99.0.0/24
GATEWAY=10.99.0.254
HOST_IP=10.99.0.1
NAME=matrix-selftest-host
VOLUME=matrix-selftest-host-docker
APP_PORT=18080
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d /tmp/matrix-lab-selftest.XXXXXX)"

cleanup() {
  local rc=$?
  if [ "$rc" != 0 ] && docker container inspect "$NAME" >/dev/null 2>&1; then
    echo "--- docker logs $NAME (last 30 lines)" >&2
    docker logs --tail 30 "$NAME" >&2 2>&1 || true
  fi
  docker rm -f "$NAME" >/dev/null 2>&1 || true
  docker volume rm "$VOLUME" >/dev/null 2>&1 || true
  docker network rm "$NET" >/dev/null 2>&1 || true
  rm -rf "$tmp"
  [ "$rc" = 0 ] && echo "lab host selftest: OK" || echo "lab host selftest: FAILED" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t0=$SECONDS
step_start=$SECONDS
step() { # step NAME: print the time the previous step took, start timing this one
  [ -n "${step_name:-}" ] && printf '    (%s: %ss)\n' "$step_name" "$((SECONDS - step_start))"
  step_name="$1"; step_start=$SECONDS
  echo "==> $1"
}
fail() { echo "FAIL: $*" >&2; exit 1; }

step "build $IMAGE (BASE_IMAGE=$BASE_IMAGE)"
docker build -q --build-arg BASE_IMAGE="$BASE_IMAGE" -t "$IMAGE" "$here" >/dev/null

step "network $NET ($SUBNET, gateway $GATEWAY)"
docker rm -f "$NAME" >/dev/null 2>&1 || true
docker network rm "$NET" >/dev/null 2>&1 || true
docker volume rm "$VOLUME" >/dev/null 2>&1 || true
docker network create --driver bridge --subnet "$SUBNET" --gateway "$GATEWAY" "$NET" >/dev/null

step "run lab host $NAME at $HOST_IP"
ssh-keygen -q -t ed25519 -N '' -C matrix-selftest -f "$tmp/key"
cap_args=()
for c in "${CAPS[@]}"; do cap_args+=(--cap-add "$c"); done
docker volume create "$VOLUME" >/dev/null
docker run -d --name "$NAME" --hostname "$NAME" \
  "${cap_args[@]}" \
  --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
  --device-cgroup-rule 'a *:* rwm' --cgroupns private \
  --tmpfs /run \
  -v "$VOLUME:/var/lib/docker" \
  --network "$NET" --ip "$HOST_IP" \
  -p "127.0.0.1:${SELFTEST_SSH_PORT:-}:22" \
  -e AUTHORIZED_KEY="$(cat "$tmp/key.pub")" \
  "$IMAGE" >/dev/null
set_ssh() { # the published port (ephemeral by default) changes when the container restarts
  port="$(docker port "$NAME" 22/tcp | head -n1)"; port="${port##*:}"
  echo "    ssh port 127.0.0.1:$port"
  SSH=(ssh -i "$tmp/key" -p "$port" -o BatchMode=yes -o StrictHostKeyChecking=no
       -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5 root@127.0.0.1)
}
set_ssh
wait_ssh() {
  for _ in $(seq 1 60); do
    "${SSH[@]}" true 2>/dev/null && return 0
    docker container inspect -f '{{.State.Running}}' "$NAME" 2>/dev/null | grep -q true \
      || fail "lab host container exited"
    sleep 1
  done
  fail "no SSH on 127.0.0.1:$port within 60 s"
}
wait_docker() { # the init script returns before dockerd answers
  "${SSH[@]}" 'for i in $(seq 1 30); do docker info >/dev/null 2>&1 && exit 0; sleep 1; done; tail -20 /var/log/docker.log; exit 1' \
    || fail "inner dockerd does not answer"
}
http_check() { # http_check URL EXPECTED
  local body
  body="$(curl -fsS --max-time 5 --retry 10 --retry-delay 1 --retry-connrefused "$1")" || fail "GET $1"
  [ "$body" = "$2" ] || fail "GET $1 answered '$body', expected '$2'"
}

step "ssh + docker info"
wait_ssh
"${SSH[@]}" docker info --format "'{{.ServerVersion}} driver={{.Driver}} cgroup={{.CgroupVersion}}/{{.CgroupDriver}}'"
driver="$("${SSH[@]}" docker info --format "'{{.Driver}}'")"
[ "$driver" = overlay2 ] || fail "inner storage driver is '$driver', expected overlay2"
"${SSH[@]}" test ! -e /etc/docker/daemon.json || fail "image ships /etc/docker/daemon.json"

step "daemon.json + service docker restart"
"${SSH[@]}" 'mkdir -p /etc/docker && printf "%s\n" "{\"insecure-registries\":[\"x.test:5000\"],\"live-restore\":true}" > /etc/docker/daemon.json && service docker restart'
wait_docker
"${SSH[@]}" docker info --format "'{{json .RegistryConfig.IndexConfigs}}'" | grep -q '"x.test:5000"' \
  || fail "insecure registry x.test:5000 not in docker info after restart"
"${SSH[@]}" docker info --format "'{{.LiveRestoreEnabled}}'" | grep -qx true || fail "live-restore not enabled"

step "docker save $BASE_IMAGE | ssh docker load"
docker save "$BASE_IMAGE" | "${SSH[@]}" docker load -q

step "inner container publishing :$APP_PORT on $HOST_IP"
# perl-base is essential in Debian, so the base image can serve HTTP without extra packages.
"${SSH[@]}" docker run -d --name web --restart unless-stopped -p "$APP_PORT:8080" "$BASE_IMAGE" \
  perl -MIO::Socket::INET -e "'\$s=IO::Socket::INET->new(LocalPort=>8080,Listen=>5,ReuseAddr=>1) or die; while(\$c=\$s->accept){ while(<\$c>){ last if /^\r?\$/ } print \$c \"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\ninner ok\n\"; close \$c }'" >/dev/null
http_check "http://$HOST_IP:$APP_PORT/" "inner ok"

step "live-restore: service docker restart keeps the inner container"
started="$("${SSH[@]}" docker inspect -f "'{{.State.StartedAt}}'" web)"
"${SSH[@]}" service docker restart >/dev/null
wait_docker
[ "$("${SSH[@]}" docker inspect -f "'{{.State.StartedAt}}'" web)" = "$started" ] \
  || fail "inner container was restarted by 'service docker restart' (live-restore not effective)"
http_check "http://$HOST_IP:$APP_PORT/" "inner ok"

step "docker restart $NAME (entrypoint idempotent, inner restart policy)"
docker restart -t 5 "$NAME" >/dev/null
set_ssh
wait_ssh
wait_docker
http_check "http://$HOST_IP:$APP_PORT/" "inner ok"

step "done"
echo "    total ${SECONDS}s"
