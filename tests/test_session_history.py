"""The History view's source without a recorder: what a session's own polls saw end,
from real polls of real loopback sockets."""

from __future__ import annotations

import os
import time

from portscope.collect import Collector
from portscope.delta import Delta, carry_index
from portscope.events import PollUpdate
from portscope.history.records import HistoryFilter
from portscope.model import Snapshot
from portscope.recorder.ledger import GRACE
from portscope.recorder.session import SessionHistory
from sockets import SocketFarm


class Polls:
    """Polls taken as the shared poller takes them, handed to a subscriber."""

    def __init__(self, subscriber: SessionHistory) -> None:
        self.collector = Collector()
        self.subscriber = subscriber
        self.latest: Snapshot | None = None
        self.sequence = 0

    def poll(self) -> None:
        snapshot = self.collector.collect()
        if self.latest is not None:
            carry_index(self.latest, snapshot)
        self.sequence += 1
        delta = Delta.between(self.latest, snapshot)
        self.subscriber.on_poll(PollUpdate(snapshot, delta, self.sequence))
        self.latest = snapshot


def test_a_session_keeps_the_connections_and_listeners_its_polls_saw_end(
    farm: SocketFarm,
) -> None:
    session = SessionHistory(interval=1.0)
    polls = Polls(session)
    before = farm.tcp_listener("127.0.0.1")
    polls.poll()  # what is there at the start is not news
    listener = farm.tcp_listener("127.0.0.1")
    ((client, server),) = farm.connect(listener, 1)
    client_port = client.getsockname()[1]
    polls.poll()
    farm.release(client)
    farm.release(server)
    polls.poll()
    time.sleep(GRACE)
    polls.poll()
    port = listener.getsockname()[1]
    page = session.recent(HistoryFilter(time.time() - 60, time.time() + 1, port=port))
    (row,) = page.connections
    assert (row.local_port, row.remote_port, row.state) == (client_port, port, "TIME_WAIT")
    assert row.owner is not None and row.owner.pid == os.getpid() and row.peer is not None
    assert row.ended == "poll" and row.bound == "at least"
    (event,) = page.listener_events
    assert (event.change, event.port) == ("appeared", port)
    assert page.total == 1 and page.by_process[0][1] == 1
    (run,) = page.runs
    assert not run.kernel_events and run.interval == 1.0
    untouched = HistoryFilter(time.time() - 60, time.time() + 1, port=before.getsockname()[1])
    nothing = session.recent(untouched)
    assert nothing.connections == () and nothing.listener_events == ()
