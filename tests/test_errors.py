"""The sentences for a proxy program missing on an ssh URI's far host.

The real failure (netcat= naming a missing program) is in test_real_ssh_errors.py. Which
shell answers depends on the far host, so the other wordings are given here as text: the
error is built from the message alone, as libvirt's own would carry it.
"""

from __future__ import annotations

import libvirt
import pytest

from tvirt.errors import explain

NC_MISSING = (
    "nc (netcat) is not installed on node1, and libvirt runs it there to reach the libvirt "
    "socket: install netcat-openbsd on node1, or drop the URI's socket= and proxy=netcat "
    "options so that libvirt can use virt-ssh-helper."
)
HELPER_MISSING = (
    "virt-ssh-helper is not installed on node1, and libvirt runs it there to reach the "
    "libvirt socket: install libvirt-daemon on node1, or put proxy=netcat in the URI if "
    "netcat is installed there."
)
EOF_PREFIX = "End of file while reading data: "


@pytest.mark.parametrize(
    ("complaint", "sentence"),
    [
        ("sh: 1: nc: not found", NC_MISSING),  # dash, as seen from libvirt here
        ("sh: line 1: nc: command not found", NC_MISSING),  # bash as sh
        ("sh: nc: not found", NC_MISSING),  # busybox
        ("sh: 1: virt-ssh-helper: not found", HELPER_MISSING),
        (
            "sh: 1: /usr/bin/nc6: not found",
            "/usr/bin/nc6, the program named by the URI's netcat= option, is not installed on "
            "node1: install it there, or correct or drop the netcat= option.",
        ),
    ],
)
def test_missing_program_on_the_far_host(complaint: str, sentence: str) -> None:
    error = libvirt.libvirtError(f"{EOF_PREFIX}{complaint}: Input/output error")
    assert explain(error, "node1") == sentence


def test_a_missing_socket_is_not_a_missing_program() -> None:
    error = libvirt.libvirtError(
        f"{EOF_PREFIX}nc: /run/libvirt/no-such-sock: No such file or directory: "
        "Input/output error"
    )
    assert explain(error, "node1").startswith("The libvirt socket was not found on node1")


def test_only_libvirt_errors_name_the_proxy() -> None:
    # A remote command of tvirt's own (lsblk over ssh, say) is not libvirt's proxy.
    assert "netcat" not in explain(RuntimeError("sh: 1: lsblk: not found"), "node1")
