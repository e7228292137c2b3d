#!/usr/bin/env bash
# Real-component test bed for tvirt: libvirtd (qemu:///system), an sshd on
# 127.0.0.1 for qemu+ssh://, glusterd with a replica-3 volume, and a cached
# tiny guest (scripts/build-guest.sh).
#
# Usage: bash scripts/testbed.sh up|down|status      (as root)
#
#   up      idempotent; reuses daemons that already answer; writes
#           /run/tvirt-testbed/env (KEY=VALUE lines for the tests)
#   down    removes only what the test bed made (recorded in the state dirs);
#           daemons it did not start are left running; the guest cache stays
#   status  one line per component, whether it answers
#
# Run scripts/install-system.sh first on a fresh machine.
set -euo pipefail

STATE=/run/tvirt-testbed                 # pids, sshd config, client key, env
PERSIST=/var/lib/tvirt-testbed           # gluster bricks + marker (must survive /run)
SSH_DIR=$STATE/ssh
GUEST_DIR=${TVIRT_GUEST_CACHE:-/var/cache/tvirt-testbed/guest}
QEMU_URI=qemu:///system
QEMU_CONF=/etc/libvirt/qemu.conf
GLUSTER_VOLUME=tvirt-test
DOMAIN_PREFIX=tvirt-test-
MARK=tvirt-testbed
SSH_PORT_FIRST=2222
SSH_PORT_LAST=2299
ROOT_SSH=/root/.ssh
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

log() { printf 'testbed: %s\n' "$*"; }
warn() { printf 'testbed: WARNING: %s\n' "$*" >&2; }
die() { printf 'testbed: ERROR: %s\n' "$*" >&2; exit 1; }
# Helpers shared with the other test-bed script.
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---------------------------------------------------------------- helpers

# pgrep_here ARGS...: pgrep among the processes of this network namespace only. The lab's
# nodes (scripts/lab.sh) run their own libvirtd, virtlogd and glusterd in their own
# namespaces; those are not the test bed's to reuse or to wait for.
pgrep_here() { pgrep --ns $$ --nslist net "$@"; }

# pid_is NAME PID: PID is alive and its command name is NAME.
pid_is() {
    local name=$1 pid=$2
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/comm ]] || return 1
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]]
}


# stop_pid NAME PID: SIGTERM, wait up to 15 s, then SIGKILL. Only if PID is NAME.
stop_pid() {
    local name=$1 pid=$2 i
    pid_is "$name" "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
        pid_is "$name" "$pid" || return 0
        sleep 0.1
    done
    warn "$name (pid $pid) ignored SIGTERM, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
}


virsh_local() { timeout 20 virsh -q -c "$QEMU_URI" "$@"; }
# Cheap probe (20 ms). 'virsh version' costs about 4 s here and 'capabilities'
# about 8 s (libvirt re-probes the host each call), so poll with 'list'.
libvirt_answers() { timeout 10 virsh -q -c "$QEMU_URI" list --all --name; }
gluster_cli() { timeout 60 gluster --mode=script "$@"; }
glusterd_answers() { timeout 15 gluster --mode=script pool list; }

ssh_port() { read_pid "$STATE/sshd.port"; }
ssh_uri() { printf 'qemu+ssh://root@127.0.0.1:%s/system?no_tty=1' "$1"; }
ssh_answers() {
    local port=$1
    timeout 15 ssh -o BatchMode=yes -p "$port" root@127.0.0.1 true
}
ssh_virsh_answers() {
    local port=$1
    timeout 20 virsh -q -c "$(ssh_uri "$port")" list --all --name
}

port_in_use() { [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]; }

