#!/usr/bin/env python3
"""Ask a Kafka broker for cluster metadata; exit 0 when it answers with a
controller and at least one broker. Standard library only, so the stack's health
check costs milliseconds instead of a JVM start.

    kafka_ping.py HOST:PORT [TIMEOUT_SECONDS]

Sends a Metadata request v4 (Kafka 4.x serves v4 and newer) for no topic in
particular and prints "cluster <id>, controller <id>, brokers <n>".
"""
import socket
import struct
import sys


def read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        vals = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return vals[0] if len(vals) == 1 else vals

    def string(self):
        n = self.take(">h")
        if n < 0:
            return None
        s = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return s


def ping(addr, timeout):
    host, port = addr.rsplit(":", 1)
    correlation = 0x5354
    client = b"strata-stack"
    header = struct.pack(">hhih", 3, 4, correlation, len(client)) + client
    # topics: null array (-1) = every topic; allow_auto_topic_creation: false.
    body = struct.pack(">ib", -1, 0)
    request = header + body
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(struct.pack(">i", len(request)) + request)
        size = struct.unpack(">i", read_exact(sock, 4))[0]
        r = Reader(read_exact(sock, size))
    if r.take(">i") != correlation:
        raise ValueError("response correlation id does not match")
    r.take(">i")  # throttle_time_ms
    brokers = []
    for _ in range(r.take(">i")):
        node = r.take(">i")
        bhost = r.string()
        bport = r.take(">i")
        r.string()  # rack
        brokers.append((node, bhost, bport))
    cluster = r.string()
    controller = r.take(">i")
    if not brokers:
        raise ValueError("metadata lists no broker")
    if controller < 0:
        raise ValueError("metadata names no controller")
    return cluster, controller, brokers


def main():
    if len(sys.argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
    try:
        cluster, controller, brokers = ping(sys.argv[1], timeout)
    except (OSError, ValueError, struct.error) as e:
        print("kafka_ping %s: %s" % (sys.argv[1], e), file=sys.stderr)
        return 1
    print("cluster %s, controller %d, brokers %d" % (cluster, controller, len(brokers)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
