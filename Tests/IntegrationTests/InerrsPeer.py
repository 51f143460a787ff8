#!/usr/bin/python3
# Test helper for netmon inerrs (run with Debian's /usr/bin/python3, which has scapy).
#
#   InerrsPeer.py server ADDR PORT
#       Prints "ready PID", waits for a line on stdin (so that netmon can be started with -p PID
#       before the socket exists), listens, prints "listening", accepts one connection, answers "hello" with "hi", then
#       holds the connection open until the peer closes it.
#   InerrsPeer.py prefork ADDR PORT WORKERS
#       A server that is up at once: listens, prints "ready PID", and forks WORKERS processes that
#       each accept connections one at a time (0: the listening process accepts them itself, and
#       serves each in a thread).
#       Whoever accepts prints "accepted PID PEER_PORT", answers "hello" with "hi" and holds the
#       connection until the peer closes it. Ends, workers included, when stdin closes.
#   InerrsPeer.py handover ADDR PORT pass|fork
#       A server that hands every connection it accepts to another process and closes its own
#       descriptor: "pass" sends it over a unix socket (SCM_RIGHTS) to a receiver forked at
#       start, before the listener exists; "fork" forks a child per connection, which closes the
#       listener. Prints "ready PID RECEIVER_PID" (0 for fork) once listening, "accepted PID
#       PEER_PORT" after answering "hello" with "hi", and "holds PID PEER_PORT" from the process
#       that then holds the connection alone. Ends, children included, when stdin closes.
#   InerrsPeer.py churn ADDR PORT COUNT
#       Makes COUNT short connections to itself on ADDR:PORT (connect, accept, close with a reset,
#       so no TIME_WAIT is left), then prints {"churned": COUNT}.
#   InerrsPeer.py rawcsum SERVER PORT COUNT
#       Without scapy (fast in a VM guest): connects to SERVER:PORT (IPv4), exchanges
#       "hello"/"hi", prints {"client_port": N}, waits for a line on stdin, then sends COUNT data
#       segments with a wrong TCP checksum on the connection through a raw socket, prints
#       {"client_port": N, "sent": COUNT} and keeps the connection open until stdin closes.
#   InerrsPeer.py inject IFACE SERVER PORT CASE COUNT [wait]
#       Connects to SERVER:PORT, exchanges "hello"/"hi" while sniffing IFACE to learn the live
#       sequence numbers and timestamps, then sends COUNT crafted segments of kind CASE on the
#       connection (from its own address and port), prints one JSON line
#       {"client_port": N, "sent": COUNT}, and keeps the connection open until stdin closes.
#       With "wait", it prints {"client_port": N} once connected and sends only after a line on
#       stdin (so that the connection exists before netmon starts).
#
# CASE: csum (bad TCP checksum), doff (data offset 4 < 5), seq (sequence 2^30 beyond the
# window), ack (acknowledges data never sent), syn (SYN on the established connection),
# paws (timestamp older than the last one seen: fails PAWS), md5 (an MD5 signature option on a
# connection without MD5 keys), old (data 2^20 before the window), rst (a reset in the window but
# not at its start: answered with a challenge ACK, the connection lives on), csum-ext (IPv6 only:
# bad checksum behind a hop-by-hop and a destination-options extension header).
import json
import os
import socket
import sys
import threading
import time