# remove_leftovers KIND ALL: destroy and undefine the tests' libvirt networks or storage
# pools (KIND net or pool, named tvirt-test-*). A test that dies leaves its network behind,
# autostarted, and its bridge then holds the subnet the next run needs; a transient pool
# outlives a daemon restart (libvirt keeps its state in /run). With ALL=no only those whose
# test process (the number in the name) is gone, so a run going on beside this one keeps
# its own. The pools' files are left where the test put them (its temporary directory).
remove_leftovers() {
    local kind=$1 all=$2 name pid word
    word=$([[ $kind == net ]] && echo network || echo pool)
    while read -r name; do
        [[ $name == "$DOMAIN_PREFIX"* ]] || continue
        if [[ $all == no ]]; then
            pid=$(grep -oE -- '-[0-9]+-' <<<"$name" | tail -n 1 | tr -d -- -)
            [[ -n $pid && -d /proc/$pid ]] && continue
        fi
        virsh_local "$kind-destroy" "$name" >/dev/null 2>&1 || true
        virsh_local "$kind-undefine" "$name" >/dev/null 2>&1 || true
        log "  removed $word $name"
    done < <(virsh_local "$kind-list" --all --name 2>/dev/null)
}

# ---------------------------------------------------------------- up steps

up_preflight() {
    [[ $(id -u) -eq 0 ]] || die "must run as root"
    local tool
    for tool in virsh libvirtd virtlogd /usr/sbin/sshd ssh ssh-keygen ssh-keyscan \
                glusterd gluster ss timeout; do
        command -v "$tool" >/dev/null || die "$tool missing: run scripts/install-system.sh"
    done
    getent passwd libvirt-qemu >/dev/null || die "user libvirt-qemu missing: run scripts/install-system.sh"
    mkdir -p "$STATE" "$SSH_DIR" "$PERSIST"
    chmod 0700 "$STATE" "$SSH_DIR"
}

# ensure_daemon NAME WAIT PIDFILE CMD...: keep our recorded NAME, or reuse anyone's (and
# never stop it later); else start it with CMD and record its pid, read from PIDFILE, or
# the oldest NAME process when PIDFILE is "-".
ensure_daemon() {
    local name=$1 wait=$2 pidfile=$3 pid
    shift 3
    pid=$(read_pid "$STATE/$name.started")
    if [[ -n $pid ]] && pid_is "$name" "$pid"; then
        log "$name: running (pid $pid, started by testbed)"
    elif pid=$(pgrep_here -x -o "$name"); then
        log "$name: running (pid $pid, not ours, reusing)"
        rm -f "$STATE/$name.started"
    else
        rm -f "$STATE/$name.started"
        "$@"
        if [[ $pidfile == - ]]; then
            wait_for "$wait" pgrep_here -x "$name" || die "$name did not start"
            pid=$(pgrep_here -x -o "$name")
        else
            wait_for "$wait" test -s "$pidfile" || die "$name did not start"
            pid=$(read_pid "$pidfile")
        fi
        echo "$pid" >"$STATE/$name.started"
        log "$name: started (pid $pid)"
    fi
}

up_libvirt() {
    mkdir -p /var/log/libvirt /var/lib/libvirt /run/libvirt
    # virtlogd: qemu's stdout/stderr log goes through it.
    ensure_daemon virtlogd 10 - virtlogd -d

    # Without a qemu.conf, qemu runs as libvirt-qemu, which cannot open this machine's
    # root-only /dev/kvm. libvirt then finds its cached QEMU capabilities "outdated" (KVM
    # was there when probing, not now) and re-probes QEMU on every call: defining a
    # domain took 56 s. Running qemu as root keeps the cache valid (0.02 s). Guests use
    # TCG either way. We write the file only if there is none, and mark it as ours.
    if [[ ! -e $QEMU_CONF ]]; then
        mkdir -p "$(dirname "$QEMU_CONF")"
        printf '# %s: written by scripts/testbed.sh, removed by its down\nuser = "root"\ngroup = "root"\n' \
            "$MARK" >"$QEMU_CONF"
        log "libvirt: wrote $QEMU_CONF (qemu runs as root in the test bed)"
    fi

    ensure_daemon libvirtd 10 - libvirtd -d
    wait_for 30 libvirt_answers \
        || die "libvirtd does not answer 'virsh -c $QEMU_URI list' after 30 s (see /var/log/libvirt)"
    local version
    version=$(timeout 30 virsh -c "$QEMU_URI" version) || die "virsh -c $QEMU_URI version fails"
    log "libvirtd: 'virsh -c $QEMU_URI version' answers ($(awk '/Running hypervisor/ {print $3, $4}' <<<"$version"))"
    remove_leftovers net no
    remove_leftovers pool no
    local stale
    stale=$(virsh_local list --all --name | grep -c "^$DOMAIN_PREFIX" || true)
    if ((stale > 0)); then
        log "libvirtd: note: $stale leftover ${DOMAIN_PREFIX}* domain(s) exist ('down' removes them)"
    fi
}

