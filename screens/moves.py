"""VMs moving between hosts while the app watches: a migration the app started, or one
started elsewhere that libvirt announces on the destination (`DomainChanged.incoming`).

A migrating VM appears on the destination (its incoming domain, paused until the end)
before it leaves the source, and the two hosts' workers report on their own threads, so
the app hears "appeared on node2" and "removed from node1" in either order, seconds
apart. Shown as they come, the table would have two rows for the VM during the move,
then a removal. Instead the destination's records are held until the source's removal
(and the other way round); then the row takes its new host in one frame
(`VMTable.move_vm`). No Textual here: the app feeds updates in and acts on what comes out.
"""

from __future__ import annotations

from dataclasses import dataclass

from tvirt.model import VMInfo


@dataclass
class Move:
    uuid: str
    source: str  # host ids
    dest: str
    arrived: VMInfo | None = None  # the destination's latest record, held back
    left: bool = False  # the source reported the VM removed
    # Started outside the app (virsh, another tvirt): no call returns to end it, so the
    # destination's teardown of its incoming copy ends it instead.
    outside: bool = False

    @property
    def source_key(self) -> str:
        return f"{self.source}/{self.uuid}"

    @property
    def complete(self) -> bool:
        return self.left and self.arrived is not None


class Moves:
    """The migrations in flight, by VM UUID."""

    def __init__(self) -> None:
        self._moves: dict[str, Move] = {}

    def begin(self, vm: VMInfo, dest: str, *, outside: bool = False) -> None:
        self._moves[vm.uuid] = Move(vm.uuid, vm.host_id, dest, outside=outside)

    def arriving(self, vm: VMInfo, shown: dict[str, VMInfo]) -> bool:
        """vm is an incoming migration's copy (DomainChanged.incoming): if the row it comes
        from is shown on another host, begin a move from there (True)."""
        if vm.uuid in self._moves:
            return False
        for source in shown.values():
            if source.uuid == vm.uuid and source.host_id != vm.host_id:
                self.begin(source, vm.host_id, outside=True)
                return True
        return False

    def __contains__(self, uuid: str) -> bool:
        return uuid in self._moves

    def changed(self, vm: VMInfo) -> Move | None:
        """A record from the destination is held (returned); any other is not ours."""
        move = self._moves.get(vm.uuid)
        if move is None or vm.host_id != move.dest:
            return None
        move.arrived = vm
        return move

    def removed(self, host_id: str, uuid: str) -> Move | None:
        """The VM left a host of its move: the source (it has moved, or the migration
        failed after the source's end; `end` decides) or the destination (a failed or
        cancelled incoming copy, torn down). None: not a move's host."""
        move = self._moves.get(uuid)
        if move is None:
            return None
        if host_id == move.source:
            move.left = True
            return move
        if host_id == move.dest:
            move.arrived = None
            if move.outside and not move.left:
                del self._moves[uuid]  # the migration failed: the row stays on the source
            return move
        return None

    def listed(self, host_id: str, vms: tuple[VMInfo, ...]) -> tuple[VMInfo, ...]:
        """A host's full list without the moving VMs it receives (held like changes)."""
        kept = []
        for vm in vms:
            if self.changed(vm) is None:
                kept.append(vm)
        return tuple(kept)

    def settle(self, uuid: str) -> Move | None:
        """The move, taken off the list, once both hosts have reported it; else None."""
        move = self._moves.get(uuid)
        if move is None or not move.complete:
            return None
        return self._moves.pop(uuid)

    def end(self, uuid: str, ok: bool) -> Move | None:
        """The migration call returned. Done well, the hosts' reports finish the move;
        failed or cancelled, it is dropped (returned) and the VM stays on the source."""
        if ok:
            return None
        return self._moves.pop(uuid, None)
