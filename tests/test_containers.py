"""Containers in the inventory, with real Podman containers and the Docker Engine API
Podman serves (issue 13): a published port is the container and the process serving
it, not conmon; a container's unpublished 0.0.0.0 reaches only its own network; the
API stopped leaves ids and one notice; a container that stops between two polls takes
its rows with it.

Every poll here reads every namespace (`Collector(namespaces="every")`, what the
dashboard and scripts do in the host's namespace): a container's own sockets come from
the collector's own reading of its namespace, not from a test reading it by hand.
"""

from __future__ import annotations

import csv
import io
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import run_portscope, snapshot_json
from containers import (  # noqa: F401 (fixtures)
    PodmanApi,
    RunningContainer,
    podman,
    podman_api,
    remove,
    start_web,
)
from namespace_support import ip_netns, listener_in, netns_inode_of, unique_name
from portscope.collect import Collector, read_port_rules
from portscope.collect.namespaces import container_name, discover
from portscope.collect.runtime import ContainerOf, Runtimes
from portscope.config import Config
from portscope.delta import Delta
from portscope.exposure import exposure_of, listener_exposure
from portscope.knowledge import lookup
from portscope.model import Container, Snapshot, Socket
from portscope.report.lookup import CLI_CARD
from portscope.report.snapshot import listener_record, snapshot_record, to_table
from portscope.ui.app import PortscopeApp
from portscope.view.arrivals import Arrivals
from portscope.view.card import lookup_cards
from portscope.view.filters import compile_filter, row_matcher, select
from portscope.view.rows import RowContext, listening_row
from ui_support import row_on_screen

SERVED = 8082
API_NOTE = "container runtime API"


def free_port() -> int:
    """A loopback port nothing holds now, for a container to publish on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def web2(podman: str, podman_api: PodmanApi) -> Iterator[tuple[RunningContainer, int]]:  # noqa: F811
    """`-p 127.0.0.1:PORT:8082`, python3 serving 8082 on every address of its network."""
    port = free_port()
    name = unique_name("web2")
    try:
        yield start_web(podman, name, SERVED, "0.0.0.0", f"127.0.0.1:{port}:{SERVED}"), port
    finally:
        remove(podman, name)


@pytest.fixture(scope="module")
def web1(podman: str, podman_api: PodmanApi) -> Iterator[RunningContainer]:  # noqa: F811
    """python3 serving 8081 on every address of its own network, published nowhere."""
    name = unique_name("web1")
    try:
        yield start_web(podman, name, 8081, "0.0.0.0")
    finally:
        remove(podman, name)


def every_namespace() -> Collector:
    """The collector as the dashboard and scripts run it in the host's namespace."""
    return Collector(namespaces="every")


def listener_on(snapshot: Snapshot, port: int, pid: int | None = None) -> Socket:
    (found,) = [
        s
        for s in snapshot.listeners
        if s.local_port == port and s.proto == "tcp" and (pid is None or s.pid == pid)
    ]
    return found


def api_notes(snapshot: Snapshot) -> list[str]:
    return [note for note in snapshot.errors if API_NOTE in note]


def test_a_published_port_is_the_container_and_its_process_not_conmon(
    web2: tuple[RunningContainer, int],
) -> None:
    container, port = web2
    own = Collector().collect()
    held = own.held_for(listener_on(own, port))
    assert held is not None and held.target == f"{container.name}:{SERVED}"  # no server read

    every = every_namespace().collect()
    holder = listener_on(every, port)
    assert holder.local_address == "127.0.0.1" and holder.netns == own.namespaces[0].inode
    assert holder.owner is not None and holder.owner.name == "conmon"
    held = every.held_for(holder)
    assert held is not None and held.server is not None
    named = held.binding.container
    assert (named.id, named.name) == (container.id, container.name)
    assert (held.binding.container_port, held.binding.container.runtime) == (SERVED, "podman")
    assert container.id in {c.id for c in every.containers}
    assert held.target == f"{container.name}:{SERVED} (python3)"
    served = held.server
    assert served.owner is not None and served.owner.pid == container.pid
    assert served.netns == netns_inode_of(container.pid)
    assert every.namespace_name(served.netns) == container.name
    assert served.owner.container is not None
    named = served.owner.container
    assert (named.id, named.name) == (container.id, container.name)
    assert [p.host_side for p in every.publications(served)] == [f"127.0.0.1:{port}"]
    assert exposure_of(served.local_address) == "all"
    assert listener_exposure(served, every) == "loopback"  # the host binding's reach
    record = listener_record(served, every)
    assert record["container"]["name"] == container.name and record["exposure"] == "loopback"
    assert record["published"] == {
        "from": [{"proto": "tcp", "address": "127.0.0.1", "port": port,
                  "holder_pid": holder.owner.pid, "holder_process": "conmon"}]
    }  # fmt: skip
    assert listener_record(holder, every)["published"]["to"]["process"] == "python3"
    rows = {s.pid: listening_row(s, RowContext(every, {}, Arrivals(0.0))) for s in (holder, served)}
    assert rows[holder.pid].cell("process") == f"→ {container.name}:{SERVED} (python3)"
    assert rows[container.pid].cell("process") == f"python3 ({container.name}) ← 127.0.0.1:{port}"
    assert rows[container.pid].cell("exposure") == "loopback only"


