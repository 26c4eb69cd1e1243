#!/usr/bin/env python3
"""Loopback HTTP server for the fetch tests: serves one file, with fault modes.

usage: http_server.py FILE [--log LOG] [faults...]

Binds 127.0.0.1 on a port the kernel picks and prints that port on stdout (one line)
once it is listening. Every path serves FILE, with Range support ("bytes=N-" and
"bytes=N-M": 206 and Content-Range; 416 past the end). HTTP/1.0, so each response
closes its connection. The test that starts it must kill it (SIGTERM) when done.

Faults (combinable):
  --drop-after K    every response sends at most K body bytes, then closes
  --flip-at K       the byte at file offset K is sent with its bits inverted
  --status CODE     every request is answered CODE with a short body (404, ...)
  --fail N          the first N requests get 500, later ones are served
  --redirect        paths other than /real/... get 302 to /real/<path>
  --ignore-range    Range headers are ignored: always 200 with the whole file
  --stall-after K   the first response stops sending after K bytes and holds the
                    connection open (up to 30 s) without sending anything
  --rate BPS        send the body at about BPS bytes per second
  --etag TAG        send ETag: TAG (quoted) and Last-Modified; honour If-Range: a
                    Range whose If-Range is not this tag is ignored (200, whole file)
  --port N          listen on port N instead of one the kernel picks (a restarted
                    server keeping its URL)
--log LOG appends one line per request: "GET PATH RANGE STATUS[ if-range=V]".
"""
import argparse
import http.server
import sys
import threading
import time

lock = threading.Lock()
state = {"requests": 0}


def parse_range(h, size):
    """(start, end) inclusive, None for no/ignored header, 'bad' for unsatisfiable."""
    if not h or not h.startswith("bytes="):
        return None
    spec = h[6:].split(",")[0].strip()
    a, _, b = spec.partition("-")
    try:
        start = int(a) if a else None
        end = int(b) if b else size - 1
    except ValueError:
        return None
    if start is None:  # suffix range "-N"
        start, end = max(0, size - end), size - 1
    if start >= size:
        return "bad"
    return start, min(end, size - 1)


def make_handler(args, data):
    size = len(data)

    def etag():
        return '"%s"' % args.etag if args.etag else None

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, fmt, *a):  # keep stderr quiet
            pass

        def note(self, status, if_range=None):
            if args.log:
                with lock, open(args.log, "a") as f:
                    f.write("%s %s %s %d%s\n" % (self.command, self.path,
                                                 self.headers.get("Range", "-"), status,
                                                 " if-range=" + if_range if if_range else ""))

        def simple(self, code, body=b"", extra=()):
            self.note(code)
            self.send_response(code)
            for k, v in extra:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self):
            self.do_GET()

        def do_GET(self):
            with lock:
                state["requests"] += 1
                n = state["requests"]
            if args.status:
                return self.simple(args.status, b"fault\n")
            if n <= args.fail:
                return self.simple(500, b"try again\n")
            if args.redirect and not self.path.startswith("/real/"):
                return self.simple(302, b"", [("Location", "/real" + self.path)])
            rng = None if args.ignore_range else parse_range(self.headers.get("Range"), size)
            if_range = self.headers.get("If-Range")
            if rng is not None and if_range is not None and if_range != etag():
                rng = None  # RFC 9110 13.1.5: the representation changed, send it all
            if rng == "bad":
                return self.simple(416, b"", [("Content-Range", "bytes */%d" % size)])
            start, end = (0, size - 1) if rng is None else rng
            code = 200 if rng is None else 206
            self.note(code, if_range)
            self.send_response(code)
            self.send_header("Content-Type", "application/octet-stream")
            if args.etag:
                self.send_header("ETag", etag())
                self.send_header("Last-Modified", "Tue, 01 Dec 2026 00:00:00 GMT")
            self.send_header("Content-Length", str(end - start + 1))
            if rng is not None:
                self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
            self.end_headers()
            if self.command == "HEAD":
                return
            self.send_body(start, end + 1, n)

        def send_body(self, start, stop, n):
            limit = stop
            if args.drop_after is not None:
                limit = min(stop, start + args.drop_after)
            stall = args.stall_after is not None and n == 1 + args.fail
            if stall:
                limit = min(limit, start + args.stall_after)
            chunk = 16384
            if args.rate:
                chunk = max(1, min(chunk, args.rate // 20))
            pos = start
            try:
                while pos < limit:
                    piece = bytearray(data[pos:min(limit, pos + chunk)])
                    if args.flip_at is not None and pos <= args.flip_at < pos + len(piece):
                        piece[args.flip_at - pos] ^= 0xFF
                    self.wfile.write(piece)
                    self.wfile.flush()
                    pos += len(piece)
                    if args.rate:
                        time.sleep(len(piece) / args.rate)
                if stall:
                    time.sleep(30)
            except (BrokenPipeError, ConnectionResetError):
                pass
            # Returning closes the connection: short of Content-Length if we stopped early.

    return H


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--log")
    ap.add_argument("--drop-after", type=int)
    ap.add_argument("--flip-at", type=int)
    ap.add_argument("--status", type=int)
    ap.add_argument("--fail", type=int, default=0)
    ap.add_argument("--redirect", action="store_true")
    ap.add_argument("--ignore-range", action="store_true")
    ap.add_argument("--stall-after", type=int)
    ap.add_argument("--rate", type=int)
    ap.add_argument("--etag")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    with open(args.file, "rb") as f:
        data = f.read()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(args, data))
    srv.daemon_threads = True
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
