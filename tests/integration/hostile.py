"""A hostile guest for the probe tests: a raw-socket HTTP(S) server on
loopback whose every answer is chosen to hurt the client (trickled headers,
endless or huge bodies, megabytes of headers, redirects into Dom0, bytes
that are not HTTP, early closes, a bad certificate, a compression bomb).

It records every connection and request it gets. A test starts it with
start() and stops it with stop(); stop() closes every socket and joins
every thread it started."""
import gzip
import socket
import ssl
import threading
import time

CHUNK = 64 * 1024


class HostileServer:
    def __init__(self, behaviour, addr="127.0.0.1", tls=None, **opts):
        """behaviour: a method name below (without "_b_"); tls: an
        ssl.SSLContext to wrap each connection in."""
        self.behaviour = getattr(self, "_b_" + behaviour)
        self.opts = opts
        if behaviour == "gzip_bomb" and "bomb" not in opts:
            # 64 MiB of zeros in about 64 KiB, made once, not per request.
            self.opts["bomb"] = gzip.compress(b"\0" * (64 << 20), 9)
        self.tls = tls
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((addr, 0))
        self.lsock.listen(64)
        self.lsock.settimeout(0.2)
        self.addr, self.port = self.lsock.getsockname()
        self.requests = []          # raw request heads, bytes
        self.connections = 0
        self.bytes_sent = 0
        self._stop = threading.Event()
        self._threads = []
        self._conns = set()
        self._lock = threading.Lock()

    # ---- life cycle -------------------------------------------------------

    def start(self):
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self):
        self._stop.set()
        with self._lock:
            for c in list(self._conns):
                try:
                    c.close()
                except OSError:
                    pass
        for t in list(self._threads):
            t.join(10)
        self.lsock.close()

    def url(self, path="/healthz", scheme="http"):
        return f"{scheme}://{self.addr}:{self.port}{path}"

    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                c, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._conns.add(c)
                t = threading.Thread(target=self._serve, args=(c,), daemon=True)
                self._threads.append(t)
            t.start()

    def _serve(self, c):
        try:
            c.settimeout(5)
            if self.tls is not None:
                try:
                    c = self.tls.wrap_socket(c, server_side=True)
                except (ssl.SSLError, OSError):
                    return          # the client refused our certificate
                with self._lock:
                    self._conns.add(c)
            head = self._read_head(c)
            if head is None:
                return
            with self._lock:
                self.requests.append(head)
            self.behaviour(c)
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                c.close()
            except OSError:
                pass

    def _read_head(self, c):
        buf = b""
        while b"\r\n\r\n" not in buf and len(buf) < 65536:
            try:
                d = c.recv(4096)
            except (socket.timeout, OSError):
                return None
            if not d:
                return None
            buf += d
        return buf

    def _send(self, c, data):
        c.sendall(data)
        self.bytes_sent += len(data)

    def _forever(self, c, piece, pause):
        """Sends piece again and again until the client goes or stop()."""
        while not self._stop.is_set():
            self._send(c, piece)
            if pause:
                time.sleep(pause)       # the hostile guest's pacing, not a wait

    # ---- behaviours -------------------------------------------------------

    def _b_ok(self, c):
        self._send(c, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    def _b_raw(self, c):
        """Sends opts['data'] as it is, then closes."""
        self._send(c, self.opts["data"])

    def _b_trickle_headers(self, c):
        """A status line, then one header byte every 50 ms, forever."""
        self._send(c, b"HTTP/1.1 200 OK\r\n")
        self._forever(c, b"X", 0.05)

    def _b_trickle_complete(self, c):
        """A whole valid response, one byte every 5 ms."""
        for b in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok":
            self._send(c, bytes([b]))
            time.sleep(0.005)           # the hostile guest's pacing, not a wait

    def _b_endless_body(self, c):
        self._send(c, b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
        self._forever(c, b"x" * CHUNK, 0)

    def _b_big_body(self, c):
        """10 MB announced and sent, the expected text only at its end."""
        size = self.opts.get("size", 10 << 20)
        tail = self.opts.get("tail", b"")
        self._send(c, b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (size + len(tail)))
        left = size
        while left > 0 and not self._stop.is_set():
            n = min(left, CHUNK)
            self._send(c, b"x" * n)
            left -= n
        self._send(c, tail)

    def _b_huge_headers(self, c):
        """1 MB of headers: many lines (or one line with opts['one_line'])."""
        total = self.opts.get("size", 1 << 20)
        self._send(c, b"HTTP/1.1 200 OK\r\n")
        if self.opts.get("one_line"):
            self._send(c, b"X-Huge: " + b"a" * total + b"\r\n")
        else:
            line = b"X-Pad: " + b"a" * 1000 + b"\r\n"
            for _ in range(total // len(line)):
                if self._stop.is_set():
                    return
                self._send(c, line)
        self._send(c, b"Content-Length: 2\r\n\r\nok")

    def _b_redirect(self, c):
        self._send(c, b"HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n"
                   % self.opts["location"].encode())

    def _b_early_close(self, c):
        pass                                      # reads the request, closes

    def _b_half_status(self, c):
        self._send(c, b"HTTP/1.1 2")

    def _b_reset(self, c):
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")

    def _b_gzip_bomb(self, c):
        body = self.opts["bomb"]
        self._send(c, b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
                   b"Content-Length: %d\r\n\r\n" % len(body) + body)


def self_signed(tmp, name="guest"):
    """A self-signed certificate for 127.0.0.1 (openssl CLI): (cert, key)."""
    import subprocess
    cert, key = tmp / f"{name}.crt", tmp / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def tls_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    return ctx
