"""The order VMs are listed in (menus number them) follows what people see."""

from tvirt.inventory import Inventory
from tvirt.model import HostInfo, HostState, VMInfo, VMState
from tvirt.updates import DomainsListed, HostChanged


def _host(host_id: str, label: str) -> HostChanged:
    return HostChanged(
        HostInfo(host_id=host_id, uri=host_id, label=label, state=HostState.CONNECTED)
    )


def _vm(host_id: str, name: str) -> VMInfo:
    return VMInfo(
        host_id=host_id,
        uuid=f"{host_id}-{name}",
        name=name,
        state=VMState.RUNNING,
        vcpus=1,
        memory_kib=1024,
        autostart=False,
    )


def test_same_name_on_two_hosts_is_ordered_by_the_label_not_the_uri() -> None:
    """A CI clone and a pytest temporary copy in other directories once swapped the
    numbers a menu gave: the URI decided, and it depends on where files live."""
    inventory = Inventory()
    # The URIs sort the other way round from the labels.
    inventory.apply(_host("test:///z/x.xml", "demo alpha"))
    inventory.apply(_host("test:///a/x.xml", "demo zeta"))
    for host in ("test:///a/x.xml", "test:///z/x.xml"):
        inventory.apply(DomainsListed(host, (_vm(host, "web01"), _vm(host, "Db01"))))
    order = [(vm.name, inventory.hosts[vm.host_id].label) for vm in inventory.vm_list()]
    assert order == [
        ("Db01", "demo alpha"),
        ("Db01", "demo zeta"),
        ("web01", "demo alpha"),
        ("web01", "demo zeta"),
    ]