def test_a_container_is_found_by_its_name_in_filters(web2: tuple[RunningContainer, int]) -> None:
    container, _port = web2
    every = every_namespace().collect()
    for text in (f"container = {container.name}", container.name, f"unit = {container.name}"):
        chosen = compile_filter(text)
        assert chosen is not None
        kept = select(every, chosen)
        pids = {s.pid for s in kept.listeners}
        assert pids == (set() if text.startswith("unit") else {container.pid}), text
        mappings = {p.binding.container.id for p in kept.published}
        assert mappings == (set() if text.startswith("unit") else {container.id}), text


def test_scripts_read_the_published_port_as_its_mapping(web2: tuple[RunningContainer, int]) -> None:
    container, port = web2
    doc = snapshot_json()
    (listening,) = [r for r in doc["listening"] if r["port"] == port]
    assert (listening["process"], listening["container"]) == ("conmon", None)
    assert listening["netns"] == "host"
    target = listening["published"]["to"]
    named = target["container"]
    assert (named["id"], named["name"]) == (container.id, container.name)
    assert named["runtime"] == "podman"
    assert (target["port"], target["pid"], target["process"]) == (SERVED, container.pid, "python3")
    (own,) = [r for r in doc["listening"] if r["pid"] == container.pid]
    assert (own["port"], own["netns"], own["container"]["name"]) == (
        SERVED,
        container.name,
        container.name,
    )
    assert own["published"]["from"][0]["port"] == port
    (published,) = [p for p in doc["published"] if p["port"] == port]
    assert (published["address"], published["holder_process"]) == ("127.0.0.1", "conmon")
    assert published["to"]["container"]["id"] == container.id
    assert container.name in {c["name"] for c in doc["containers"]}

    done = run_portscope("snapshot")
    assert done.returncode == 0, done.stderr
    lines = [line.split() for line in done.stdout.splitlines()]
    (line,) = [cells for cells in lines if cells[2:3] == [f"127.0.0.1:{port}"]]
    assert " ".join(line).count(f"conmon → {container.name}:{SERVED} (python3)") == 1
    (line,) = [cells for cells in lines if cells[2:3] == [f"0.0.0.0:{SERVED}"]
               and str(container.pid) in cells]  # fmt: skip
    assert f"python3 ← 127.0.0.1:{port}" in " ".join(line) and container.name in line

    done = run_portscope("lookup", str(port))
    assert done.returncode == 0, done.stderr
    card = " ".join(done.stdout.split())  # unwrapped
    assert f"127.0.0.1:{port} conmon (pid " in card
    assert f"root) → {container.name}:{SERVED} (python3)" in card

    done = run_portscope("snapshot", "--csv")
    (row,) = [r for r in csv.DictReader(io.StringIO(done.stdout)) if r["local_port"] == str(port)]
    assert row["published"] == f"→ {container.name}:{SERVED} (python3)"


def test_a_containers_unpublished_wildcard_reaches_only_its_network(
    web1: RunningContainer,
) -> None:
    own = every_namespace().collect()
    served = listener_on(own, 8081, web1.pid)
    assert served.local_address == "0.0.0.0" and exposure_of(served.local_address) == "all"
    assert served.owner is not None and served.owner.placement is not None
    assert served.owner.placement.own_network
    assert served.owner.container is not None and served.owner.container.name == web1.name
    assert listener_exposure(served, own) == "container"
    record = listener_record(served, own)
    assert (record["exposure"], record["process"], record["netns"]) == (
        "container",
        "python3",
        web1.name,
    )
    assert record["container"]["name"] == web1.name


