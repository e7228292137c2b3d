#!/usr/bin/env bash
# Install the Debian 12 system packages the tvirt real-component test bed needs,
# and create the users/groups libvirtd expects when libvirt-daemon-system (and
# systemd) are absent. Idempotent: a second run is a fast no-op.
#
# Usage: bash scripts/install-system.sh [app|all|bench]   (as root; default all)
#   app: only what the app needs to build libvirt-python and run
#   all: also the daemons, guest tools and disk tools the real tests use
#   bench: all, plus virt-manager and Xvfb, the benchmarks' peer
set -euo pipefail

log() { printf 'install-system: %s\n' "$*"; }
die() { printf 'install-system: ERROR: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root"

MODE=${1:-all}
[[ $MODE == app || $MODE == all || $MODE == bench ]] \
    || die "unknown mode '$MODE' (use app, all or bench)"

APP_PACKAGES=(libvirt-dev pkg-config gcc python3-dev python3-venv openssh-client)

PACKAGES=(
    # libvirt daemon, qemu driver, gluster storage backend, virsh
    libvirt-daemon
    libvirt-daemon-driver-qemu
    libvirt-daemon-driver-storage-gluster
    libvirt-clients
    # building libvirt-python from source (it has no wheels)
    libvirt-dev
    pkg-config
    gcc
    python3-dev
    python3-venv
    # guests (TCG) and disk images
    qemu-system-x86
    qemu-utils
    # libvirt virtual networks: firewall rules and DHCP (libvirtd must start after these)
    iptables
    dnsmasq-base
    # sfdisk, for the partitioned-disk wipe tests
    fdisk
    # qemu+ssh transport; libvirt runs nc on the far end for URIs with socket= or
    # proxy=netcat (and when virt-ssh-helper is missing there)
    openssh-server
    openssh-client
    netcat-openbsd
    # gluster volume (glusterd, and the gluster command the tests and tvirt run)
    glusterfs-server
    glusterfs-cli
    # tiny guest build (scripts/build-guest.sh)
    busybox-static
    cpio
    gzip
    dpkg-dev
    # terminal-driving tests (tmux; script from bsdutils), brick/disk preparation:
    # losetup, mount and swapon (mount), mkfs.ext4 (e2fsprogs), dmsetup, lsblk,
    # wipefs and blkdiscard (util-linux)
    tmux
    bsdutils
    lvm2
    dmsetup
    xfsprogs
    e2fsprogs
    mount
    util-linux
    # pgrep/pkill-by-pid helpers and ss used by scripts/testbed.sh; ip, bridges and network
    # namespaces (iproute2), nsenter, unshare and losetup (util-linux) used by scripts/lab.sh
    procps
    iproute2
)

[[ $MODE == app ]] && PACKAGES=("${APP_PACKAGES[@]}")
# virt-manager pulls in GTK; only the benchmarks need it, so the tests do not install it.
[[ $MODE == bench ]] && PACKAGES+=(virt-manager xvfb)

log "step 1/3: checking ${#PACKAGES[@]} packages with dpkg-query"
missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    if [[ $status != installed ]]; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]} == 0)); then
    log "step 2/3: all packages already installed, skipping apt"
else
    log "step 2/3: missing: ${missing[*]}"
    # apt-get update only when the lists are missing or older than an hour.
    lists=/var/lib/apt/lists
    fresh=$(find "$lists" -maxdepth 1 -name '*_Packages*' -mmin -60 -print -quit 2>/dev/null || true)
    if [[ -z $fresh ]]; then
        log "step 2/3: apt lists missing or older than 1 h: apt-get update"
        apt-get update -q
    else
        log "step 2/3: apt lists are fresh, skipping apt-get update"
    fi
    log "step 2/3: apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

log "step 3/3: users and groups for libvirtd"
if ! getent group kvm >/dev/null; then
    groupadd --system kvm
    log "  created group kvm"
else
    log "  group kvm exists"
fi
if ! getent group libvirt-qemu >/dev/null; then
    groupadd --system libvirt-qemu
    log "  created group libvirt-qemu"
else
    log "  group libvirt-qemu exists"
fi
if ! getent passwd libvirt-qemu >/dev/null; then
    useradd --system --gid libvirt-qemu --groups kvm \
        --home-dir /var/lib/libvirt --no-create-home \
        --shell /usr/sbin/nologin libvirt-qemu
    log "  created user libvirt-qemu"
else
    log "  user libvirt-qemu exists"
fi
if ! id -nG libvirt-qemu | tr ' ' '\n' | grep -qx kvm; then
    usermod -a -G kvm libvirt-qemu
    log "  added libvirt-qemu to group kvm"
fi

log "done"
