"""Plain command: `tvirt cluster`, the cluster overview (tvirt.cluster) of every chosen
host: one block per host (its VMs by state, its pools' usage, its bricks, its Gluster
peer state), then each Gluster volume's health; `--json` prints the same as one object.
"""

from __future__ import annotations

import argparse
import json

from tvirt import cluster
from tvirt.cli.plumbing import EXIT_OK, CLIError, connect, json_option, readonly, wait
from tvirt.model import HostState
from tvirt.ops import cluster as cluster_ops


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser(
        "cluster",
        help="every host at a glance (VMs, pools, bricks) and the Gluster volumes' health",
    )
    json_option(cmd)
    cmd.set_defaults(run=run_cluster)


def lines(view: cluster.Overview) -> list[str]:
    """The overview as plain lines: one block per host, then the volumes."""
    out: list[str] = []
    for host in view.hosts:
        if host.state == "lost":
            out.append(f"{host.label}: lost: {host.error}")
        else:
            out.append(f"{host.label}: up, {host.vm_words}")
            out.append("  pools: " + (", ".join(p.words for p in host.pools) or "none"))
        for brick in host.bricks:
            out.append(f"  brick {brick.name} ({brick.volume}): {brick.words}")
        if host.peer:
            out.append(f"  gluster peer: {host.peer}")
    if view.gluster_error:
        out.append(f"Gluster: {view.gluster_error}")
    elif view.volumes:
        out.append(f"Gluster volumes (asked on {view.gluster_host}):")
        out += [f"  {v.name}: {v.words}" for v in view.volumes]
    return out


def run_cluster(args: argparse.Namespace) -> int:
    manager, inventory = connect(args)
    try:
        hosts = []
        for info in sorted(inventory.host_list(), key=lambda h: h.label):
            up = info.state is HostState.CONNECTED
            worker = manager.get(info.host_id) if up else None
            why = "" if up else info.error or info.state.word
            hosts.append(cluster_ops.host_for(info.host_id, worker, readonly(args), why))
        if not hosts:
            raise CLIError("No hosts to show.")
        view = wait(cluster_ops.overview(hosts), args.timeout + 120, "the cluster")
    finally:
        manager.stop()
    if getattr(args, "json", False):
        print(json.dumps(view.as_dict(), indent=2))
    else:
        print("\n".join(lines(view)))
    return EXIT_OK
