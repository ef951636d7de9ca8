#!/usr/bin/env python3
"""Loopback services for the example profile (make run): an HTTP server and a small DNS server
answering for the zone example.test. Prints "http=PORT dns=PORT" once both listen, then serves
until it is terminated. Standard library only."""
import http.server
import socket
import struct
import sys
import threading

ZONE = {
    ("example.test", 1): [socket.inet_aton("127.0.0.1")],               # A
    ("example.test", 28): [socket.inet_pton(socket.AF_INET6, "::1")],   # AAAA
    ("example.test", 16): [b"\x16v=spf1 -all reglet-demo"],             # TXT
}


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"ok: reglet demo service\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def encode_name(name):
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"


def dns_answer(query):
    ident, flags, qdcount = struct.unpack(">HHH", query[:6])
    pos, labels = 12, []
    while query[pos] != 0:
        length = query[pos]
        labels.append(query[pos + 1:pos + 1 + length].decode("ascii", "replace"))
        pos += 1 + length
    qtype, qclass = struct.unpack(">HH", query[pos + 1:pos + 5])
    question = query[12:pos + 5]
    name = ".".join(labels).lower()
    records = ZONE.get((name, qtype), [])
    known = any(key[0] == name for key in ZONE)
    rcode = 0 if known else 3  # NXDOMAIN for names outside the zone
    header = struct.pack(">HHHHHH", ident, 0x8180 | rcode, 1, len(records), 0, 0)
    answers = b"".join(encode_name(name) + struct.pack(">HHIH", qtype, 1, 60, len(r)) + r
                       for r in records)
    return header + question + answers


def serve_dns(sock):
    while True:
        data, peer = sock.recvfrom(512)
        try:
            sock.sendto(dns_answer(data), peer)
        except Exception:  # a malformed query gets no answer
            pass


def main():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dns.bind(("127.0.0.1", 0))
    threading.Thread(target=serve_dns, args=(dns,), daemon=True).start()
    print(f"http={httpd.server_address[1]} dns={dns.getsockname()[1]}", flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
