"""The progress protocol (pure), its words, and the terminal renderer's lines.

Elapsed times are given in the events (the operations' own clocks), so no test here
reads a clock. The real operations reporting through it are tested in
test_real_storage.py (upload, download, cancel) and test_disks_real.py (wipe).
"""

from __future__ import annotations

import io

import libvirt

from tvirt import progress
from tvirt.cli.progress_term import TerminalProgress
from tvirt.migrate import job_progress
from tvirt.progress import Advanced, Cancelled, CancelToken, Finished, Started
from tvirt.sizes import GIB, MIB


def test_fraction_and_rate() -> None:
    step = Advanced(2 * GIB, 8 * GIB, elapsed=4.0)
    assert step.fraction == 0.25
    assert step.rate == GIB / 2
    assert not step.complete
    assert Advanced(8 * GIB, 8 * GIB, elapsed=1.0).complete
    assert Advanced(5, None).fraction is None  # total unknown
    assert Advanced(5, 0).fraction is None
    assert Advanced(5, None).rate is None  # no elapsed time
    assert Advanced(0, 10, elapsed=3.0).rate is None  # nothing moved yet
    assert Advanced(42, unit="percent", elapsed=3.0).fraction == 0.42
    assert Advanced(42, unit="percent", elapsed=3.0).rate is None
    assert Advanced(100, unit="percent").complete


def test_the_words_of_a_line() -> None:
    start = Started("big.img", "uploaded", 8 * GIB)
    # the transfer line, worded as before the protocol existed
    assert progress.line(start, Advanced(GIB, 8 * GIB, elapsed=10.0)) == (
        "big.img: uploaded 1 GiB of 8 GiB (12%), 102.4 MiB/s"
    )
    assert progress.describe("uploaded", Advanced(8 * GIB, 8 * GIB, elapsed=80.0)) == (
        "uploaded 8 GiB of 8 GiB (100%), 102.4 MiB/s"
    )
    assert progress.describe("migrated", Advanced(0, None, detail="starting")) == (
        "migrated 0 B, starting"
    )
    assert progress.describe("zeroed", Advanced(3 * MIB, 0, elapsed=1.0)) == (
        "zeroed 3 MiB of 0 B, 3 MiB/s"
    )
    assert progress.describe("checked", Advanced(42, unit="percent", detail="3 left")) == (
        "checked 42%, 3 left"
    )


def test_events_are_values() -> None:
    assert Started("a", "b", 1) == Started("a", "b", 1)
    assert Finished("Done.") != Cancelled("Done.")
    assert progress.ignore(Finished("x")) is None


def test_cancel_token() -> None:
    token = CancelToken()
    assert not token.cancelled
    token.cancel()
    token.cancel()  # twice is fine
    assert token.cancelled


def test_terminal_prints_a_line_each_second_and_the_last() -> None:
    out = io.StringIO()
    show = TerminalProgress(out=out)
    show(Started("big.img", "downloaded", 10 * MIB))
    for second in (0.2, 0.5, 1.0, 1.5, 2.0, 2.2):
        show(Advanced(int(second * MIB), 10 * MIB, elapsed=second))
    show(Advanced(10 * MIB, 10 * MIB, elapsed=2.5))  # the end prints at once
    show(Finished("Downloaded 10 MiB."))  # the command says that itself
    show(Cancelled("never"))
    assert out.getvalue().splitlines() == [
        "big.img: downloaded 1 MiB of 10 MiB (10%), 1 MiB/s",
        "big.img: downloaded 2 MiB of 10 MiB (20%), 1 MiB/s",
        "big.img: downloaded 10 MiB of 10 MiB (100%), 4 MiB/s",
    ]


def test_terminal_is_quiet_for_json_and_starts_afresh() -> None:
    out = io.StringIO()
    quiet = TerminalProgress(quiet=True, out=out)
    quiet(Started("/dev/loop0", "zeroed", 64 * MIB))
    quiet(Advanced(64 * MIB, 64 * MIB, elapsed=2.0))
    assert out.getvalue() == ""
    show = TerminalProgress(out=out)
    show(Started("a", "zeroed", 4))
    show(Advanced(1, 4, elapsed=5.0))
    show(Started("b", "zeroed", 4))  # a new operation: its first second counts again
    show(Advanced(1, 4, elapsed=0.5))
    show(Advanced(2, 4, elapsed=1.0))
    assert out.getvalue().splitlines() == ["a: zeroed 1 B of 4 B (25%), 0 B/s",
                                           "b: zeroed 2 B of 4 B (50%), 2 B/s"]


def test_migration_job_statistics_as_progress() -> None:
    """The keys libvirt's virDomainGetJobStats returns during a migration."""
    running = {
        "type": libvirt.VIR_DOMAIN_JOB_UNBOUNDED,
        "time_elapsed": 4000,
        "data_total": 280 * MIB,
        "data_processed": 120 * MIB,
        "data_remaining": 160 * MIB,
    }
    step = job_progress(running)
    assert step == Advanced(120 * MIB, 280 * MIB, elapsed=4.0, detail="160 MiB to go")
    assert progress.line(Started("web1", "migrated"), step) == (
        "web1: migrated 120 MiB of 280 MiB (43%), 30 MiB/s, 160 MiB to go"
    )
    early = job_progress({"type": libvirt.VIR_DOMAIN_JOB_UNBOUNDED, "time_elapsed": 10})
    assert early == Advanced(0, None, elapsed=0.01, detail="starting")
    assert job_progress({"type": libvirt.VIR_DOMAIN_JOB_NONE}) is None
