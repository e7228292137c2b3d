"""Recorded real output (gluster --xml, lsblk --json, wipefs --json) for the Gluster screens.

Recorded by running the real tools on this test bed: the test bed's volume plus a volume
tvirt-test-snap whose second brick process had been killed. Snapshots need fixed data, which
a live glusterd cannot give (ports, pids and free space change); the parsing and
classification code that runs on it is the real one.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from concurrent.futures import Future
from pathlib import Path

from tvirt import disks, gluster
from tvirt.ops.hostcmd import CommandHost, Listing
from tvirt.remote import Runner

HERE = Path(__file__).parent / "fixtures" / "gluster"


def _xml(name: str) -> ET.Element:
    return ET.fromstring((HERE / name).read_text())


def recorded_state() -> gluster.GlusterState:
    state = gluster.GlusterState("localhost")
    state.volumes = gluster.parse_info(_xml("info.xml"))
    state.peers = gluster.parse_peers(_xml("pool.xml"))
    for vol in state.volumes:
        gluster.apply_status(vol, _xml(f"status-{vol.name}.xml"))
        gluster.apply_heal(vol, _xml(f"heal-{vol.name}.xml"))
        gluster.apply_heal(vol, _xml(f"split-{vol.name}.xml"), split_brain=True)
        vol.pools = ["vmstore"] if vol.name == "tvirt-test" else []
    return state


def recorded_devices(name: str = "lsblk.json") -> list[disks.Device]:
    data = json.loads((HERE / name).read_text())
    return disks.from_facts(json.dumps(data["lsblk"]), data["wipefs"], {})


def recorded_collect(_host: CommandHost) -> Future[gluster.GlusterState]:
    """What the Gluster view's collect gives, from the recording (GlusterScreen(collect=))."""
    done: Future[gluster.GlusterState] = Future()
    done.set_result(recorded_state())
    return done


class RecordedOps(CommandHost):
    def __init__(self, devices: str = "lsblk.json") -> None:
        super().__init__("localhost qemu/system", Runner("localhost"), None, gluster_host="vm")
        self._devices = devices

    def devices(self) -> list[disks.Device]:
        return recorded_devices(self._devices)

    def listing(self) -> Listing:
        # The wizards read devices through tvirt.ops.disks.listing, which asks this.
        return Listing(self.devices())
