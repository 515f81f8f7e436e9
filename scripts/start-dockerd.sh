#!/usr/bin/env bash
# Start a Docker engine if none answers (CI and dev sandboxes have no systemd).
set -euo pipefail
if docker info >/dev/null 2>&1; then exit 0; fi
command -v dockerd >/dev/null || { echo "dockerd not installed: apt-get install -y docker.io" >&2; exit 1; }
nohup dockerd >/var/log/dockerd.log 2>&1 &
for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && exit 0; sleep 1; done
echo "dockerd did not start within 60 s; see /var/log/dockerd.log" >&2
tail -20 /var/log/dockerd.log >&2
exit 1