def listen(address, port, backlog):
    """A TCP listener on address:port (IPv6 if the address has a colon), and its family."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((address, port))
    listener.listen(backlog)
    return listener, family


# The mode runs first so that the server (no scapy needed) starts fast.
if sys.argv[1] == "server":
    address, port = sys.argv[2], int(sys.argv[3])
    print("ready", os.getpid(), flush=True)
    sys.stdin.readline()
    listener, family = listen(address, port, 1)
    print("listening", flush=True)
    connection, _ = listener.accept()
    if connection.recv(100) == b"hello":
        connection.sendall(b"hi")
    while connection.recv(1000):
        pass
    sys.exit(0)

if sys.argv[1] == "prefork":
    import threading

    address, port, workers = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    listener, family = listen(address, port, 16)

    def converse(connection):
        if connection.recv(100) == b"hello":
            connection.sendall(b"hi")
        while connection.recv(1000):
            pass
        connection.close()

    # A worker serves one connection at a time (so a busy one leaves the next to another); a
    # server without workers serves each in a thread of its own.
    def serve():
        while True:
            connection, peer = listener.accept()
            print("accepted", os.getpid(), peer[1], flush=True)
            if workers:
                converse(connection)
            else:
                threading.Thread(target=converse, args=(connection,), daemon=True).start()

    children = []
    for _ in range(workers):
        child = os.fork()
        if child == 0:
            serve()
        children.append(child)

    def end_with_stdin():
        sys.stdin.read()
        for child in children:
            os.kill(child, 9)
        os._exit(0)

    threading.Thread(target=end_with_stdin, daemon=True).start()
    print("ready", os.getpid(), flush=True)
    if workers == 0:
        serve()
    threading.Event().wait()

if sys.argv[1] == "handover":
    address, port, how = sys.argv[2], int(sys.argv[3]), sys.argv[4]
    children = []
    receiver = 0
    if how == "pass":
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        receiver = os.fork()
        if receiver == 0:
            ours.close()
            held = []
            while True:
                message, fds, _, _ = socket.recv_fds(theirs, 1, 1)
                if not message:  # the server ended
                    os._exit(0)
                connection = socket.socket(fileno=fds[0])
                held.append(connection)
                print("holds", os.getpid(), connection.getpeername()[1], flush=True)
        theirs.close()
        children.append(receiver)
    listener, family = listen(address, port, 16)

    def end_with_stdin():
        sys.stdin.read()
        for child in children:
            os.kill(child, 9)
        os._exit(0)

    threading.Thread(target=end_with_stdin, daemon=True).start()
    print("ready", os.getpid(), receiver, flush=True)
    while True:
        connection, peer = listener.accept()
        if connection.recv(100) == b"hello":
            connection.sendall(b"hi")
        print("accepted", os.getpid(), peer[1], flush=True)
        if how == "pass":
            socket.send_fds(ours, [b"x"], [connection.fileno()])
        else:
            child = os.fork()
            if child == 0:
                listener.close()
                print("holds", os.getpid(), peer[1], flush=True)
                threading.Event().wait()
            children.append(child)
        connection.close()

if sys.argv[1] == "churn":
    import struct

    address, port, count = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    listener, family = listen(address, port, 64)
    reset = struct.pack("ii", 1, 0)
    for _ in range(count):
        client = socket.socket(family, socket.SOCK_STREAM)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, reset)
        client.connect((address, port))
        accepted, _ = listener.accept()
        client.close()
        accepted.close()
    print(json.dumps({"churned": count}), flush=True)
    sys.exit(0)

if sys.argv[1] == "rawcsum":
    import struct

    server, port, count = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    client = socket.create_connection((server, port))
    client.sendall(b"hello")
    assert client.recv(100) == b"hi"
    source, client_port = client.getsockname()
    print(json.dumps({"client_port": client_port}), flush=True)
    sys.stdin.readline()

    def checksum(data):
        if len(data) % 2:
            data += b"\0"
        total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
        while total >> 16:
            total = (total & 0xFFFF) + (total >> 16)
        return ~total & 0xFFFF

    payload = b"x" * 10
    header = struct.pack("!HHIIBBHHH", client_port, port, 1, 1, 5 << 4, 0x18, 65535, 0, 0)
    pseudo = socket.inet_aton(source) + socket.inet_aton(server) + struct.pack("!BBH", 0, 6, len(header) + len(payload))
    good = checksum(pseudo + header + payload)
    segment = header[:16] + struct.pack("!H", good ^ 0x5555) + header[18:] + payload
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    for _ in range(count):
        raw.sendto(segment, (server, 0))
        time.sleep(0.05)
    print(json.dumps({"client_port": client_port, "sent": count}), flush=True)
    sys.stdin.read()
    sys.exit(0)

import logging

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
# Only the modules needed (scapy.all loads every layer: 3x the start-up, which counts in a VM guest).
from scapy.layers.inet import IP, TCP  # noqa: E402
from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop  # noqa: E402
from scapy.packet import Raw  # noqa: E402
from scapy.sendrecv import AsyncSniffer, send  # noqa: E402

interface, server, port, case, count = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
wait = len(sys.argv) > 7 and sys.argv[7] == "wait"
ipv6 = ":" in server
client = socket.socket(socket.AF_INET6 if ipv6 else socket.AF_INET, socket.SOCK_STREAM)
client_port = None


def ours(packet):
    return TCP in packet and client_port is not None and port in (packet[TCP].sport, packet[TCP].dport) \
        and client_port in (packet[TCP].sport, packet[TCP].dport)


def next_sequence(segment):
    tcp = segment[TCP]
    length = len(tcp.payload) if tcp.payload else 0
    return (tcp.seq + length + (1 if "S" in tcp.flags else 0) + (1 if "F" in tcp.flags else 0)) % 2**32


# The sniffer's socket must be open before the handshake: wait for it (a fixed sleep was too short
# with several injectors starting at once in a slow VM guest).
sniffing = threading.Event()
captured = []  # appended by the sniffer's thread
sniffer = AsyncSniffer(iface=interface, store=False, lfilter=lambda p: TCP in p and port in (p[TCP].sport, p[TCP].dport),
                       prn=captured.append, started_callback=sniffing.set)
sniffer.start()
if not sniffing.wait(60):
    sys.exit("the sniffer did not start")
client.connect((server, port))
client_port = client.getsockname()[1]
client.sendall(b"hello")
assert client.recv(100) == b"hi"


def conversation_seen():
    """Whether the sniffer has dissected the server's "hi" and the client's ACK of it (sent after
    the delayed-ACK timer): the last segment of each side, whose numbers the crafted ones continue.
    Waited for, not slept on: dissecting takes scapy a while in a slow VM guest."""
    packets = [p for p in list(captured) if ours(p)]
    answers = [p for p in packets if p[TCP].sport == port and bytes(p[TCP].payload) == b"hi"]
    return answers and any(p[TCP].sport == client_port and p[TCP].ack == next_sequence(answers[-1]) for p in packets)


deadline = time.monotonic() + 60
while not conversation_seen() and time.monotonic() < deadline:
    time.sleep(0.05)
sniffer.stop()
if not conversation_seen():
    sys.exit(f"the sniffer did not see the hello/hi exchange and its ACKs within 60 s ({len(captured)} packets)")
packets = [p for p in captured if ours(p)]


def timestamp(segment):
    for name, value in segment[TCP].options:
        if name == "Timestamp":
            return value
    return (0, 0)


sent_by_client = [p for p in packets if p[TCP].sport == client_port]
sent_by_server = [p for p in packets if p[TCP].sport == port]
seq = next_sequence(sent_by_client[-1])
ack = next_sequence(sent_by_server[-1])
client_ts = timestamp(sent_by_client[-1])[0]
server_ts = timestamp(sent_by_server[-1])[0]

network = IPv6(src=client.getsockname()[0], dst=server) if ipv6 else IP(src=client.getsockname()[0], dst=server)
if case == "csum-ext":
    network = network / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt()
# Well ahead of the last timestamp seen: the client's kernel may still send a segment (the delayed
# ACK of "hi") after the sniffer stopped, and a value only 1 ahead then fails PAWS (seen in a VM).
options = [("NOP", None), ("NOP", None), ("Timestamp", ((client_ts + 100000) % 2**32, server_ts))]
payload = Raw(b"x" * 10)
segment = {
    "csum-ext": lambda: TCP(sport=client_port, dport=port, seq=seq, ack=ack, flags="PA", options=options) / payload,
    "csum": lambda: TCP(sport=client_port, dport=port, seq=seq, ack=ack, flags="PA", options=options) / payload,
    "doff": lambda: TCP(sport=client_port, dport=port, seq=seq, ack=ack, flags="PA", dataofs=4) / payload,
    "seq": lambda: TCP(sport=client_port, dport=port, seq=(seq + 2**30) % 2**32, ack=ack, flags="PA",
                       options=options) / payload,
    "ack": lambda: TCP(sport=client_port, dport=port, seq=seq, ack=(ack + 2**20) % 2**32, flags="PA",
                       options=options) / payload,
    "syn": lambda: TCP(sport=client_port, dport=port, seq=seq, flags="S", options=options),
    "paws": lambda: TCP(sport=client_port, dport=port, seq=seq, ack=ack, flags="PA",
                        options=[("NOP", None), ("NOP", None), ("Timestamp", ((client_ts - 100000) % 2**32, server_ts))])
                    / payload,
    "md5": lambda: TCP(sport=client_port, dport=port, seq=seq, ack=ack, flags="PA",
                       options=[("MD5", b"\0" * 16)]) / payload,
    "old": lambda: TCP(sport=client_port, dport=port, seq=(seq - 2**20) % 2**32, ack=ack, flags="PA",
                       options=options) / payload,
    "rst": lambda: TCP(sport=client_port, dport=port, seq=(seq + 1000) % 2**32, flags="R"),
}[case]
if wait:
    print(json.dumps({"client_port": client_port}), flush=True)
    sys.stdin.readline()
for _ in range(count):
    packet = network / segment()
    if case.startswith("csum"):
        correct = packet.__class__(bytes(packet))[TCP].chksum
        packet[TCP].chksum = correct ^ 0x5555
    send(packet, verbose=0)
    time.sleep(0.05)
print(json.dumps({"client_port": client_port, "sent": count}), flush=True)
sys.stdin.read()
client.close()
