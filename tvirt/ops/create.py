"""A new VM from a VMSpec: what the host offers, the checks a wizard step or the command
makes, the XML it will define, and creating it (nothing left behind on failure)."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import replace

import libvirt

from tvirt import vmcreate
from tvirt.ops.run import Host, on_host
from tvirt.vmcreate import Created
from tvirt.vmspec import DiskKind, HostLimits, VMSpec, build_xml, problems


def limits(host: Host) -> Future[HostLimits]:
    """Memory, CPUs, virtualization types, and the names of VMs, pools and networks."""
    return on_host(host, vmcreate.host_limits)


def path_problems(host: Host, spec: VMSpec, step: str = "") -> Future[list[str]]:
    """The files the spec (or one wizard step of it) names that are not on the host."""
    return on_host(host, lambda conn: vmcreate.path_problems(conn, spec, step))


def build(host: Host, spec: VMSpec) -> Future[str]:
    """The domain XML the spec makes, unchecked (a new volume at its planned path)."""
    return on_host(host, lambda conn: _xml(conn, spec))


def preview(host: Host, spec: VMSpec) -> Future[str]:
    """The XML create would define: the virtualization type chosen when the spec has
    none, and a CreateError naming every problem instead when the spec cannot be made."""

    def job(conn: libvirt.virConnect) -> str:
        typed, _why = _with_type(conn, spec)
        found = problems(typed, vmcreate.host_limits(conn)) or vmcreate.path_problems(conn, typed)
        if found:
            raise vmcreate.CreateError(" ".join(found))
        return _xml(conn, typed)

    return on_host(host, job)


def create(host: Host, spec: VMSpec, *, xml: str = "", start: bool = False) -> Future[Created]:
    """Check, make the new volume, define (xml, when given, instead of the built XML) and
    optionally start. With no virtualization type in the spec tvirt chooses one, and the
    message says why."""

    def job(conn: libvirt.virConnect) -> Created:
        typed, why = _with_type(conn, spec)
        done = vmcreate.create(conn, typed, xml=xml, start=start)
        if not why:
            return done
        return replace(done, message=f"{done.message} Virtualization type {why}".strip())

    return on_host(host, job, change=f"create {spec.name}")


def _xml(conn: libvirt.virConnect, spec: VMSpec) -> str:
    fmt = spec.disk_format if spec.disk is DiskKind.NEW else ""
    return build_xml(spec, vmcreate.planned_disk_path(conn, spec), fmt)


def _with_type(conn: libvirt.virConnect, spec: VMSpec) -> tuple[VMSpec, str]:
    """The spec with a virtualization type, and why that one when tvirt chose it."""
    if spec.domain_type:
        return spec, ""
    kind, why = vmcreate.choose_domain_type(vmcreate.host_limits(conn))
    return replace(spec, domain_type=kind), why
