#!/usr/bin/env python3
"""The interop suite's "no banner" host: accepts TCP connections and never says a word.

Like an SMTP server stuck before its greeting (a dead milter at connect, a full process table,
a firewall proxy that accepted the handshake): the connection opens, the 220 never comes.
Loopback only: the script refuses any other address.

usage: silent.py LISTEN_IP:PORT
"""

import ipaddress
import socket
import sys


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    if not ipaddress.ip_address(host) in ipaddress.ip_network("127.0.0.0/8"):
        sys.exit(f"silent: refusing {sys.argv[1]}: only 127.0.0.0/8 is allowed")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, int(port)))
    listener.listen(16)
    held = []
    while True:
        connection, _ = listener.accept()
        held.append(connection)  # keep it open, say nothing
        del held[:-64]


if __name__ == "__main__":
    main()
