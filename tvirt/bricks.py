"""The brick and volume wizard: safe disks on chosen hosts become XFS bricks (on an LVM thin
LV, or straight on the disk), the bricks a started replica-3 (or arbiter) Gluster volume,
and optionally a libvirt gluster or netfs pool.

A plan is a list of Steps, each an argv on one host (or one libvirt call) with the commands
that reverse it. A dry run prints the plan. Running stops at the first failure and reports
what was done and what was not; `undo` reverses what was done, newest first. Just before the
first step every disk is read and classified again (`changed`); a disk that changed since the
person confirmed the plan stops the run before anything is made. The disks cannot be held
open exclusively meanwhile, since pvcreate, mkfs and mount each need that for themselves.
"""

from __future__ import annotations

import re
import shlex
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from tvirt import disks
from tvirt.errors import TvirtError
from tvirt.gluster import GLUSTER
from tvirt.readonly import refusal
from tvirt.remote import RemoteError, Runner
from tvirt.steplog import StepLog, default_path

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,47}$")
BRICK_ROOT = "/gluster_bricks"
FSTAB_MARK = "# tvirt-brick"
# Thin pool at 90% of the VG leaves room for pool metadata growth.
POOL_EXTENTS = "90%FREE"
MOUNT_OPTIONS = "inode64,noatime,nodiratime"
# mkfs.xfs (5.19 on) refuses smaller file systems unless told --unsupported (test disks).
XFS_MINIMUM = 300 * 1000 * 1000
VIRT_GROUP = "/var/lib/glusterd/groups/virt"
# Gluster's virt profile (groups/virt as glusterfs 10 ships it), set one by one on a host
# whose glusterd lacks the group file.
VIRT_OPTIONS = (
    ("performance.quick-read", "off"), ("performance.read-ahead", "off"),
    ("performance.io-cache", "off"), ("performance.low-prio-threads", "32"),
    ("network.remote-dio", "disable"), ("performance.strict-o-direct", "on"),
    ("cluster.eager-lock", "enable"), ("cluster.quorum-type", "auto"),
    ("cluster.server-quorum-type", "server"), ("cluster.data-self-heal-algorithm", "full"),
    ("cluster.locking-scheme", "granular"), ("cluster.shd-max-threads", "8"),
    ("cluster.shd-wait-qlength", "10000"), ("features.shard", "on"), ("user.cifs", "off"),
    ("cluster.choose-local", "off"), ("client.event-threads", "4"),
    ("server.event-threads", "4"), ("performance.client-io-threads", "on"),
    ("network.ping-timeout", "20"), ("server.tcp-user-timeout", "20"),
    ("server.keepalive-time", "10"), ("server.keepalive-interval", "2"),
    ("server.keepalive-count", "5"), ("cluster.lookup-optimize", "off"),
)

# Calls a libvirt function on the host worker and waits for it (off the UI thread).
LibvirtCall = Callable[[Callable[[Any], Any]], Any]


class Layout(Enum):
    LVM_THIN = "lvm-thin"  # pvcreate, vgcreate, thin pool, thin LV (the oVirt layout)
    XFS = "xfs"  # XFS straight on the disk, for hosts without device-mapper


class PoolType(Enum):
    NONE = "none"
    GLUSTER = "gluster"
    NETFS = "netfs"


class PlanError(TvirtError, ValueError):
    """The wizard's input is refused; one sentence."""


@dataclass
class BrickSpec:
    runner: Runner
    device: disks.Device
    gluster_host: str  # the name gluster knows this host by (its peer hostname)
    layout: Layout | None = None  # this host's own (device-mapper or not); None: the wizard's
    libvirt: LibvirtCall | None = None  # this host's worker, for its pool


@dataclass
class Step:
    host: str
    what: str
    argv: list[str] = field(default_factory=list)
    undo: list[list[str]] = field(default_factory=list)
    input: bytes | None = None
    runner: Runner | None = None
    libvirt: Callable[[Any], Any] | None = None
    libvirt_undo: Callable[[Any], Any] | None = None
    shown: str = ""  # how a libvirt step reads in a dry run
    call: LibvirtCall | None = None  # the host's worker for a libvirt step (else the run's)
    phase: int = 0  # a brick step's kind: several hosts' bricks are made kind by kind

    @property
    def command(self) -> str:
        if self.shown:
            return self.shown
        text = shlex.join(self.argv)
        if self.input is not None:
            text += f" <<< {shlex.quote(self.input.decode().rstrip())}"
        return text

    def undo_text(self) -> list[str]:
        if self.libvirt_undo is not None:
            return [f"libvirt: remove what '{self.what}' made"]
        return [shlex.join(u) for u in self.undo]


