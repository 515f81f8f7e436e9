#!/bin/bash
# Lab host entrypoint: make cgroups writable, prepare sshd, start the inner Docker
# engine with Debian's init script (so `service docker restart` works later over SSH),
# then run sshd in the foreground. Safe to run again when the container restarts.
set -euo pipefail

log() { echo "lab-host: $*"; }
die() { echo "lab-host: ERROR: $*" >&2; exit 1; }

[ -n "${AUTHORIZED_KEY:-}" ] || die "AUTHORIZED_KEY is empty: pass one public key line, e.g. -e AUTHORIZED_KEY=\"\$(cat ~/.ssh/id_ed25519.pub)\""

setup_cgroups() {
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    # cgroup v2 (as in moby's hack/dind): make it writable, move our processes into
    # an `init` child so the root may delegate, then enable every controller below it.
    if grep -qE '^[^ ]+ /sys/fs/cgroup cgroup2 ro[, ]' /proc/mounts; then
      mount -o remount,rw /sys/fs/cgroup || die "cannot remount /sys/fs/cgroup read-write (need CAP_SYS_ADMIN, --cgroupns private)"
    fi
    mkdir -p /sys/fs/cgroup/init
    xargs -rn1 < /sys/fs/cgroup/cgroup.procs > /sys/fs/cgroup/init/cgroup.procs 2>/dev/null || :
    sed -e 's/ / +/g' -e 's/^/+/' < /sys/fs/cgroup/cgroup.controllers \
      > /sys/fs/cgroup/cgroup.subtree_control || die "cannot enable cgroup v2 controllers"
    return
  fi
  # cgroup v1: Docker mounts each hierarchy read-only; mount each one again read-write.
  # /proc/mounts fields: source dir fstype options ...
  local dir fstype opts name
  while read -r _ dir fstype opts _; do
    [ "$fstype" = cgroup ] || continue
    case ",$opts," in *,ro,*) ;; *) continue ;; esac
    # Keep the controller/name options (e.g. "cpu", "cpu,cpuacct", "name=systemd").
    name=$(echo "$opts" | tr ',' '\n' \
      | grep -vxE 'ro|rw|nosuid|nodev|noexec|relatime|noatime|strictatime|clone_children|xattr|nsdelegate|release_agent=.*' \
      | paste -sd, -)
    case "$name" in name=*) name="none,$name" ;; esac
    umount "$dir" || die "cannot unmount $dir"
    mount -t cgroup -o "$name" cgroup "$dir" || die "cannot mount cgroup $name at $dir"
  done < <(cat /proc/mounts)
}

setup_cgroups

# Docker makes /proc/sys read-only in unprivileged containers; the inner dockerd sets
# sysctls (e.g. net.ipv4.ip_forward) of its own network namespace.
if grep -qE '^[^ ]+ /proc/sys [^ ]+ ro[, ]' /proc/mounts; then
  mount -o remount,rw /proc/sys 2>/dev/null || mount -o remount,rw,bind /proc/sys /proc/sys || log "warning: /proc/sys stays read-only"
fi

# overlay2 cannot sit on overlayfs: /var/lib/docker must be a volume (or bind mount).
if [ "$(stat -f -c %T /var/lib/docker 2>/dev/null)" = overlayfs ]; then
  die "/var/lib/docker is on overlayfs; mount a volume there (-v <volume>:/var/lib/docker)"
fi

# sshd
mkdir -p /run/sshd
chmod 0755 /run/sshd
if [ -n "${SSH_HOST_KEY:-}" ]; then
  # The program made this host's key and pins it: sshd offers that key and no other.
  rm -f /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub
  (umask 077; printf '%s\n' "$SSH_HOST_KEY" > /etc/ssh/ssh_host_ed25519_key)
  ssh-keygen -y -f /etc/ssh/ssh_host_ed25519_key > /etc/ssh/ssh_host_ed25519_key.pub
  echo "HostKey /etc/ssh/ssh_host_ed25519_key" > /etc/ssh/sshd_config.d/host-key.conf
elif ! ls /etc/ssh/ssh_host_*_key >/dev/null 2>&1; then
  ssh-keygen -A
fi
unset SSH_HOST_KEY
install -d -m 0700 /root/.ssh
printf '%s\n' "$AUTHORIZED_KEY" > /root/.ssh/authorized_keys
chmod 0600 /root/.ssh/authorized_keys

# Inner Docker engine, via Debian's init script (logs to /var/log/docker.log).
# No dockerd runs yet: pid files are stale if /run is not a fresh tmpfs.
rm -f /var/run/docker.pid /var/run/docker-ssd.pid
service docker start || { tail -n 30 /var/log/docker.log >&2 || true; die "service docker start failed"; }
for _ in $(seq 1 30); do
  if docker info >/dev/null 2>&1; then break; fi
  sleep 1
done
if ! docker info >/dev/null 2>&1; then
  tail -n 30 /var/log/docker.log >&2 || true
  die "inner dockerd did not answer 'docker info' within 30 s (log above, /var/log/docker.log)"
fi
log "docker $(docker info --format '{{.ServerVersion}} storage={{.Driver}} cgroup={{.CgroupVersion}}') ready"

# A node's firewall rules (what its app containers may reach) live in this network namespace,
# which a restart makes anew: apply them again before anything else runs.
if [ -f /var/lib/matrix/firewall.sh ]; then
  sh /var/lib/matrix/firewall.sh apply || die "the node firewall (/var/lib/matrix/firewall.sh) failed to apply"
fi

exec /usr/sbin/sshd -D -e
