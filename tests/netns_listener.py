"""A listener and one connection to it, held inside whatever network namespace this
runs in, until stdin closes. Brings loopback up first (a fresh namespace has it down).

Argv: PORT. Prints `ready` once both ends are open. Each `connect` line on stdin opens
one more connection and answers with its client port, so a test can change the
namespace's sockets while it is being watched from outside.
"""

from __future__ import annotations

import socket
import subprocess
import sys


def main() -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", int(sys.argv[1])))
    listener.listen(16)
    held = [listener]

    def connect() -> int:
        client = socket.create_connection(listener.getsockname())
        held.extend([client, listener.accept()[0]])
        return client.getsockname()[1]

    connect()
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() == "connect":
            print(connect(), flush=True)
    for sock in held:
        sock.close()


if __name__ == "__main__":
    main()