def test_without_the_api_ids_show_and_the_reason_is_said_once(
    podman_api: PodmanApi,  # noqa: F811 (fixture)
    web2: tuple[RunningContainer, int],
) -> None:
    container, port = web2
    podman_api.stop()
    try:
        collector = every_namespace()
        first, second = collector.collect(), collector.collect()
        (note,) = api_notes(first)
        assert "containers are shown by id" in note
        assert api_notes(second) == []
        holder = listener_on(second, port)
        assert holder.owner is not None and holder.owner.name == "conmon"
        assert second.held_for(holder) is None and second.published == ()
        served = listener_on(second, SERVED, container.pid)
        assert served.owner is not None and served.owner.container is not None
        assert served.owner.container.id == container.id
        assert (served.owner.container.name, served.owner.container.runtime) == (None, "podman")
    finally:
        podman_api.start()


def test_a_container_that_stops_between_polls_takes_its_rows(
    podman: str,  # noqa: F811 (fixture)
    podman_api: PodmanApi,  # noqa: F811 (fixture)
) -> None:
    port = free_port()
    name = unique_name("web3")
    container = start_web(podman, name, SERVED, "0.0.0.0", f"127.0.0.1:{port}:{SERVED}")
    try:
        collector = every_namespace()
        first = collector.collect()
        holder = listener_on(first, port)
        assert first.held_for(holder) is not None
        served = listener_on(first, SERVED, container.pid)
    finally:
        remove(podman, name)
    second = collector.collect()
    assert all(s.local_port != port for s in second.listeners)
    assert all(s.pid != container.pid for s in second.sockets)
    assert [n.sockets for n in second.namespaces if n.inode == served.netns] in ([], [0])
    assert all(p.binding.container.id != container.id for p in second.published)
    delta = Delta.between(first, second)
    assert {holder.key, served.key} <= {s.key for s in delta.removed}


async def test_the_dashboard_reads_a_published_port_as_its_mapping(
    tmp_path: Path, web2: tuple[RunningContainer, int]
) -> None:
    container, port = web2
    app = PortscopeApp(interval=60.0, config=Config(), config_file=tmp_path / "config.toml")
    async with app.run_test(size=(160, 40)) as pilot:
        row = await row_on_screen(pilot, app, port)
        assert row.cell("process") == f"→ {container.name}:{SERVED} (python3)"
        assert row.cell("exposure") == "loopback only"
        shown = app.header.snapshot
        assert shown is not None and container.id in {c.id for c in shown.containers}
        count = len(shown.containers)
        hosts = str(app.header.hosts.render())
        assert f"  {count} container{'s' if count > 1 else ''}  " in hosts


def test_a_containers_namespace_is_named_by_the_container(web1: RunningContainer) -> None:
    inventory = discover(container_of=ContainerOf(Runtimes()))
    namespace = inventory.find(web1.name)
    assert namespace is not None and namespace.kind == "container"
    assert namespace.inode == netns_inode_of(web1.pid) and web1.pid in namespace.pids
    assert discover().find(web1.name) is None  # without the lookup: netns:<inode>


POD_UID = "0f3c9c7e-1b2a-4d5e-8f90-123456789abc"


@pytest.mark.parametrize(
    ("placed", "name"),
    [
        ({1: Container("docker", "a" * 64, name="web")}, "web"),
        ({1: Container("docker", "a" * 64)}, "a" * 12),
        ({1: Container("containerd", "a" * 64, POD_UID, pod="api", pod_namespace="prod"),
          2: Container("containerd", "b" * 64, POD_UID, pod="api", pod_namespace="prod")},
         "prod/api"),
        ({1: Container("containerd", "a" * 64, POD_UID), 2: Container("containerd", "b" * 64,
          POD_UID)}, POD_UID),
        ({1: Container("docker", "a" * 64, name="one"), 2: Container("docker", "b" * 64)}, None),
        ({1: Container("docker", "a" * 64, name="web"), 2: None}, None),
    ],
)  # fmt: skip
def test_a_namespace_is_named_by_its_one_container_or_pod(
    placed: dict[int, Container | None], name: str | None
) -> None:
    """Containers that share a namespace are a pod's (its sandbox); any process in no
    container, or containers of two pods, leave it unnamed."""
    assert container_name(sorted(placed), placed.get) == name


