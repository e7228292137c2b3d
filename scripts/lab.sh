#!/usr/bin/env bash
# A three-host lab on this one machine, beside the test bed (scripts/testbed.sh).
# Each node is its own network namespace (an address on the lab's bridge) plus its own
# mount and UTS namespaces (hostname nodeN, a tmpfs /run, a private /dev holding only its
# own loop devices), running its own virtlogd, libvirtd (distinct host_uuid), sshd and
# glusterd. A replica-3 Gluster volume spans the nodes.
#
# Usage: bash scripts/lab.sh up|down|status [--nodes N]     (as root; N from 1 to 9, default 3)
#
#   up      idempotent; reuses each node that answers, rebuilds one that does not; cleans
#           the lab's own leftovers of a crashed run first; writes /run/tvirt-lab/env and
#           /run/tvirt-lab/tvirt.toml (a tvirt config listing the nodes' URIs)
#   down    removes everything the lab made, and nothing else
#   status  one line per node per component, UP or DOWN
#
# From the main namespace: virsh -c 'qemu+ssh://root@node1/system?no_tty=1' hostname
# (names in marked /etc/hosts lines, a lab client key, host keys checked through a marked
# block in /root/.ssh/config).
set -euo pipefail

STATE=/run/tvirt-lab                    # holder pids, env file, tvirt config (gone at reboot)
DATA=/var/lib/tvirt-lab                 # node dirs, loop images, ssh keys (bind-mounted into nodes)
SSH_DIR=$DATA/ssh
MARK=tvirt-lab
BRIDGE=tvlab0
NET=${TVIRT_LAB_NET:-10.213.0}          # a /24 of the lab's own; the main namespace gets .1
GLUSTER_VOLUME=labvol
LOOPS_PER_NODE=2
LOOP_SIZE=256M
ROOT_SSH=/root/.ssh
GUEST_DIR=${TVIRT_GUEST_CACHE:-/var/cache/tvirt-testbed/guest}
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Directories of the system that each node gets its own copy of (node dir name:mount point).
NODE_BINDS=(
    run-libvirt:/run/libvirt
    lib-libvirt:/var/lib/libvirt
    cache-libvirt:/var/cache/libvirt
    log-libvirt:/var/log/libvirt
    etc-libvirt:/etc/libvirt
    lib-glusterd:/var/lib/glusterd
    log-glusterfs:/var/log/glusterfs
)

log() { printf 'lab: %s\n' "$*"; }
warn() { printf 'lab: WARNING: %s\n' "$*" >&2; }
die() { printf 'lab: ERROR: %s\n' "$*" >&2; exit 1; }
# Helpers shared with the other test-bed script.
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---------------------------------------------------------------- helpers

node_addr() { printf '%s.%s' "$NET" "$((10 + $1))"; }
node_dir() { printf '%s/node%s' "$DATA" "$1"; }
node_uri() { printf 'qemu+ssh://root@node%s/system?no_tty=1' "$1"; }
node_socket() { printf '%s/run-libvirt/libvirt-sock' "$(node_dir "$1")"; }
node_veth() { printf 'tvlab-n%s' "$1"; }



# holder_pid N: the pid of node N's namespace holder, if it is alive and in netns nodeN.
holder_pid() {
    local pid
    pid=$(read_pid "$STATE/node$1.holder")
    [[ -n $pid && -r /proc/$pid/ns/net ]] || return 1
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == sleep ]] || return 1
    [[ -e /run/netns/node$1 ]] || return 1
    [[ $(stat -L -c %i "/proc/$pid/ns/net") == "$(stat -L -c %i "/run/netns/node$1")" ]] || return 1
    printf '%s\n' "$pid"
}

# in_node N CMD...: run CMD in node N's network, mount and UTS namespaces.
in_node() {
    local n=$1 pid
    shift
    pid=$(holder_pid "$n") || die "node$n has no namespace holder"
    nsenter -t "$pid" -m -u -n -- "$@"
}

# node_pid_of N NAME PIDFILE_IN_NODE: the pid in the node's pid file, if that process is NAME.
node_pid_of() {
    local n=$1 name=$2 file=$3 hpid pid
    hpid=$(holder_pid "$n") || return 1
    pid=$(read_pid "/proc/$hpid/root$file")
    [[ -n $pid && $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]] || return 1
    printf '%s\n' "$pid"
}

