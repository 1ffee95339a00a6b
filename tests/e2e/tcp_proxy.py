#!/usr/bin/env python3
"""A TCP proxy for fault tests: forwards 127.0.0.1:<listen> to 127.0.0.1:<target>.

SIGUSR1 stalls it (connections stay open, nothing is forwarded either way, new ones are
accepted and stall too), SIGUSR2 lets data flow again, SIGHUP cuts every open connection.
Writes its port to <port-file> once listening.
usage: tcp_proxy.py <target-port> <port-file>
"""
import os
import selectors
import signal
import socket
import sys
import time

target = int(sys.argv[1])
stalled = False
cut = False


def on_signal(signum, _frame):
    global stalled, cut
    if signum == signal.SIGUSR1:
        stalled = True
    elif signum == signal.SIGUSR2:
        stalled = False
    elif signum == signal.SIGHUP:
        cut = True


for s in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP):
    signal.signal(s, on_signal)

listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(64)
listener.setblocking(False)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(listener.getsockname()[1]))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])

sel = selectors.DefaultSelector()
sel.register(listener, selectors.EVENT_READ, None)
peers = {}  # socket -> its other end


def close_pair(a):
    b = peers.pop(a, None)
    for s in (a, b):
        if s is None:
            continue
        peers.pop(s, None)
        try:
            sel.unregister(s)
        except (KeyError, ValueError):
            pass
        s.close()


while True:
    if cut:
        for s in list(peers):
            close_pair(s)
        cut = False
    if stalled:  # nothing read, nothing accepted (the kernel still completes handshakes)
        time.sleep(0.05)
        continue
    try:
        events = sel.select(timeout=0.05)
    except InterruptedError:
        continue
    for key, _ in events:
        if key.fileobj is listener:
            try:
                client, _ = listener.accept()
            except BlockingIOError:
                continue
            upstream = socket.create_connection(("127.0.0.1", target))
            peers[client], peers[upstream] = upstream, client
            for s in (client, upstream):
                s.setblocking(False)
                sel.register(s, selectors.EVENT_READ, None)
            continue
        sock = key.fileobj
        try:
            data = sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:
            data = b""
        if not data:
            close_pair(sock)
            continue
        try:
            peers[sock].setblocking(True)
            peers[sock].sendall(data)
            peers[sock].setblocking(False)
        except (OSError, KeyError):
            close_pair(sock)
