#!/usr/bin/env python3
"""A slow-DNSBL stand-in for the interop suite: a UDP DNS forwarder in front of nsd.

nsd (the real authoritative server) cannot delay answers, and a resolver uses several --dns servers
as alternatives, not one per zone. So mxdoctor asks this proxy, which passes every query to nsd and
relays nsd's answer unchanged -- but holds answers for names under the slow zone for DELAY seconds,
like a DNSBL that eats a gateway's milter window. Each query runs in its own thread, so the slow zone
never delays the others. Loopback only: the script refuses any other address.

usage: dnsproxy.py LISTEN_IP:PORT UPSTREAM_IP:PORT SLOW_ZONE DELAY_SECONDS
"""

import ipaddress
import socket
import sys
import threading
import time


def loopback(text):
    host, port = text.rsplit(":", 1)
    if not ipaddress.ip_address(host) in ipaddress.ip_network("127.0.0.0/8"):
        sys.exit(f"dnsproxy: refusing {text}: only 127.0.0.0/8 is allowed")
    return host, int(port)


def question_name(packet):
    """The first question's name, lower-case and without the final dot ('' when unreadable)."""
    labels, at = [], 12
    while at < len(packet) and packet[at] != 0:
        length = packet[at]
        if length & 0xC0:  # no compression pointers in a question we forward
            return ""
        labels.append(packet[at + 1 : at + 1 + length].decode("ascii", "replace"))
        at += 1 + length
    return ".".join(labels).lower()


def answer(server, query, client, upstream, slow_zone, delay):
    name = question_name(query)
    if name == slow_zone or name.endswith("." + slow_zone):
        time.sleep(delay)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
        out.settimeout(5)
        out.sendto(query, upstream)
        try:
            reply, _ = out.recvfrom(65535)
        except OSError:
            return
    server.sendto(reply, client)


def main():
    listen, upstream = loopback(sys.argv[1]), loopback(sys.argv[2])
    slow_zone, delay = sys.argv[3].lower().rstrip("."), float(sys.argv[4])
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(listen)
    while True:
        query, client = server.recvfrom(65535)
        threading.Thread(
            target=answer, args=(server, query, client, upstream, slow_zone, delay), daemon=True
        ).start()


if __name__ == "__main__":
    main()
