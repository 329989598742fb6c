#!/usr/bin/env python3
"""http_dir.py PORT DIR: python's http.server serving DIR on [::]:PORT (dual stack),
with a listen backlog of 1024 instead of http.server's 5, so that a burst of
connections (ab -c 32) is not reset by the server itself.  Logs one line per
request on stderr, client address first, as `python3 -m http.server` does."""
import functools
import http.server
import socket
import sys


class Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    request_queue_size = 1024
    daemon_threads = True

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
    with Server(("::", port), handler) as srv:
        print(f"serving {directory} on [::]:{port}", flush=True)
        srv.serve_forever()


if __name__ == "__main__":
    main()