up_sshd() {
    local pid port key_line config_block
    mkdir -p /run/sshd "$ROOT_SSH"
    chmod 0755 /run/sshd
    chmod 0700 "$ROOT_SSH"
    ssh-keygen -A >/dev/null

    # Client key.
    if [[ ! -s $SSH_DIR/id_ed25519 || ! -s $SSH_DIR/id_ed25519.pub ]]; then
        rm -f "$SSH_DIR/id_ed25519" "$SSH_DIR/id_ed25519.pub"
        ssh-keygen -q -t ed25519 -N '' -C "$MARK" -f "$SSH_DIR/id_ed25519"
        log "sshd: generated client key $SSH_DIR/id_ed25519"
    fi

    # authorized_keys: exactly our key line, once. Stale lines from an earlier
    # test bed whose state was lost (same marker comment, other key) go away.
    key_line=$(cat "$SSH_DIR/id_ed25519.pub")
    touch "$ROOT_SSH/authorized_keys"
    chmod 0600 "$ROOT_SSH/authorized_keys"
    if ! grep -qxF -- "$key_line" "$ROOT_SSH/authorized_keys"; then
        remove_lines_ending_with_mark "$ROOT_SSH/authorized_keys"
        # Make sure the file ends with a newline before appending.
        if [[ -s $ROOT_SSH/authorized_keys && $(tail -c1 "$ROOT_SSH/authorized_keys" | od -An -c | tr -d ' ') != '\n' ]]; then
            printf '\n' >>"$ROOT_SSH/authorized_keys"
        fi
        printf '%s\n' "$key_line" >>"$ROOT_SSH/authorized_keys"
        log "sshd: added testbed key to $ROOT_SSH/authorized_keys"
    fi

    # sshd: reuse ours if alive, else start on a free port.
    pid=$(read_pid "$STATE/sshd.pid")
    port=$(ssh_port)
    if [[ -n $pid && -n $port ]] && pid_is sshd "$pid"; then
        log "sshd: running (pid $pid, port $port, started by testbed)"
    else
        rm -f "$STATE/sshd.pid" "$STATE/sshd.port"
        port=
        local p
        for ((p = SSH_PORT_FIRST; p <= SSH_PORT_LAST; p++)); do
            if ! port_in_use "$p"; then port=$p; break; fi
        done
        [[ -n $port ]] || die "no free port in $SSH_PORT_FIRST-$SSH_PORT_LAST for sshd"
        if [[ $(getent shadow root | cut -d: -f2) == '!'* ]]; then
            warn "root's password is locked ('!'); sshd with UsePAM no refuses locked accounts"
        fi
        cat >"$STATE/sshd_config" <<EOF
# tvirt test bed sshd (scripts/testbed.sh)
Port $port
ListenAddress 127.0.0.1
PidFile $STATE/sshd.pid
HostKey /etc/ssh/ssh_host_ed25519_key
HostKey /etc/ssh/ssh_host_ecdsa_key
HostKey /etc/ssh/ssh_host_rsa_key
PermitRootLogin prohibit-password
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
X11Forwarding no
PrintMotd no
Subsystem sftp internal-sftp
EOF
        /usr/sbin/sshd -t -f "$STATE/sshd_config" || die "sshd rejects $STATE/sshd_config"
        /usr/sbin/sshd -f "$STATE/sshd_config"
        wait_for 10 test -s "$STATE/sshd.pid" || die "sshd did not write $STATE/sshd.pid"
        pid=$(read_pid "$STATE/sshd.pid")
        echo "$port" >"$STATE/sshd.port"
        log "sshd: started (pid $pid) on 127.0.0.1:$port"
    fi
    wait_for 10 port_in_use "$port" || die "sshd is not listening on $port"

    # known_hosts for exactly this port.
    local kh_tmp
    kh_tmp=$(mktemp "$SSH_DIR/known_hosts.XXXXXX")
    if ! timeout 15 ssh-keyscan -p "$port" -T 5 127.0.0.1 >"$kh_tmp" 2>/dev/null || [[ ! -s $kh_tmp ]]; then
        rm -f "$kh_tmp"
        die "ssh-keyscan of 127.0.0.1:$port failed"
    fi
    sort -o "$kh_tmp" "$kh_tmp"
    chmod 0644 "$kh_tmp"
    mv -f "$kh_tmp" "$SSH_DIR/known_hosts"
    log "sshd: host keys of [127.0.0.1]:$port in $SSH_DIR/known_hosts"

    # ssh client config: libvirt runs the system ssh, which reads ~/.ssh/config.
    # The default known_hosts stays in the list; host key checking stays strict.
    config_block=$(cat <<EOF
# >>> $MARK >>> (managed by tvirt scripts/testbed.sh; removed by 'testbed.sh down')
Host 127.0.0.1
    IdentityFile $SSH_DIR/id_ed25519
    UserKnownHostsFile $SSH_DIR/known_hosts ~/.ssh/known_hosts
    StrictHostKeyChecking yes
# <<< $MARK <<<
EOF
)
    touch "$ROOT_SSH/config"
    chmod 0600 "$ROOT_SSH/config"
    # The whole marked block, compared as one text: grep -F with this multi-line pattern
    # would match any one of its lines, e.g. the same line in the lab's block.
    if [[ $(awk -v start="# >>> $MARK >>>" -v end="# <<< $MARK <<<" '
            index($0, start) == 1 { on = 1 } on { print } on && index($0, end) == 1 { on = 0 }' \
            "$ROOT_SSH/config") != "$config_block" ]]; then
        remove_config_block
        if [[ -s $ROOT_SSH/config && $(tail -c1 "$ROOT_SSH/config" | od -An -c | tr -d ' ') != '\n' ]]; then
            printf '\n' >>"$ROOT_SSH/config"
        fi
        printf '%s\n' "$config_block" >>"$ROOT_SSH/config"
        log "sshd: wrote marked Host 127.0.0.1 block to $ROOT_SSH/config"
    fi

    wait_for 15 ssh_answers "$port" \
        || die "ssh -o BatchMode=yes -p $port root@127.0.0.1 true fails"
    log "sshd: 'ssh -o BatchMode=yes -p $port root@127.0.0.1 true' works"
    timeout 30 virsh -c "$(ssh_uri "$port")" version >/dev/null \
        || die "virsh -c '$(ssh_uri "$port")' version fails"
    log "sshd: virsh -c '$(ssh_uri "$port")' version answers"
}

remove_lines_ending_with_mark() {
    local file=$1 tmp
    [[ -f $file ]] || return 0
    grep -q -- " $MARK\$" "$file" || return 0
    tmp=$(mktemp "$file.XXXXXX")
    grep -v -- " $MARK\$" "$file" >"$tmp" || true
    chmod --reference="$file" "$tmp"
    mv -f "$tmp" "$file"
}

remove_config_block() {
    local file=$ROOT_SSH/config tmp
    [[ -f $file ]] || return 0
    grep -qF -- "# >>> $MARK >>>" "$file" || return 0
    tmp=$(mktemp "$file.XXXXXX")
    awk -v start="# >>> $MARK >>>" -v end="# <<< $MARK <<<" '
        index($0, start) == 1 { skip = 1; next }
        skip && index($0, end) == 1 { skip = 0; next }
        !skip { print }' "$file" >"$tmp"
    chmod --reference="$file" "$tmp"
    mv -f "$tmp" "$file"
}

gluster_host() { hostname; }

up_gluster() {
    local host
    host=$(gluster_host)
    mkdir -p /var/log/glusterfs /var/lib/glusterd
    if ! getent hosts "$host" >/dev/null; then
        printf '127.0.1.1 %s # %s\n' "$host" "$MARK" >>/etc/hosts
        log "glusterd: hostname $host did not resolve; added a marked line to /etc/hosts"
    fi

    ensure_daemon glusterd 15 "$STATE/glusterd.pid" glusterd --pid-file="$STATE/glusterd.pid"
    wait_for 30 glusterd_answers || die "glusterd does not answer 'gluster pool list'"

    if gluster_cli volume info "$GLUSTER_VOLUME" >/dev/null 2>&1; then
        if [[ -f $PERSIST/gluster-volume.created ]]; then
            log "gluster: volume $GLUSTER_VOLUME exists (created by testbed)"
        else
            log "gluster: volume $GLUSTER_VOLUME exists (not created by testbed, reusing)"
        fi
    else
        local bricks=() b
        rm -rf -- "$PERSIST/bricks"
        for b in b1 b2 b3; do
            mkdir -p "$PERSIST/bricks/$b"
            bricks+=("$host:$PERSIST/bricks/$b")
        done
        log "gluster: creating replica-3 volume $GLUSTER_VOLUME on ${bricks[*]}"
        gluster_cli volume create "$GLUSTER_VOLUME" replica 3 "${bricks[@]}" force >/dev/null
        touch "$PERSIST/gluster-volume.created"
    fi
    local vstatus
    vstatus=$(gluster_cli volume info "$GLUSTER_VOLUME" | awk -F': ' '/^Status:/ {print $2}')
    if [[ $vstatus != Started ]]; then
        log "gluster: starting volume $GLUSTER_VOLUME (was ${vstatus:-unknown})"
        gluster_cli volume start "$GLUSTER_VOLUME" force >/dev/null
    fi
    # Bricks come up asynchronously; wait until all three are online.
    wait_for 30 gluster_bricks_online || warn "not all bricks of $GLUSTER_VOLUME are online yet"
    gluster_cli volume info "$GLUSTER_VOLUME" --xml >/dev/null \
        || die "gluster volume info $GLUSTER_VOLUME --xml fails"
    log "gluster: volume $GLUSTER_VOLUME started, $(gluster_bricks_online_count)/3 bricks online"
}

gluster_bricks_online_count() {
    # Count brick nodes (path under our bricks dir; not the self-heal daemon) with status 1.
    gluster_cli volume status "$GLUSTER_VOLUME" --xml 2>/dev/null \
        | awk -v bricks="<path>$PERSIST/bricks/" '
            /<node>/ { p = "" }
            index($0, bricks) { p = 1 }
            p && /<status>1<\/status>/ { c++; p = "" }
            END { print c + 0 }'
}
gluster_bricks_online() { (($(gluster_bricks_online_count) >= 3)); }

up_guest() {
    bash "$SCRIPT_DIR/build-guest.sh"
    [[ -s $GUEST_DIR/vmlinuz && -s $GUEST_DIR/initrd.gz ]] || die "guest build left no files in $GUEST_DIR"
}

write_env() {
    local port tmp
    port=$(ssh_port)
    tmp=$(mktemp "$STATE/env.XXXXXX")
    cat >"$tmp" <<EOF
TVIRT_TESTBED=1
TVIRT_TEST_QEMU_URI=$QEMU_URI
TVIRT_TEST_SSH_PORT=$port
TVIRT_TEST_SSH_URI=$(ssh_uri "$port")
TVIRT_TEST_SSH_KEY=$SSH_DIR/id_ed25519
TVIRT_TEST_SSH_KNOWN_HOSTS=$SSH_DIR/known_hosts
TVIRT_TEST_GUEST_KERNEL=$GUEST_DIR/vmlinuz
TVIRT_TEST_GUEST_INITRD=$GUEST_DIR/initrd.gz
TVIRT_TEST_GLUSTER_VOLUME=$GLUSTER_VOLUME
TVIRT_TEST_GLUSTER_HOST=$(gluster_host)
EOF
    chmod 0644 "$tmp"
    mv -f "$tmp" "$STATE/env"
    log "env: wrote $STATE/env"
}

cmd_up() {
    local t0=$SECONDS
    up_preflight
    log "step 1/5: libvirtd"
    up_libvirt
    log "step 2/5: sshd for qemu+ssh"
    up_sshd
    log "step 3/5: glusterd and volume $GLUSTER_VOLUME"
    up_gluster
    log "step 4/5: guest kernel + initrd"
    up_guest
    log "step 5/5: env file"
    write_env
    log "up: done in $((SECONDS - t0)) s; source $STATE/env"
}

# ---------------------------------------------------------------- down

cmd_down() {
    [[ $(id -u) -eq 0 ]] || die "must run as root"
    local pid name

    log "step 1/6: libvirt domains, networks and pools ${DOMAIN_PREFIX}*"
    if libvirt_answers >/dev/null 2>&1; then
        while read -r name; do
            [[ $name == "$DOMAIN_PREFIX"* ]] || continue
            virsh_local destroy "$name" >/dev/null 2>&1 || true
            virsh_local undefine --nvram "$name" >/dev/null 2>&1 \
                || virsh_local undefine "$name" >/dev/null 2>&1 || true
            log "  removed domain $name"
        done < <(virsh_local list --all --name 2>/dev/null)
        remove_leftovers net yes
        remove_leftovers pool yes
    else
        log "  libvirtd does not answer; skipped"
    fi

    log "step 2/6: gluster volume $GLUSTER_VOLUME"
    if [[ -f $PERSIST/gluster-volume.created ]]; then
        if glusterd_answers >/dev/null 2>&1; then
            gluster_cli volume stop "$GLUSTER_VOLUME" force >/dev/null 2>&1 || true
            if gluster_cli volume delete "$GLUSTER_VOLUME" >/dev/null 2>&1 \
                || ! gluster_cli volume info "$GLUSTER_VOLUME" >/dev/null 2>&1; then
                rm -rf -- "$PERSIST/bricks"
                rm -f "$PERSIST/gluster-volume.created"
                log "  stopped and deleted $GLUSTER_VOLUME, removed bricks"
            else
                warn "could not delete gluster volume $GLUSTER_VOLUME"
            fi
        else
            warn "glusterd does not answer; volume $GLUSTER_VOLUME left (the next 'up' reuses it)"
        fi
    else
        log "  not created by testbed; left alone"
    fi

    log "step 3/6: sshd"
    pid=$(read_pid "$STATE/sshd.pid")
    if [[ -n $pid ]] && pid_is sshd "$pid"; then
        stop_pid sshd "$pid"
        log "  stopped sshd (pid $pid)"
    else
        log "  no testbed sshd running"
    fi
    rm -f "$STATE/sshd.pid" "$STATE/sshd.port" "$STATE/sshd_config"

    log "step 4/6: ssh client config and authorized_keys"
    remove_config_block
    if [[ -s $SSH_DIR/id_ed25519.pub && -f $ROOT_SSH/authorized_keys ]]; then
        local key_line tmp
        key_line=$(cat "$SSH_DIR/id_ed25519.pub")
        if grep -qxF -- "$key_line" "$ROOT_SSH/authorized_keys"; then
            tmp=$(mktemp "$ROOT_SSH/authorized_keys.XXXXXX")
            grep -vxF -- "$key_line" "$ROOT_SSH/authorized_keys" >"$tmp" || true
            chmod --reference="$ROOT_SSH/authorized_keys" "$tmp"
            mv -f "$tmp" "$ROOT_SSH/authorized_keys"
        fi
    fi
    log "  removed the $MARK block from $ROOT_SSH/config and our key from authorized_keys"

    log "step 5/6: daemons started by testbed"
    for name in glusterd libvirtd virtlogd; do
        pid=$(read_pid "$STATE/$name.started")
        if [[ $name == virtlogd ]] && pgrep_here -x libvirtd >/dev/null; then
            # A privileged libvirtd does not respawn virtlogd; without it no
            # domain can start. Leave it for the libvirtd we did not start.
            log "  virtlogd: still used by a libvirtd the testbed did not start; left running"
            continue
        elif [[ -n $pid ]] && pid_is "$name" "$pid"; then
            stop_pid "$name" "$pid"
            log "  stopped $name (pid $pid)"
        else
            log "  $name: not started by testbed; left alone"
        fi
        rm -f "$STATE/$name.started"
    done
    rm -f "$STATE/glusterd.pid"
    if [[ -f $QEMU_CONF ]] && head -n 1 "$QEMU_CONF" | grep -qF -- "# $MARK:" \
        && ! pgrep_here -x libvirtd >/dev/null; then
        rm -f -- "$QEMU_CONF"
        log "  removed our $QEMU_CONF"
    fi
    if grep -q -- " # $MARK\$" /etc/hosts 2>/dev/null; then
        sed -i "/ # $MARK\$/d" /etc/hosts
        log "  removed the marked line from /etc/hosts"
    fi

    log "step 6/6: state dir"
    if [[ -f $STATE/virtlogd.started ]]; then
        # Keep only the record of the virtlogd left running, so a later 'down' stops it.
        find "$STATE" -mindepth 1 -maxdepth 1 ! -name virtlogd.started -exec rm -rf -- {} +
    else
        rm -rf -- "$STATE"
    fi
    log "down: done (guest cache $GUEST_DIR kept)"
}

# ---------------------------------------------------------------- status

cmd_status() {
    local ok=0 port pid vstatus
    check() {
        # check NAME DETAIL CMD...
        local name=$1 detail=$2
        shift 2
        if "$@" >/dev/null 2>&1; then
            printf 'testbed: %-10s UP    %s\n' "$name" "$detail"
        else
            printf 'testbed: %-10s DOWN  %s\n' "$name" "$detail"
            ok=1
        fi
    }
    check virtlogd "pid $(pgrep_here -x -o virtlogd || echo -)" pgrep_here -x virtlogd
    check libvirtd "virsh -c $QEMU_URI list" libvirt_answers
    port=$(ssh_port)
    pid=$(read_pid "$STATE/sshd.pid")
    if [[ -n $port ]]; then
        check sshd "pid ${pid:-?} 127.0.0.1:$port, ssh BatchMode" ssh_answers "$port"
        check qemu+ssh "$(ssh_uri "$port")" ssh_virsh_answers "$port"
    else
        printf 'testbed: %-10s DOWN  %s\n' sshd "no testbed sshd recorded"
        ok=1
    fi
    check glusterd "gluster pool list" glusterd_answers
    vstatus=$(gluster_cli volume info "$GLUSTER_VOLUME" 2>/dev/null | awk -F': ' '/^Status:/ {print $2}' || true)
    check gluster "volume $GLUSTER_VOLUME ${vstatus:-missing}, $(gluster_bricks_online_count 2>/dev/null || echo 0)/3 bricks online" \
        test "$vstatus" = Started
    check guest "$GUEST_DIR ($(sed -n 's/^KERNEL_RELEASE=//p' "$GUEST_DIR/stamp" 2>/dev/null || true))" \
        test -s "$GUEST_DIR/vmlinuz" -a -s "$GUEST_DIR/initrd.gz"
    check env "$STATE/env" test -s "$STATE/env"
    return "$ok"
}

case ${1:-} in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
*)
    printf 'usage: %s up|down|status\n' "$0" >&2
    exit 2
    ;;
esac
