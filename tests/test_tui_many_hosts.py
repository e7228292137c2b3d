"""Many hosts at once (issue 20): the Hosts panel turns to one line per host, all of them
labelled apart, and the status line counts every VM. Test-driver node files, one a host."""

from __future__ import annotations

import shutil
from pathlib import Path

from tui_helpers import settled
from tvirt.model import HostState
from tvirt.screens.app import TvirtApp
from tvirt.screens.host_list import COMPACT_ABOVE

FIXTURES = Path(__file__).parent / "fixtures"
HOSTS = COMPACT_ABOVE + 4  # past the one-line threshold
LAB_VMS = 6


def _uris(tmp_path: Path, count: int) -> list[str]:
    uris = []
    for i in range(count):
        node = tmp_path / f"rack{i:02d}" / "lab.xml"
        node.parent.mkdir()
        shutil.copy(FIXTURES / "lab.xml", node)
        uris.append(f"test://{node}")
    return uris


async def test_many_hosts_show_one_line_each_and_every_vm_counts(tmp_path: Path) -> None:
    uris = _uris(tmp_path, HOSTS)
    app = TvirtApp(uris=uris, stats=False)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.dashboard.table

        def all_in() -> bool:
            hosts = list(app.hosts.values())
            return (len(hosts) == HOSTS and all(h.state is HostState.CONNECTED for h in hosts)
                    and table.row_count == HOSTS * LAB_VMS)

        await settled(pilot, all_in, "every host listed")
        panel = app.dashboard.host_list
        assert panel.one_line
        prompts = [str(panel.get_option(uri).prompt) for uri in uris]
        labels = {app.hosts[uri].label for uri in uris}
        assert len(labels) == HOSTS  # told apart
        for uri, prompt in zip(uris, prompts, strict=True):
            assert "\n" not in prompt
            assert prompt == f"{app.hosts[uri].label} connected, {LAB_VMS} VMs, CPU n/a"
        # Drawn on one line each too, even in the narrow pane of 80 columns, where an
        # entry is too long for it and ends in an ellipsis.
        await pilot.resize_terminal(80, 40)
        await pilot.pause()
        assert panel.size.width < len(prompts[0])
        drawn = [strip.text for strip in panel.render_lines(panel.region.reset_offset)]
        assert len([line for line in drawn if line.strip()]) == HOSTS
        status = str(app.dashboard.query_one("#status").render())
        assert f"{HOSTS * LAB_VMS} VMs" in status and f"{HOSTS} hosts, {HOSTS} connected" in status

        # Down to the threshold, entries are full again (state, machine, stats lines).
        for uri in uris[COMPACT_ABOVE:]:
            app.remove_connection(uri)
        await pilot.pause()
        assert not panel.one_line
        assert "\n" in str(panel.get_option(uris[0]).prompt)