libvirt_answers() {
    [[ $(timeout 10 virsh -q -c "qemu:///system?socket=$(node_socket "$1")" hostname 2>/dev/null) == "node$1" ]]
}
ssh_virsh_answers() {
    [[ $(timeout 20 virsh -q -c "$(node_uri "$1")" hostname 2>/dev/null) == "node$1" ]]
}
gluster_in() {
    local n=$1
    shift
    in_node "$n" timeout 60 gluster --mode=script "$@"
}
glusterd_answers() { holder_pid "$1" >/dev/null && gluster_in "$1" pool list >/dev/null 2>&1; }

# file_has_mark FILE: FILE exists and carries the lab's mark.
file_has_mark() { [[ -f $1 ]] && grep -q -- "# $MARK" "$1"; }

# known_nodes: the node numbers the lab made (recorded, or found by their marked files).
known_nodes() {
    local f n
    {
        for f in "$STATE/"node*.holder "$DATA/"node*; do
            [[ -e $f ]] || continue
            n=$(basename "$f")
            n=${n#node}
            n=${n%%[!0-9]*}
            [[ -n $n ]] && printf '%s\n' "$n"
        done
        for f in /etc/netns/node*/hosts; do
            file_has_mark "$f" || continue
            n=${f#/etc/netns/node}
            printf '%s\n' "${n%%/*}"
        done
    } | sort -un
}

# replace_marked_lines FILE LINES: drop FILE's lines ending in "# MARK", append LINES.
replace_marked_lines() {
    local file=$1 lines=$2 tmp
    [[ -f $file || -n $lines ]] || return 0
    touch "$file"
    tmp=$(mktemp "$file.XXXXXX")
    grep -v -- " # $MARK\$" "$file" >"$tmp" || true
    if [[ -n $lines ]]; then printf '%s\n' "$lines" >>"$tmp"; fi
    chmod --reference="$file" "$tmp"
    if cmp -s "$tmp" "$file"; then rm -f "$tmp"; else mv -f "$tmp" "$file"; fi
}

ssh_config_block() {
    local names=$1
    cat <<EOF
# >>> $MARK >>> (managed by tvirt scripts/lab.sh; removed by 'lab.sh down')
Host $names
    IdentityFile $SSH_DIR/id_ed25519
    UserKnownHostsFile $SSH_DIR/known_hosts
    StrictHostKeyChecking yes
# <<< $MARK <<<
EOF
}

remove_ssh_config_block() {
    local file=$ROOT_SSH/config tmp
    [[ -f $file ]] && grep -qF -- "# >>> $MARK >>>" "$file" || return 0
    tmp=$(mktemp "$file.XXXXXX")
    awk -v start="# >>> $MARK >>>" -v end="# <<< $MARK <<<" '
        index($0, start) == 1 { skip = 1; next }
        skip && index($0, end) == 1 { skip = 0; next }
        !skip { print }' "$file" >"$tmp"
    chmod --reference="$file" "$tmp"
    mv -f "$tmp" "$file"
}

# stop_netns_processes N: SIGTERM every process in netns nodeN (the holder, the daemons, the
# guests), wait up to 15 s, then SIGKILL what is left.
stop_netns_processes() {
    local n=$1 i p pids seen=() left=()
    [[ -e /run/netns/node$n ]] || return 0
    for ((i = 0; i < 150; i++)); do
        mapfile -t pids < <(ip netns pids "node$n" 2>/dev/null)
        seen+=("${pids[@]}")
        # 'ip netns pids' no longer lists a process that is exiting: wait for all seen.
        left=()
        for p in "${seen[@]}"; do
            if [[ -d /proc/$p ]]; then left+=("$p"); fi
        done
        ((${#left[@]} > 0)) || return 0
        if ((i == 0)); then kill -TERM "${left[@]}" 2>/dev/null || true; fi
        sleep 0.1
    done
    warn "node$n: process(es) ignored SIGTERM, sending SIGKILL: ${left[*]}"
    kill -KILL "${left[@]}" 2>/dev/null || true
}

# node_loops N: the loop devices backed by node N's images.
node_loops() {
    local img
    for img in "$DATA/loop/node$1-"*.img; do
        [[ -e $img ]] || continue
        losetup -n -O NAME -j "$img"
    done
}

# teardown_node N: remove node N's processes, namespaces, veth and loop devices (its files
# stay; the caller decides).
teardown_node() {
    local n=$1 dev
    stop_netns_processes "$n"
    if [[ -e /run/netns/node$n ]]; then
        ip netns del "node$n" || warn "ip netns del node$n failed"
    fi
    if ip link show "$(node_veth "$n")" >/dev/null 2>&1; then
        ip link del "$(node_veth "$n")" 2>/dev/null || true  # gone with its peer
    fi
    while read -r dev; do
        [[ -n $dev ]] || continue
        losetup -d "$dev" || warn "losetup -d $dev failed"
    done < <(node_loops "$n")
    rm -f "$STATE/node$n.holder" "$STATE/node$n.ready"
}

# ---------------------------------------------------------------- up

up_preflight() {
    [[ $(id -u) -eq 0 ]] || die "must run as root"
    local tool
    for tool in ip nsenter unshare losetup mknod virsh libvirtd virtlogd /usr/sbin/sshd ssh \
                ssh-keygen glusterd gluster timeout; do
        command -v "$tool" >/dev/null || die "$tool missing: run scripts/install-system.sh"
    done
    [[ $NET =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "TVIRT_LAB_NET must be three octets like 10.213.0, not $NET"
    mkdir -p "$STATE" "$DATA" "$SSH_DIR" "$DATA/loop"
    chmod 0700 "$STATE" "$SSH_DIR"
    chmod 0755 "$DATA"
}

# The range must be the lab's own: no address in it on any interface but the bridge, and no
# route to it but the bridge's (else traffic to a node could leave the machine).
check_range_free() {
    local line
    line=$(ip -4 -o addr show | awk -v net="$NET." -v br="$BRIDGE" \
        '$2 != br && index($4, net) == 1 { print $2 " " $4 }')
    [[ -z $line ]] || die "$NET.0/24 is in use on this machine ($line); set TVIRT_LAB_NET"
    line=$(ip -4 route show | awk -v br="$BRIDGE" '$0 !~ ("dev " br " ") && $1 != "default"')
    if [[ -n $line ]]; then
        local r
        r=$(ip -4 route get "$NET.2" 2>/dev/null || true)
        if [[ $r != *"dev $BRIDGE "* && $r != *" via "* ]]; then
            die "a route already reaches $NET.0/24 ($r); set TVIRT_LAB_NET"
        fi
    fi
}

up_bridge() {
    if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
        check_range_free
        ip link add "$BRIDGE" type bridge
        log "bridge $BRIDGE: created"
    fi
    if ! ip -4 -o addr show dev "$BRIDGE" | grep -q " $NET.1/24 "; then
        ip addr add "$NET.1/24" dev "$BRIDGE"
    fi
    ip link set "$BRIDGE" up
    log "bridge $BRIDGE: $NET.1/24"
}

hosts_lines() {
    local nodes=$1 n
    for ((n = 1; n <= nodes; n++)); do
        printf '%s node%s # %s\n' "$(node_addr "$n")" "$n" "$MARK"
    done
}

up_names() {
    local nodes=$1 n owner
    for ((n = 1; n <= nodes; n++)); do
        owner=$(getent hosts "node$n" | awk '{print $1}' || true)
        if [[ -n $owner && $owner != "$(node_addr "$n")" ]] \
            && ! grep -q -- "^$owner node$n # $MARK\$" /etc/hosts; then
            die "node$n already resolves to $owner on this machine"
        fi
    done
    replace_marked_lines /etc/hosts "$(hosts_lines "$nodes")"
    if [[ ! -d /etc/netns ]]; then
        mkdir -p /etc/netns
        touch "$DATA/etc-netns.created"
    fi
    for ((n = 1; n <= nodes; n++)); do
        if [[ -e /etc/netns/node$n ]] && ! file_has_mark "/etc/netns/node$n/hosts"; then
            die "/etc/netns/node$n exists and is not the lab's"
        fi
        mkdir -p "/etc/netns/node$n"
        {
            printf '# %s: hosts of node%s, written by scripts/lab.sh\n' "$MARK" "$n"
            printf '127.0.0.1 localhost\n'
            hosts_lines "$nodes"
        } >"/etc/netns/node$n/hosts"
    done
    log "names: node1..node$nodes in /etc/hosts (marked '# $MARK') and /etc/netns/nodeN/hosts"
}

up_ssh_keys() {
    local nodes=$1 n d
    if [[ ! -s $SSH_DIR/id_ed25519 || ! -s $SSH_DIR/id_ed25519.pub ]]; then
        rm -f "$SSH_DIR/id_ed25519" "$SSH_DIR/id_ed25519.pub"
        ssh-keygen -q -t ed25519 -N '' -C "$MARK" -f "$SSH_DIR/id_ed25519"
    fi
    install -m 0600 "$SSH_DIR/id_ed25519.pub" "$SSH_DIR/authorized_keys"
    : >"$SSH_DIR/known_hosts.new"
    for ((n = 1; n <= nodes; n++)); do
        d=$(node_dir "$n")/ssh
        mkdir -p "$d"
        chmod 0700 "$d"
        if [[ ! -s $d/ssh_host_ed25519_key ]]; then
            rm -f "$d/ssh_host_ed25519_key" "$d/ssh_host_ed25519_key.pub"
            ssh-keygen -q -t ed25519 -N '' -C "node$n" -f "$d/ssh_host_ed25519_key"
        fi
        # The lab made the host key, so it knows it: no trust on first use.
        printf 'node%s,%s %s %s\n' "$n" "$(node_addr "$n")" \
            "$(cut -d' ' -f1,2 "$d/ssh_host_ed25519_key.pub")" "$MARK" >>"$SSH_DIR/known_hosts.new"
    done
    mv -f "$SSH_DIR/known_hosts.new" "$SSH_DIR/known_hosts"
    mkdir -p "$ROOT_SSH"
    chmod 0700 "$ROOT_SSH"
    touch "$ROOT_SSH/config"
    chmod 0600 "$ROOT_SSH/config"
    local names block
    names=$(for ((n = 1; n <= nodes; n++)); do printf 'node%s %s ' "$n" "$(node_addr "$n")"; done)
    block=$(ssh_config_block "${names% }")
    # (grep -F with a multi-line pattern would match any one line, e.g. the test bed's.)
    if [[ $(awk -v start="# >>> $MARK >>>" -v end="# <<< $MARK <<<" '
            index($0, start) == 1 { on = 1 } on { print } on && index($0, end) == 1 { on = 0 }' \
            "$ROOT_SSH/config") != "$block" ]]; then
        remove_ssh_config_block
        if [[ -s $ROOT_SSH/config && $(tail -c1 "$ROOT_SSH/config" | od -An -c | tr -d ' ') != '\n' ]]; then
            printf '\n' >>"$ROOT_SSH/config"
        fi
        printf '%s\n' "$block" >>"$ROOT_SSH/config"
    fi
    log "ssh: client key $SSH_DIR/id_ed25519, host keys in $SSH_DIR/known_hosts, marked block in $ROOT_SSH/config"
}

# node_files N: the node's own directories and libvirt config (kept across 'up's).
node_files() {
    local n=$1 d b uuid
    d=$(node_dir "$n")
    for b in "${NODE_BINDS[@]}"; do mkdir -p "$d/${b%%:*}"; done
    mkdir -p "$d/bricks/$GLUSTER_VOLUME"
    # The system's libvirt config files only: /etc/libvirt/qemu/ holds the main daemon's
    # domains, which must not appear on the nodes.
    if [[ ! -s $d/host_uuid ]]; then cat /proc/sys/kernel/random/uuid >"$d/host_uuid"; fi
    uuid=$(cat "$d/host_uuid")
    find /etc/libvirt -maxdepth 1 -type f -name '*.conf' -exec cp -f -t "$d/etc-libvirt" {} +
    touch "$d/etc-libvirt/libvirtd.conf" "$d/etc-libvirt/qemu.conf"
    sed -i -E '\#^[[:space:]]*host_uuid[[:space:]]*=#d' "$d/etc-libvirt/libvirtd.conf"
    printf '# %s: libvirt refuses to migrate between hosts of one UUID\nhost_uuid = "%s"\n' \
        "$MARK" "$uuid" >>"$d/etc-libvirt/libvirtd.conf"
    sed -i -E '\#^[[:space:]]*(user|group|cgroup_controllers)[[:space:]]*=#d' "$d/etc-libvirt/qemu.conf"
    # Root: /dev/kvm is root-only here. No cgroups: the nodes' daemons would fight over names.
    printf '# %s\nuser = "root"\ngroup = "root"\ncgroup_controllers = [ ]\n' "$MARK" \
        >>"$d/etc-libvirt/qemu.conf"
}

# node_loops_up N: LOOPS_PER_NODE loop devices on the node's images (made in the main
# namespace; their device nodes exist only in this node's /dev).
node_loops_up() {
    local n=$1 k img
    for ((k = 1; k <= LOOPS_PER_NODE; k++)); do
        img=$DATA/loop/node$n-$k.img
        [[ -e $img ]] || truncate -s "$LOOP_SIZE" "$img"
        if [[ -z $(losetup -n -O NAME -j "$img") ]]; then
            losetup -f --show "$img" >/dev/null
        fi
    done
}

# node_dev N: the node's private /dev: a tmpfs with the basics, its own devpts, and only
# this node's loop devices.
node_dev() {
    local n=$1 dev spec script major minor mode
    spec=""
    for dev in null zero full random urandom tty fuse kvm net/tun; do
        [[ -c /dev/$dev ]] || continue
        read -r major minor mode < <(stat -c '%t %T %a' "/dev/$dev")
        spec+="c $dev $((16#$major)) $((16#$minor)) $mode"$'\n'
    done
    while read -r dev; do
        [[ -n $dev ]] || continue
        read -r major minor < <(stat -c '%t %T' "$dev")
        spec+="b ${dev#/dev/} $((16#$major)) $((16#$minor)) 660"$'\n'
    done < <(node_loops "$n")
    # shellcheck disable=SC2016 # expanded by the inner shell
    script='
        set -eu
        # Detach the shared /dev first: its hidden submounts (pts, shm) would stay listed in
        # mountinfo and libvirt, moving each /dev submount for a guest, fails on the second.
        umount -R -l /dev
        mount -t tmpfs -o mode=0755,size=8m,nosuid tmpfs /dev
        while read -r kind name major minor mode; do
            [ -n "$kind" ] || continue
            mkdir -p "/dev/$(dirname "$name")"
            mknod -m "$mode" "/dev/$name" "$kind" "$major" "$minor"
        done
        mkdir -p /dev/pts /dev/shm
        mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts /dev/pts
        ln -s pts/ptmx /dev/ptmx
        mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
        ln -s /proc/self/fd /dev/fd
        ln -s /proc/self/fd/0 /dev/stdin
        ln -s /proc/self/fd/1 /dev/stdout
        ln -s /proc/self/fd/2 /dev/stderr
    '
    printf '%s' "$spec" | in_node "$n" sh -c "$script"
}

# node_mounts N: hostname, /run, /run/lock, the node's own dirs, /dev.
node_mounts() {
    local n=$1 d b
    d=$(node_dir "$n")
    rm -rf -- "${d:?}/run-libvirt"
    mkdir -p "$d/run-libvirt"
    in_node "$n" hostname "node$n"
    # A tmpfs /run: otherwise the node's daemons find the main ones' sockets and pid files.
    in_node "$n" mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
    in_node "$n" mkdir -p /run/lock /run/libvirt /run/sshd
    # Console attach takes a lock file in /run/lock.
    in_node "$n" mount -t tmpfs -o mode=1777,nosuid,nodev,size=5m tmpfs /run/lock
    for b in "${NODE_BINDS[@]}"; do
        in_node "$n" mount --bind "$d/${b%%:*}" "${b#*:}"
    done
    node_dev "$n"
}

# node_net N: the veth pair, the node's end as eth0 with its address.
node_net() {
    local n=$1 veth
    veth=$(node_veth "$n")
    ip link add "$veth" type veth peer name eth0 netns "node$n"
    ip link set "$veth" master "$BRIDGE" up
    ip -n "node$n" link set lo up
    ip -n "node$n" addr add "$(node_addr "$n")/24" dev eth0
    ip -n "node$n" link set eth0 up
}

# node_holder N: a process that keeps the node's mount and UTS namespaces alive.
# 'ip netns exec' binds /etc/netns/nodeN/hosts over /etc/hosts and mounts the netns's /sys;
# unshare then makes the node's own mount (all private: nothing leaks out) and UTS namespaces.
node_holder() {
    local n=$1 pid
    setsid ip netns exec "node$n" unshare --mount --uts --propagation private -- sleep infinity \
        </dev/null >/dev/null 2>&1 &
    pid=$!
    echo "$pid" >"$STATE/node$n.holder"
    wait_for 10 holder_ready "$n" "$pid" || die "node$n: namespace holder did not start"
}
holder_ready() {
    [[ $(cat "/proc/$2/comm" 2>/dev/null) == sleep ]] \
        && [[ $(readlink "/proc/$2/ns/uts") != "$(readlink /proc/$$/ns/uts)" ]]
}

node_daemons() {
    local n=$1 d
    d=$(node_dir "$n")
    if ! node_pid_of "$n" virtlogd /run/libvirt/virtlogd.pid >/dev/null; then
        in_node "$n" virtlogd -d -p /run/libvirt/virtlogd.pid
        wait_for 10 node_pid_of "$n" virtlogd /run/libvirt/virtlogd.pid || die "node$n: virtlogd did not start"
    fi
    if ! libvirt_answers "$n"; then
        if ! node_pid_of "$n" libvirtd /run/libvirt/libvirtd.pid >/dev/null; then
            in_node "$n" libvirtd -d -p /run/libvirt/libvirtd.pid
        fi
        wait_for 60 libvirt_answers "$n" || die "node$n: libvirtd does not answer on $(node_socket "$n") (see $d/log-libvirt)"
    fi
    if ! node_pid_of "$n" sshd /run/sshd.pid >/dev/null; then
        cat >"$d/ssh/sshd_config" <<EOF
# tvirt lab: sshd of node$n (scripts/lab.sh)
ListenAddress $(node_addr "$n")
Port 22
PidFile /run/sshd.pid
HostKey $d/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PubkeyAuthentication yes
AuthorizedKeysFile $SSH_DIR/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
X11Forwarding no
PrintMotd no
EOF
        in_node "$n" /usr/sbin/sshd -t -f "$d/ssh/sshd_config" || die "node$n: sshd rejects $d/ssh/sshd_config"
        in_node "$n" /usr/sbin/sshd -f "$d/ssh/sshd_config"
        wait_for 10 node_pid_of "$n" sshd /run/sshd.pid || die "node$n: sshd did not start"
    fi
    if ! glusterd_answers "$n"; then
        if ! node_pid_of "$n" glusterd /run/glusterd.pid >/dev/null; then
            in_node "$n" glusterd --pid-file=/run/glusterd.pid
        fi
        wait_for 30 glusterd_answers "$n" || die "node$n: glusterd does not answer (see $d/log-glusterfs)"
    fi
}

node_answers() {
    local n=$1
    holder_pid "$n" >/dev/null && [[ -f $STATE/node$n.ready ]] \
        && libvirt_answers "$n" && glusterd_answers "$n"
}

up_node() {
    local n=$1
    if holder_pid "$n" >/dev/null && [[ -f $STATE/node$n.ready ]]; then
        node_daemons "$n"
        log "node$n: reused ($(node_addr "$n"), holder pid $(holder_pid "$n"))"
        return
    fi
    teardown_node "$n"
    node_files "$n"
    node_loops_up "$n"
    if [[ ! -d /run/netns ]]; then
        # 'ip netns add' makes /run/netns a shared bind mount of itself; down undoes that.
        touch "$DATA/run-netns.created"
    fi
    ip netns add "node$n"
    node_net "$n"
    node_holder "$n"
    node_mounts "$n"
    touch "$STATE/node$n.ready"
    node_daemons "$n"
    log "node$n: up ($(node_addr "$n"), holder pid $(holder_pid "$n"), loops $(node_loops "$n" | paste -sd' '))"
}

gluster_bricks_online() {
    local want=$1
    (($(gluster_in 1 volume status "$GLUSTER_VOLUME" --xml 2>/dev/null \
        | grep -c '<status>1</status>' || true) >= want))
}

# up makes the volume: the lab is a cluster only once its glusterds are peers, the Gluster
# screens and commands need a volume spanning real hosts to show, and it takes seconds. Its
# bricks are directories, so the loop devices stay blank for the disk and brick wizards.
up_gluster() {
    local nodes=$1 n bricks=()
    for ((n = 2; n <= nodes; n++)); do
        if ! gluster_in 1 pool list | grep -q "[[:space:]]node$n[[:space:]]"; then
            gluster_in 1 peer probe "node$n" >/dev/null
        fi
    done
    peers_connected() {
        (($(gluster_in 1 pool list | grep -c '[[:space:]]Connected[[:space:]]*$') >= nodes))
    }
    wait_for 60 peers_connected || die "gluster: peers of node1 are not all connected"
    if ! gluster_in 1 volume info "$GLUSTER_VOLUME" >/dev/null 2>&1; then
        for ((n = 1; n <= nodes; n++)); do
            rm -rf -- "$(node_dir "$n")/bricks/$GLUSTER_VOLUME"
            mkdir -p "$(node_dir "$n")/bricks/$GLUSTER_VOLUME"
            bricks+=("node$n:$(node_dir "$n")/bricks/$GLUSTER_VOLUME")
        done
        local layout=()
        if ((nodes > 1)); then layout=(replica "$nodes"); fi
        # force: the bricks are directories on the root file system.
        gluster_in 1 volume create "$GLUSTER_VOLUME" "${layout[@]}" "${bricks[@]}" force >/dev/null
        log "gluster: created $GLUSTER_VOLUME on ${bricks[*]}"
    fi
    # 'start force' also restarts a brick that died (a reused lab may have one).
    if ! gluster_in 1 volume info "$GLUSTER_VOLUME" | grep -q '^Status: Started' \
        || ! gluster_bricks_online "$nodes"; then
        gluster_in 1 volume start "$GLUSTER_VOLUME" force >/dev/null
    fi
    wait_for 60 gluster_bricks_online "$nodes" || die "gluster: not all bricks of $GLUSTER_VOLUME came online"
    log "gluster: $GLUSTER_VOLUME started, $nodes brick(s) online"
}

write_env() {
    local nodes=$1 n tmp names=() uris=()
    for ((n = 1; n <= nodes; n++)); do
        names+=("node$n")
        uris+=("\"$(node_uri "$n")\"")
    done
    tmp=$(mktemp "$STATE/env.XXXXXX")
    {
        printf 'TVIRT_LAB=1\n'
        printf 'TVIRT_LAB_NODES=%s\n' "$(IFS=,; echo "${names[*]}")"
        printf 'TVIRT_LAB_BRIDGE=%s\n' "$BRIDGE"
        printf 'TVIRT_LAB_SSH_KEY=%s\n' "$SSH_DIR/id_ed25519"
        printf 'TVIRT_LAB_SSH_KNOWN_HOSTS=%s\n' "$SSH_DIR/known_hosts"
        printf 'TVIRT_LAB_GLUSTER_VOLUME=%s\n' "$GLUSTER_VOLUME"
        printf 'TVIRT_LAB_GUEST_KERNEL=%s\n' "$GUEST_DIR/vmlinuz"
        printf 'TVIRT_LAB_GUEST_INITRD=%s\n' "$GUEST_DIR/initrd.gz"
        printf 'TVIRT_LAB_CONFIG=%s\n' "$STATE/tvirt.toml"
        for ((n = 1; n <= nodes; n++)); do
            printf 'TVIRT_LAB_NODE%s_ADDR=%s\n' "$n" "$(node_addr "$n")"
            printf 'TVIRT_LAB_NODE%s_URI=%s\n' "$n" "$(node_uri "$n")"
            printf 'TVIRT_LAB_NODE%s_SOCKET=%s\n' "$n" "$(node_socket "$n")"
            printf 'TVIRT_LAB_NODE%s_HOLDER=%s\n' "$n" "$(holder_pid "$n")"
            printf 'TVIRT_LAB_NODE%s_VETH=%s\n' "$n" "$(node_veth "$n")"
            printf 'TVIRT_LAB_NODE%s_LOOPS=%s\n' "$n" "$(node_loops "$n" | paste -sd,)"
        done
    } >"$tmp"
    chmod 0644 "$tmp"
    mv -f "$tmp" "$STATE/env"
    tmp=$(mktemp "$STATE/tvirt.toml.XXXXXX")
    {
        printf '# The lab'"'"'s nodes (scripts/lab.sh): TVIRT_CONFIG=%s tvirt\n' "$STATE/tvirt.toml"
        printf '[connections]\nuris = [%s]\n' "$(IFS=,; echo "${uris[*]}" | sed 's|,|, |g')"
    } >"$tmp"
    chmod 0644 "$tmp"
    mv -f "$tmp" "$STATE/tvirt.toml"
    log "env: wrote $STATE/env and $STATE/tvirt.toml"
}

cmd_up() {
    local nodes=$1 t0=$SECONDS n
    up_preflight
    local made
    made=$(cat "$STATE/nodes" 2>/dev/null || true)
    # The Gluster volume spans every node: another count needs a new lab.
    if [[ -n $made && $made != "$nodes" ]]; then
        die "the lab has $made nodes; run 'lab.sh down' first to make $nodes"
    fi
    log "step 1/7: leftovers of earlier labs"
    for n in $(known_nodes); do
        if ((n > nodes)) || ! holder_pid "$n" >/dev/null || [[ ! -f $STATE/node$n.ready ]]; then
            teardown_node "$n"
        fi
        if ((n > nodes)); then
            rm -rf -- "$(node_dir "$n")" "$DATA/loop/node$n-"*.img "/etc/netns/node$n"
            log "  node$n: a leftover beyond --nodes $nodes, removed"
        fi
    done
    echo "$nodes" >"$STATE/nodes"
    log "step 2/7: bridge $BRIDGE"
    up_bridge
    log "step 3/7: names and ssh keys"
    up_names "$nodes"
    up_ssh_keys "$nodes"
    log "step 4/7: nodes (namespaces, /run, /dev, loop devices, libvirtd, sshd, glusterd)"
    for ((n = 1; n <= nodes; n++)); do up_node "$n"; done
    log "step 5/7: qemu+ssh to every node"
    for ((n = 1; n <= nodes; n++)); do
        wait_for 20 ssh_virsh_answers "$n" || die "virsh -c '$(node_uri "$n")' hostname does not answer node$n"
    done
    log "  virsh -c qemu+ssh://root@nodeN/system hostname answers nodeN on all $nodes"
    log "step 6/7: gluster volume $GLUSTER_VOLUME"
    up_gluster "$nodes"
    log "step 7/7: guest image and env file"
    bash "$SCRIPT_DIR/build-guest.sh" >/dev/null
    write_env "$nodes"
    log "up: done in $((SECONDS - t0)) s; source $STATE/env"
}

# ---------------------------------------------------------------- down

cmd_down() {
    [[ $(id -u) -eq 0 ]] || die "must run as root"
    local t0=$SECONDS n nodes
    mapfile -t nodes < <(known_nodes)
    log "step 1/5: gluster volume $GLUSTER_VOLUME"
    if holder_pid 1 >/dev/null && glusterd_answers 1; then
        gluster_in 1 volume stop "$GLUSTER_VOLUME" force >/dev/null 2>&1 || true
        gluster_in 1 volume delete "$GLUSTER_VOLUME" >/dev/null 2>&1 || true
        log "  stopped and deleted $GLUSTER_VOLUME"
    else
        log "  glusterd of node1 does not answer; the node dirs go below"
    fi
    log "step 2/5: nodes ${nodes[*]:-(none)}"
    for n in "${nodes[@]}"; do
        teardown_node "$n"
        rm -rf -- "/etc/netns/node$n"
        log "  node$n: processes, namespaces, veth and loop devices removed"
    done
    if [[ -f $DATA/etc-netns.created ]]; then rmdir /etc/netns 2>/dev/null || true; fi
    if [[ -f $DATA/run-netns.created && -d /run/netns && -z $(ls -A /run/netns) ]]; then
        if mountpoint -q /run/netns; then umount /run/netns; fi
        rmdir /run/netns
    fi
    log "step 3/5: bridge $BRIDGE"
    if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link del "$BRIDGE"; fi
    log "step 4/5: /etc/hosts lines and ssh config block"
    replace_marked_lines /etc/hosts ""
    remove_ssh_config_block
    log "step 5/5: files"
    # Loop devices a crashed run left on images of nodes no longer known.
    local img dev
    for img in "$DATA/loop/"*.img; do
        [[ -e $img ]] || continue
        while read -r dev; do
            [[ -n $dev ]] && losetup -d "$dev"
        done < <(losetup -n -O NAME -j "$img")
    done
    rm -rf -- "$DATA" "$STATE"
    log "down: done in $((SECONDS - t0)) s"
}

# ---------------------------------------------------------------- status

cmd_status() {
    local nodes n ok=0 detail
    nodes=$(cat "$STATE/nodes" 2>/dev/null || echo 3)
    line() {
        # line WHAT DETAIL CMD...
        local what=$1 detail=$2
        shift 2
        if "$@" >/dev/null 2>&1; then
            printf 'lab: %-16s UP    %s\n' "$what" "$detail"
        else
            printf 'lab: %-16s DOWN  %s\n' "$what" "$detail"
            ok=1
        fi
    }
    line bridge "$BRIDGE $NET.1/24" ip link show "$BRIDGE" up
    for ((n = 1; n <= nodes; n++)); do
        line "node$n namespaces" "netns node$n, holder pid $(holder_pid "$n" || echo -)" holder_pid "$n"
        line "node$n virtlogd" "pid $(node_pid_of "$n" virtlogd /run/libvirt/virtlogd.pid || echo -)" \
            node_pid_of "$n" virtlogd /run/libvirt/virtlogd.pid
        line "node$n libvirtd" "$(node_socket "$n")" libvirt_answers "$n"
        line "node$n sshd" "$(node_uri "$n")" ssh_virsh_answers "$n"
        line "node$n glusterd" "gluster pool list" glusterd_answers "$n"
        detail=$(node_loops "$n" | paste -sd' ')
        line "node$n loops" "${detail:-none}" test -n "$detail"
    done
    detail=$(gluster_in 1 volume info "$GLUSTER_VOLUME" 2>/dev/null | awk -F': ' '/^Status:/ {print $2}' || true)
    line gluster "volume $GLUSTER_VOLUME ${detail:-missing}" test "$detail" = Started
    line env "$STATE/env" test -s "$STATE/env"
    return "$ok"
}

# ---------------------------------------------------------------- main

action=${1:-}
shift || true
nodes=3
while (($# > 0)); do
    case $1 in
    --nodes)
        nodes=${2:-}
        shift 2 || die "--nodes needs a number"
        ;;
    --nodes=*)
        nodes=${1#--nodes=}
        shift
        ;;
    *) die "unknown argument $1" ;;
    esac
done
[[ $nodes =~ ^[1-9]$ ]] || die "--nodes must be a number from 1 to 9, not $nodes"

case $action in
up) cmd_up "$nodes" ;;
down) cmd_down ;;
status) cmd_status ;;
*)
    printf 'usage: %s up|down|status [--nodes N]\n' "$0" >&2
    exit 2
    ;;
esac
