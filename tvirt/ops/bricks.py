"""The brick and volume wizard's operations: plan, run, undo (tvirt.bricks does the work).

The bricks may sit on several hosts (a hostcmd.CommandHost each); libvirt steps (the pool)
run on the first host's worker. A run and an undo go on a thread of their own, since each
step is an external command that may take minutes; both are refused in read-only mode.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from tvirt import bricks, hcsurvey
from tvirt.ops.hostcmd import CommandHost
from tvirt.ops.run import in_thread

OnStep = Callable[[bricks.Step, str], object]


def plan(wizard: bricks.Wizard) -> list[bricks.Step]:
    """Every step, checked first (a PlanError says what is refused). Runs nothing."""
    return wizard.plan()


def survey(hosts: Sequence[CommandHost], targets: list[hcsurvey.Target]) -> (
    Future[hcsurvey.Survey]
):
    """What the hosts say before a plan across them (device-mapper, virt group, peers,
    names resolved); reads only, so read-only mode allows it."""
    return in_thread(hosts[0], lambda: hcsurvey.survey(targets))


def execute(
    hosts: Sequence[CommandHost],
    wizard: bricks.Wizard,
    steps: list[bricks.Step],
    on_step: OnStep | None = None,
) -> Future[bricks.Outcome]:
    """Run the confirmed plan: every chosen disk is read again first (a change stops the
    run before anything is made), then the steps in order up to the first failure."""
    specs = wizard.bricks  # the disks as they were when the plan was confirmed

    def recheck() -> list[str]:
        # Every host's disks are read at once: each read waits on its own host only.
        with ThreadPoolExecutor(len(hosts)) as pool:
            ahead = [pool.submit(h.devices) for h in hosts]
        found = dict(zip((h.runner for h in hosts), ahead, strict=True))
        return bricks.changed(specs, lambda runner: found[runner].result())

    return in_thread(
        hosts[0],
        lambda: bricks.execute(
            steps,
            hosts[0].libvirt_call,
            on_step=on_step,
            subject=wizard.volume,
            recheck=recheck,
        ),
        change=f"create the bricks and volume {wizard.volume}",
    )


def undo(
    hosts: Sequence[CommandHost], outcome: bricks.Outcome, volume: str
) -> Future[bricks.Outcome]:
    """Reverse the done steps of a failed run, newest first (going on past failures)."""
    return in_thread(
        hosts[0],
        lambda: bricks.undo(outcome, hosts[0].libvirt_call, subject=volume),
        change=f"undo the bricks and volume {volume}",
    )


def remove(hosts: Sequence[CommandHost], wizard: bricks.Wizard) -> Future[bricks.Outcome]:
    """Undo a whole run made earlier with the same choices: its plan rebuilt (unchecked:
    the disks are bricks now) and every step reversed, newest first."""

    def job() -> bricks.Outcome:
        steps = wizard.plan(checked=False)
        return bricks.undo(bricks.Outcome(steps, None, []), hosts[0].libvirt_call,
                           subject=wizard.volume)

    return in_thread(hosts[0], job, change=f"remove the bricks and volume {wizard.volume}")
