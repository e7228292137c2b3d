#!/usr/bin/env bash
# Build the tiny test guest ONCE and cache it outside git:
#   /var/cache/tvirt-testbed/guest/vmlinuz    Debian cloud kernel (linux-image-*-cloud-amd64)
#   /var/cache/tvirt-testbed/guest/initrd.gz  busybox-static initramfs
#   /var/cache/tvirt-testbed/guest/stamp      what was built (KEY=VALUE lines)
#
# The guest boots with <cmdline>console=ttyS0</cmdline>, prints the line
# "TVIRT-GUEST-READY" on ttyS0 and then keeps a root shell on the serial
# console. It also loads the ACPI button + evdev modules and runs busybox
# acpid, so `virsh shutdown` (ACPI power button) powers it off cleanly.
#
# Idempotent: when both files exist and the stamp matches, nothing is done.
# TVIRT_GUEST_REBUILD=1 forces a rebuild (also picks up a newer kernel).
# Needs: busybox-static cpio gzip dpkg-dev and apt lists (scripts/install-system.sh).
set -euo pipefail

# Bump when the initramfs recipe below changes.
GUEST_REV=3
CACHE_DIR=${TVIRT_GUEST_CACHE:-/var/cache/tvirt-testbed/guest}
BUSYBOX=/bin/busybox
MARKER=TVIRT-GUEST-READY

log() { printf 'build-guest: %s\n' "$*"; }
die() { printf 'build-guest: ERROR: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root"
[[ -x $BUSYBOX ]] || die "$BUSYBOX missing: install busybox-static (scripts/install-system.sh)"
for tool in cpio gzip dpkg apt-get apt-cache flock; do
    command -v "$tool" >/dev/null || die "$tool missing (scripts/install-system.sh)"
done

busybox_version=$(dpkg-query -W -f='${Version}' busybox-static)
want_key="GUEST_REV=$GUEST_REV BUSYBOX_VERSION=$busybox_version"

mkdir -p "$CACHE_DIR"
chmod 0755 "$CACHE_DIR" "$(dirname "$CACHE_DIR")"

# One builder at a time.
exec 9>"$CACHE_DIR/.lock"
flock 9

stamp_key() {
    # The part of the stamp that decides whether a rebuild is needed.
    [[ -f $CACHE_DIR/stamp ]] || return 0
    local rev bb
    rev=$(sed -n 's/^GUEST_REV=//p' "$CACHE_DIR/stamp")
    bb=$(sed -n 's/^BUSYBOX_VERSION=//p' "$CACHE_DIR/stamp")
    printf 'GUEST_REV=%s BUSYBOX_VERSION=%s' "$rev" "$bb"
}

if [[ ${TVIRT_GUEST_REBUILD:-0} != 1 && -s $CACHE_DIR/vmlinuz && -s $CACHE_DIR/initrd.gz \
      && "$(stamp_key)" == "$want_key" ]]; then
    log "cached guest is current ($(sed -n 's/^KERNEL_PACKAGE=//p' "$CACHE_DIR/stamp")), nothing to do"
    exit 0
fi

work=$(mktemp -d "$CACHE_DIR/.build.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
chmod 0755 "$work"

# --- kernel ---------------------------------------------------------------
log "step 1/4: finding the current Debian cloud kernel package"
kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null \
        | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9].*-cloud-amd64$/ {print $2; exit}')
if [[ -z $kpkg ]]; then
    kpkg=$(apt-cache search --names-only '^linux-image-[0-9].*-cloud-amd64$' 2>/dev/null \
            | awk '{print $1}' | grep -v -e '-dbg$' -e '-unsigned$' | sort -V | tail -n1 || true)
fi
[[ -n $kpkg ]] || die "no linux-image-*-cloud-amd64 in apt lists; run apt-get update"
kver=$(apt-cache policy "$kpkg" | awk '/Candidate:/ {print $2}')
log "step 1/4: kernel package $kpkg $kver"

log "step 2/4: apt-get download $kpkg"
mkdir -p "$work/dl"
# Let apt's _apt sandbox user write here (avoids the "unsandboxed" warning).
if getent passwd _apt >/dev/null; then chown _apt "$work/dl"; fi
(cd "$work/dl" && apt-get download -q "$kpkg" >/dev/null)
deb=$(find "$work/dl" -maxdepth 1 -name "${kpkg}_*.deb" -print -quit)
[[ -n $deb ]] || die "download of $kpkg produced no .deb"
dpkg -x "$deb" "$work/kernel"
vmlinuz=$(find "$work/kernel/boot" -maxdepth 1 -name 'vmlinuz-*' -print -quit)
[[ -n $vmlinuz ]] || die "$kpkg contains no boot/vmlinuz-*"
krel=${vmlinuz##*/vmlinuz-}

# --- initramfs ------------------------------------------------------------
log "step 3/4: building busybox initramfs (busybox-static $busybox_version)"
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,root,etc/acpi/PWRF,lib/modules,var/log}
ln -s ../run "$root/var/run"
cp "$BUSYBOX" "$root/bin/busybox"
# Applet symlinks at the paths busybox itself reports.
while read -r applet; do
    applet=${applet#/}
    [[ -n $applet && $applet != bin/busybox ]] || continue
    mkdir -p "$root/$(dirname "$applet")"
    ln -sf /bin/busybox "$root/$applet"
done < <("$BUSYBOX" --list-full)
[[ -e $root/bin/sh ]] || ln -s busybox "$root/bin/sh"

# ACPI power button -> clean power-off (virsh shutdown).
for mod in kernel/drivers/acpi/button.ko kernel/drivers/input/evdev.ko; do
    src=$work/kernel/lib/modules/$krel/$mod
    if [[ -f $src ]]; then cp "$src" "$root/lib/modules/"; fi
done

# virtio disk and NIC drivers with their dependencies, in load order, so a VM's virtio
# disks show up in /sys/block. The .deb has no modules.dep (depmod runs at install), so
# the dependencies come from each module's own "depends=" field. Stored decompressed:
# busybox insmod cannot read .ko.xz.
moddir=$work/kernel/lib/modules/$krel
mkdir -p "$root/lib/modules/virtio"
: > "$root/lib/modules/virtio/order"
declare -A seen_mod=()
module_text() {  # $1: module file; prints it decompressed
    case $1 in
        *.xz) xz -dc "$1" ;;
        *.zst) zstd -qdc "$1" ;;
        *) cat "$1" ;;
    esac
}
add_module() {  # $1: module name; its dependencies first
    local name=$1 file dep
    [[ -n ${seen_mod[$name]:-} ]] && return 0
    seen_mod[$name]=1
    file=$(find "$moddir/kernel" -name "$name.ko*" -print -quit)
    if [[ -z $file ]]; then log "note: module $name is built in or absent"; return 0; fi
    module_text "$file" > "$root/lib/modules/virtio/$name.ko"
    for dep in $(tr '\0' '\n' < "$root/lib/modules/virtio/$name.ko" \
                 | sed -n 's/^depends=//p' | tr ',' ' '); do
        add_module "$dep"
    done
    echo "$name.ko" >> "$root/lib/modules/virtio/order"
}
for want in virtio_pci virtio_blk virtio_net; do add_module "$want"; done

