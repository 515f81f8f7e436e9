#!/usr/bin/env bash
# Make the base image available to the local Docker engine.
# Pull it if a registry is reachable; otherwise build it offline from Debian's
# mirror with debootstrap and `docker import` it under the same tag, so every
# Dockerfile in this repo (FROM ${BASE_IMAGE}) builds without Docker Hub.
set -euo pipefail
tag="${1:-${MATRIX_BASE_IMAGE:-debian:bookworm-slim}}"
suite="${MATRIX_BASE_SUITE:-bookworm}"
if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "base image $tag: present"; exit 0
fi
if timeout 60 docker pull "$tag" >/dev/null 2>&1; then
  echo "base image $tag: pulled"; exit 0
fi
command -v debootstrap >/dev/null || { echo "cannot pull $tag and debootstrap is missing: apt-get install -y debootstrap" >&2; exit 1; }
root=$(mktemp -d /tmp/matrix-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "base image $tag: bootstrapping Debian $suite offline (debootstrap)"
debootstrap --variant=minbase "$suite" "$root" >/tmp/matrix-debootstrap.log 2>&1 \
  || { tail -20 /tmp/matrix-debootstrap.log >&2; exit 1; }
# Keep images small, like the official slim image.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import --change 'CMD ["bash"]' - "$tag" >/dev/null
echo "base image $tag: imported"