@dataclass
class Outcome:
    done: list[Step]
    failed: Step | None
    not_done: list[Step]
    error: str = ""
    undone: list[str] = field(default_factory=list)
    undo_errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed is None and not self.error

    def summary(self) -> list[str]:
        lines = [f"done: {s.host}: {s.what}" for s in self.done]
        if self.failed is not None:
            lines.append(f"failed: {self.failed.host}: {self.failed.what}: {self.error}")
        lines += [f"not done: {s.host}: {s.what}" for s in self.not_done]
        return lines

    def per_host(self) -> list[str]:
        """One line per host: how many of its steps were done, failed and not done."""
        hosts = dict.fromkeys(s.host for s in [*self.done, *self.not_done, self.failed] if s)
        lines = []
        for host in hosts:
            done = sum(s.host == host for s in self.done)
            left = sum(s.host == host for s in self.not_done)
            failed = self.failed is not None and self.failed.host == host
            lines.append(
                f"{host}: {done} done" + (", 1 failed" if failed else "") + f", {left} not done"
            )
        return lines


@dataclass
class Wizard:
    volume: str
    bricks: list[BrickSpec]
    layout: Layout = Layout.LVM_THIN
    arbiter: bool = False
    pool: PoolType = PoolType.NONE
    pool_name: str = ""
    brick_root: str = BRICK_ROOT
    readonly: bool = False
    wipe: bool = False  # wipefs --all each disk first (the wipe wizard's signatures method)
    virt: bool = False  # apply Gluster's virt profile (group virt) before starting
    virt_group: bool = True  # the first host has groups/virt; else the options one by one
    known_peers: frozenset[str] = frozenset()  # the first host's peers before the run

    def check(self) -> None:
        if self.readonly:
            raise PlanError(refusal(f"create the bricks and volume {self.volume}"))
        check_name(self.volume)
        if self.pool is not PoolType.NONE and not NAME_RE.match(self.pool_name or self.volume):
            raise PlanError(f"'{self.pool_name}' is not a usable pool name.")
        if len(self.bricks) != 3:
            raise PlanError(
                f"A replica-3 volume needs exactly 3 bricks; {len(self.bricks)} were chosen."
            )
        seen = set()
        for spec in self.bricks:
            dev = spec.device
            key = (spec.runner.host, dev.path)
            if key in seen:
                raise PlanError(f"{dev.path} on {spec.runner.host} was chosen twice.")
            seen.add(key)
            if dev.safety is not disks.Safety.SAFE:
                raise PlanError(
                    f"{dev.path} on {spec.runner.host} is {dev.safety.value}: {dev.reason}."
                )

    def mountpoints(self) -> list[str]:
        per_host: dict[str, int] = {}
        for spec in self.bricks:
            per_host[spec.gluster_host] = per_host.get(spec.gluster_host, 0) + 1
        counters: dict[str, int] = {}
        paths = []
        for spec in self.bricks:
            n = counters[spec.gluster_host] = counters.get(spec.gluster_host, 0) + 1
            suffix = f"-{n}" if per_host[spec.gluster_host] > 1 else ""
            paths.append(f"{self.brick_root}/{self.volume}{suffix}")
        return paths

    def hosts(self) -> list[BrickSpec]:
        """One spec per distinct host, in the order chosen (the first runs gluster)."""
        seen: dict[str, BrickSpec] = {}
        for spec in self.bricks:
            seen.setdefault(spec.runner.host, spec)
        return list(seen.values())

    def plan(self, checked: bool = True) -> list[Step]:
        """Every step. checked=False skips the input checks: the plan of a run already made,
        rebuilt to undo it (its disks are bricks now, no longer safe)."""
        if checked:
            self.check()
        bricks: list[Step] = []
        brick_dirs = []
        for i, (spec, mount) in enumerate(zip(self.bricks, self.mountpoints(), strict=True)):
            bricks += self._brick_steps(spec, mount, i)
            brick_dirs.append(f"{spec.gluster_host}:{mount}/brick")
        hosts = self.hosts()
        if len(hosts) > 1:
            # Kind by kind across hosts: every mount is undone before any mount point is
            # removed, so a mount point that hosts share (one root file system) stays put.
            bricks.sort(key=lambda step: step.phase)
        steps = bricks + self._probe_steps(hosts)
        first = self.bricks[0].runner
        create = [*GLUSTER, "volume", "create", self.volume, "replica", "3"]
        if self.arbiter:
            create += ["arbiter", "1"]
        create += brick_dirs
        if len({s.gluster_host for s in self.bricks}) < len(self.bricks):
            # gluster refuses several replicas on one host without force (no redundancy);
            # the dry run shows it so nobody is surprised.
            create.append("force")
        steps.append(
            Step(
                first.host,
                f"create volume {self.volume}",
                create,
                [[*GLUSTER, "volume", "delete", self.volume]],
                runner=first,
            )
        )
        if self.virt:
            steps += self._virt_steps(first)
        steps.append(
            Step(
                first.host,
                f"start volume {self.volume}",
                [*GLUSTER, "volume", "start", self.volume],
                [[*GLUSTER, "volume", "stop", self.volume, "force"]],
                runner=first,
            )
        )
        if self.pool is not PoolType.NONE:
            steps += [self._pool_step(spec) for spec in hosts]
        return steps

    def _probe_steps(self, hosts: list[BrickSpec]) -> list[Step]:
        """The first host probes the others under the names the volume's bricks use.
        Probing a peer again changes nothing; only a peer this run added is detached."""
        first = hosts[0].runner
        steps = []
        for spec in hosts[1:]:
            name = spec.gluster_host
            known = name in self.known_peers
            steps.append(
                Step(
                    first.host,
                    f"probe peer {name}" + (" (already a peer)" if known else ""),
                    [*GLUSTER, "peer", "probe", name],
                    [] if known else [[*GLUSTER, "peer", "detach", name]],
                    runner=first,
                )
            )
        return steps

    def _virt_steps(self, first: Runner) -> list[Step]:
        base = [*GLUSTER, "volume", "set", self.volume]
        if self.virt_group:
            return [Step(first.host, "apply the virt profile (group virt)",
                         [*base, "group", "virt"], runner=first)]
        return [
            Step(first.host, f"set {key}={value} (virt profile)", [*base, key, value],
                 runner=first)
            for key, value in VIRT_OPTIONS
        ]

    def _brick_steps(self, spec: BrickSpec, mount: str, index: int) -> list[Step]:
        r, dev, host = spec.runner, spec.device.path, spec.runner.host
        steps = []
        if self.wipe:
            steps.append(Step(host, f"wipe the signatures of {dev}", ["wipefs", "--all", dev],
                              runner=r, phase=0))
        if (spec.layout or self.layout) is Layout.LVM_THIN:
            vg = f"gluster_vg_{self.volume}_{index}".replace("-", "_")
            pool, lv = f"gluster_thinpool_{vg}", f"gluster_lv_{self.volume}".replace("-", "_")
            size_mib = max(spec.device.size * 8 // 10 // 1048576, 16)
            fs_dev = f"/dev/{vg}/{lv}"
            steps += [
                Step(
                    host,
                    f"make {dev} an LVM physical volume",
                    ["pvcreate", "-y", dev],
                    [["pvremove", "-y", dev]],
                    runner=r,
                    phase=1,
                ),
                Step(
                    host,
                    f"create volume group {vg}",
                    ["vgcreate", vg, dev],
                    [["vgremove", "-y", vg]],
                    runner=r,
                    phase=2,
                ),
                Step(
                    host,
                    f"create thin pool {vg}/{pool}",
                    ["lvcreate", "-y", "--type", "thin-pool", "-l", POOL_EXTENTS, "-n", pool, vg],
                    [["lvremove", "-y", f"{vg}/{pool}"]],
                    runner=r,
                    phase=3,
                ),
                Step(
                    host,
                    f"create thin LV {vg}/{lv}",
                    [
                        "lvcreate",
                        "-y",
                        "--type",
                        "thin",
                        "-V",
                        f"{size_mib}m",
                        "--thinpool",
                        pool,
                        "-n",
                        lv,
                        vg,
                    ],
                    [["lvremove", "-y", f"{vg}/{lv}"]],
                    runner=r,
                    phase=4,
                ),
                Step(
                    host,
                    f"make an XFS filesystem on {fs_dev}",
                    mkfs(fs_dev, size_mib * 1048576),
                    [],
                    runner=r,
                    phase=5,
                ),
            ]
        else:
            fs_dev = dev
            steps.append(
                Step(
                    host,
                    f"make an XFS filesystem on {dev}",
                    mkfs(dev, spec.device.size),
                    [["wipefs", "--all", dev]],
                    runner=r,
                    phase=5,
                ),
            )
        line = f"{fs_dev} {mount} xfs {MOUNT_OPTIONS} 0 0 {FSTAB_MARK} {mount}\n"
        pattern = re.escape(f"{FSTAB_MARK} {mount}").replace("/", "\\/")
        steps += [
            Step(
                host,
                f"create mount point {mount}",
                ["mkdir", "-p", mount],
                # rm -d removes only an empty directory; -f: another host sharing this root
                # file system (the lab's nodes) may have removed it already.
                [["rm", "-d", "-f", mount]],
                runner=r,
                phase=6,
            ),
            Step(
                host,
                f"add an fstab entry for {mount}",
                ["tee", "-a", "/etc/fstab"],
                [["sed", "-i", f"/ {pattern}$/d", "/etc/fstab"]],
                input=line.encode(),
                runner=r,
                phase=7,
            ),
            # The device named, not only the mount point: an fstab that hosts share (or a
            # stale line) cannot make it mount another host's disk.
            Step(host, f"mount {mount}",
                 ["mount", "-t", "xfs", "-o", MOUNT_OPTIONS, fs_dev, mount],
                 [["umount", mount]], runner=r, phase=8),
            Step(
                host,
                f"create brick directory {mount}/brick",
                ["mkdir", f"{mount}/brick"],
                [],
                runner=r,
                phase=9,
            ),
        ]
        return steps

    def _pool_step(self, spec: BrickSpec) -> Step:
        """The pool on spec's host: mounted from that host's own glusterd, at the same path
        on every host, so a VM's disk path holds wherever it runs."""
        name = self.pool_name or self.volume
        xml = pool_xml(name, self.pool, self.volume, spec.gluster_host)

        def define(conn: Any) -> None:
            pool = conn.storagePoolDefineXML(xml, 0)
            try:
                if self.pool is PoolType.NETFS:
                    pool.build(0)  # creates the mount directory
                pool.create(0)
            except Exception:
                pool.undefine()  # leave no half-made pool behind
                raise

        def remove(conn: Any) -> None:
            try:
                pool = conn.storagePoolLookupByName(name)
            except Exception:
                return  # never made (or already gone)
            if pool.isActive():
                pool.destroy()
            if self.pool is PoolType.NETFS:
                pool.delete(0)  # the mount directory that build() made
            pool.undefine()

        return Step(
            spec.runner.host,
            f"define and start libvirt {self.pool.value} pool {name}",
            libvirt=define,
            libvirt_undo=remove,
            shown=f"libvirt: define and start pool: {xml}",
            call=spec.libvirt,
        )


def check_name(volume: str) -> None:
    """A PlanError unless volume is a name Gluster (and a mount point) can take."""
    if not NAME_RE.match(volume):
        raise PlanError(
            f"'{volume}' is not a usable volume name: start with a letter, then "
            "letters, digits, '-' or '_', at most 48."
        )


def mkfs(device: str, size: int) -> list[str]:
    """The brick's mkfs.xfs; a disk under XFS's minimum (a test disk) needs --unsupported."""
    small = ["--unsupported"] if size < XFS_MINIMUM else []
    return ["mkfs.xfs", *small, "-f", "-i", "size=512", device]


def small_disks(specs: list[BrickSpec]) -> list[str]:
    """A sentence per disk below XFS's minimum size, for the notes before confirming."""
    return [
        f"{s.runner.host}: {s.device.path} is smaller than XFS's 300 MB minimum, so mkfs.xfs "
        "runs with --unsupported (fit for tests, not for VMs that matter)."
        for s in specs
        if s.device.size < XFS_MINIMUM
    ]


def pool_xml(name: str, kind: PoolType, volume: str, host: str) -> str:
    pool = ET.Element("pool", type=kind.value)
    ET.SubElement(pool, "name").text = name
    source = ET.SubElement(pool, "source")
    ET.SubElement(source, "host", name=host)
    if kind is PoolType.GLUSTER:
        ET.SubElement(source, "dir", path="/")
        ET.SubElement(source, "name").text = volume
    else:
        ET.SubElement(source, "dir", path=f"/{volume}")
        ET.SubElement(source, "format", type="glusterfs")
        target = ET.SubElement(pool, "target")
        ET.SubElement(target, "path").text = f"/var/lib/libvirt/images/{name}"
    return ET.tostring(pool, encoding="unicode")


def changed(
    specs: list[BrickSpec], devices: Callable[[Runner], list[disks.Device]]
) -> list[str]:
    """What changed on each chosen disk since it was confirmed, read afresh per host through
    devices(runner); empty when nothing did."""
    fresh: dict[str, list[disks.Device]] = {}
    found = []
    for spec in specs:
        host = spec.runner.host
        try:
            if host not in fresh:
                fresh[host] = devices(spec.runner)
        except RemoteError as exc:
            return [f"the disks of {host} could not be read again ({exc})"]
        now = disks.find(fresh[host], spec.device.path)
        found += [f"{spec.device.path} on {host}: {c}" for c in disks.changes(spec.device, now)]
    return found


def execute(
    steps: list[Step],
    libvirt_call: LibvirtCall | None = None,
    on_step: Callable[[Step, str], object] | None = None,
    log: Path | None = None,
    subject: str = "",
    recheck: Callable[[], list[str]] | None = None,
) -> Outcome:
    """Run steps in order; stop at the first failure. Never raises for a failed step.
    recheck() runs first; anything it returns (what changed) stops the run untouched."""
    logger = StepLog(log or default_path("bricks.log"), "", f"wizard={subject}")
    problems = recheck() if recheck is not None else []
    if problems:
        error = "changed since the plan was confirmed: " + "; ".join(problems)
        logger.write(f"refused: {error}")
        return Outcome([], None, list(steps), error + "; nothing was run")
    done: list[Step] = []
    for i, step in enumerate(steps):
        if on_step:
            on_step(step, "running")
        error = _run_one(step, libvirt_call)
        logger.write(f"ran {step.command} -> {error or 'ok'}", host=step.host)
        if error:
            if on_step:
                on_step(step, "failed")
            return Outcome(done, step, steps[i + 1 :], error)
        done.append(step)
        if on_step:
            on_step(step, "done")
    return Outcome(done, None, [])


def _run_one(step: Step, libvirt_call: LibvirtCall | None) -> str:
    try:
        if step.libvirt is not None:
            call = step.call or libvirt_call
            if call is None:
                return "no libvirt connection to define the pool on"
            call(step.libvirt)
            return ""
        assert step.runner is not None
        result = step.runner.run(step.argv, input=step.input, timeout=600)
        return "" if result.ok else result.sentence()
    except RemoteError as exc:
        return str(exc)
    except Exception as exc:  # a libvirt error from the pool step
        return str(exc).strip() or type(exc).__name__


def undo(
    outcome: Outcome,
    libvirt_call: LibvirtCall | None = None,
    log: Path | None = None,
    subject: str = "",
) -> Outcome:
    """Reverse every done step, newest first; keeps going past failures and lists them."""
    logger = StepLog(log or default_path("bricks.log"), "", f"undo={subject}")
    todo = list(outcome.done)
    if outcome.failed is not None and outcome.failed.libvirt_undo is not None:
        # A libvirt call can fail after doing part of its work (the connection dropped
        # between define and start): its undo looks first and removes only what exists.
        todo.append(outcome.failed)
    for step in reversed(todo):
        if step.libvirt_undo is not None:
            try:
                call = step.call or libvirt_call
                if call is None:
                    raise RuntimeError("no libvirt connection")
                call(step.libvirt_undo)
                outcome.undone.append(f"{step.host}: undid {step.what}")
            except Exception as exc:
                outcome.undo_errors.append(f"{step.host}: {step.what}: {exc}")
            continue
        for argv in step.undo:
            assert step.runner is not None
            try:
                result = step.runner.run(argv, timeout=600)
                error = "" if result.ok else result.sentence()
            except RemoteError as exc:
                error = str(exc)
            logger.write(f"undo ran {shlex.join(argv)} -> {error or 'ok'}", host=step.host)
            if error:
                outcome.undo_errors.append(error)
            else:
                outcome.undone.append(f"{step.host}: {shlex.join(argv)}")
    return outcome