cat > "$root/etc/acpi/PWRF/00000080" <<'ACPI'
#!/bin/sh
echo "TVIRT-GUEST-POWEROFF" > /dev/ttyS0
sync
poweroff -f
ACPI
chmod 0755 "$root/etc/acpi/PWRF/00000080"

printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\n' > "$root/etc/group"
cat > "$root/etc/profile" <<'PROFILE'
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
export HOME=/root
export PS1='tvirt-guest# '
cd /root
PROFILE

cat > "$root/init" <<INIT
#!/bin/sh
# tvirt test guest init (GUEST_REV=$GUEST_REV, kernel $krel)
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
hostname tvirt-guest
for m in /lib/modules/*.ko; do [ -f "\$m" ] && insmod "\$m" 2>/dev/null; done
while read -r m; do insmod "/lib/modules/virtio/\$m" 2>/dev/null; done < /lib/modules/virtio/order
# busybox acpid exits at once if it cannot open its log file.
acpid -l /run/acpid.log -p /run/acpid.pid
echo "$MARKER" > /dev/ttyS0
while :; do
    setsid cttyhack sh -l </dev/ttyS0 >/dev/ttyS0 2>&1
    sleep 1
done
INIT
chmod 0755 "$root/init"

(cd "$root" && find . -print0 | LC_ALL=C sort -z \
    | cpio --null -o -H newc --owner 0:0 --quiet) | gzip -9 > "$work/initrd.gz"

# --- install atomically ---------------------------------------------------
log "step 4/4: installing into $CACHE_DIR"
install -m 0644 "$vmlinuz" "$work/vmlinuz.new"
chmod 0644 "$work/initrd.gz"
cat > "$work/stamp" <<STAMP
GUEST_REV=$GUEST_REV
BUSYBOX_VERSION=$busybox_version
KERNEL_PACKAGE=$kpkg
KERNEL_VERSION=$kver
KERNEL_RELEASE=$krel
STAMP
chmod 0644 "$work/stamp"
# Invalidate the old stamp first so a crash between the moves forces a rebuild.
rm -f "$CACHE_DIR/stamp"
mv -f "$work/vmlinuz.new" "$CACHE_DIR/vmlinuz"
mv -f "$work/initrd.gz" "$CACHE_DIR/initrd.gz"
mv -f "$work/stamp" "$CACHE_DIR/stamp"
log "built: kernel $krel ($(du -h "$CACHE_DIR/vmlinuz" | cut -f1)), initrd $(du -h "$CACHE_DIR/initrd.gz" | cut -f1)"