def test_a_port_only_nat_rules_forward_is_named_by_the_lookup(
    web2: tuple[RunningContainer, int],
) -> None:
    """Docker with its userland proxy off publishes with NAT rules alone: the real
    mapping, with its host listener taken away, is what such a host shows."""
    container, port = web2
    host = every_namespace().collect()
    nat_only = replace(
        host,
        listeners=tuple(s for s in host.listeners if s.local_port != port),
        published=tuple(replace(p, holder=None) for p in host.published),
    )
    (card,) = lookup_cards(lookup(str(port), read_port_rules(nat_only), nat_only), CLI_CARD)
    here = card.section("Here now")
    assert here is not None
    assert here.texts == [
        f"published 127.0.0.1:{port} → {container.name}:{SERVED} (python3) (NAT rules only: "
        "no host listener)"
    ]
    mapping = f"127.0.0.1:{port} → {container.name}:{SERVED} (python3)"
    assert f"published, no host listener (NAT rules only): {mapping}" in to_table(nat_only)
    bind = card.section("Can I bind?")
    assert bind is not None and bind.texts[0] == (
        f"No: port {port} is published for {container.name}:{SERVED} (python3) by NAT rules."
    )
    (record,) = [r for r in snapshot_record(nat_only)["published"] if r["port"] == port]
    assert (record["holder_pid"], record["to"]["container"]["id"]) == (None, container.id)


def test_a_lookup_says_which_namespaces_stop_a_bind_here(
    web2: tuple[RunningContainer, int],
) -> None:
    """A port held in another namespace (an `ip netns` listener, a container's own
    8082) does not stop a bind here and is named by its namespace; a published port
    does, and says for whom."""
    container, port = web2
    alone = free_port()
    with ip_netns() as name, listener_in(["ip", "netns", "exec", name], alone) as held:
        snapshot = every_namespace().collect()
        inode = held.inode
        rules = read_port_rules(snapshot)
        cards = {p: lookup_cards(lookup(str(p), rules, snapshot), CLI_CARD)[0]
                 for p in (alone, SERVED, port)}  # fmt: skip
    texts = {p: {s.heading: s.texts for s in card.sections} for p, card in cards.items()}
    inside = listener_on(snapshot, alone, held.pid)
    assert inside.owner is not None and inside.netns == inode
    who = f"{inside.owner.name} (pid {held.pid}, root), netns {name}"
    assert f"tcp LISTEN 127.0.0.1:{alone}  {who}" in texts[alone]["Here now"]
    assert texts[alone]["Can I bind?"][0].startswith("Yes")
    assert any(f"in network namespace {name}, which does not stop a bind here" in line
               for line in texts[alone]["Can I bind?"])  # fmt: skip
    own = f"python3 (pid {container.pid}, root) in {container.name}, netns {container.name}"
    assert any(own in line for line in texts[SERVED]["Here now"])
    if not any(s.local_port == SERVED and s.netns == snapshot.home for s in snapshot.sockets):
        assert texts[SERVED]["Can I bind?"][0].startswith("Yes")
    bind = texts[port]["Can I bind?"]
    assert bind[0].startswith(f"No: port {port} is taken by tcp 127.0.0.1:{port} (conmon")
    mapping = f"{container.name}:{SERVED} (python3)"
    assert f"- published for {mapping}: conmon holds 127.0.0.1:{port} here for the container" in (
        bind
    )
    (here,) = texts[port]["Here now"]
    assert here.endswith(f"conmon (pid {listener_on(snapshot, port).pid}, root) → "
                         f"{container.name}:{SERVED} (python3)")  # fmt: skip


def test_the_exposure_filter_says_container_as_the_listening_column_does(
    web1: RunningContainer, web2: tuple[RunningContainer, int]
) -> None:
    """`exposure = container` is a container's unpublished listener (web1's 8081 on
    0.0.0.0), not a published one (web2's 8082 reaches as far as its 127.0.0.1 host
    binding), in scripts and in the Listening pane alike."""
    container, _port = web2
    snapshot = every_namespace().collect()
    ctx = RowContext(snapshot, {}, Arrivals(0.0))
    rows = {s.pid: listening_row(s, ctx) for s in snapshot.listeners}
    for text, kept in (("exposure = container", web1.pid), ("exposure = loopback", container.pid)):
        chosen = compile_filter(text)
        assert chosen is not None
        pids = {s.pid for s in select(snapshot, chosen).listeners}
        matches = row_matcher(text)
        assert matches is not None
        shown = {pid for pid, row in rows.items() if matches(row)}
        assert kept in pids and pids == shown, text
    assert rows[web1.pid].cell("exposure") == "container network only"
    wide = compile_filter("exposure = all")
    assert wide is not None and container.pid not in {
        s.pid for s in select(snapshot, wide).listeners
    }
    doc = snapshot_json("--filter", "exposure = container")
    assert {(r["pid"], r["port"]) for r in doc["listening"]} >= {(web1.pid, 8081)}
    assert {r["exposure"] for r in doc["listening"]} == {"container"}
