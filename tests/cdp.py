"""cdp.py - drive Debian's headless Chromium over the DevTools protocol, standard library only.

The browser is started with --remote-debugging-pipe: commands go to its fd 3 and
replies come from its fd 4, NUL-separated JSON, so no port, no websocket, no network.
Always stopped by its PID (Browser.close, also on exceptions via `with`).
"""
import base64
import json
import os
import select
import shutil
import struct
import subprocess
import tempfile
import time
import zlib

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-default-apps", "--mute-audio",
    "--hide-scrollbars", "--force-device-scale-factor=1",
    "--remote-debugging-pipe",
]


def find_chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    def __init__(self, width=1400, height=1000, timeout=30.0):
        exe = find_chromium()
        if not exe:
            raise RuntimeError("chromium not found: apt-get install -y chromium")
        self.profile = tempfile.mkdtemp(prefix="cifar-act-chromium.")
        self.timeout = timeout
        to_child_r, self._w = os.pipe()
        self._r, from_child_w = os.pipe()

        def fds():
            # The pipe's own numbers may be 3 or 4: copy them out of the way first,
            # then into place (dup2 onto another number makes the copy inheritable).
            a, b = os.dup(to_child_r), os.dup(from_child_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [exe] + CHROMIUM_FLAGS + ["--user-data-dir=" + self.profile,
                                      "--window-size=%d,%d" % (width, height), "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(os.environ.get("CDP_LOG", os.devnull), "w"),
            close_fds=False, preexec_fn=fds)  # os.pipe fds are not inheritable; 3, 4 are
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b""
        self._id = 0
        self.events = []
        self.session = None
        self.width, self.height = width, height

    # ---- protocol ----
    def _send(self, method, params=None, session=True):
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        return self._id

    def _read_one(self, deadline):
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("chromium did not answer")
            ready, _, _ = select.select([self._r], [], [], left)
            if ready:
                chunk = os.read(self._r, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the pipe")
                self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method, params=None, session=True):
        want = self._send(method, params, session)
        deadline = time.monotonic() + self.timeout
        while True:
            msg = self._read_one(deadline)
            if msg.get("id") == want:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def wait_event(self, method, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        for i, ev in enumerate(self.events):
            if ev["method"] == method:
                return self.events.pop(i)
        while True:
            msg = self._read_one(deadline)
            if msg.get("method") == method:
                return msg
            if "method" in msg:
                self.events.append(msg)

    def pump(self, seconds=0.05):
        """Collect events for a moment (console messages arrive asynchronously)."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                msg = self._read_one(deadline)
                if "method" in msg:
                    self.events.append(msg)
        except TimeoutError:
            pass

    # ---- a page ----
    def open(self, url):
        if not self.session:
            target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)
            res = self.call("Target.attachToTarget",
                            {"targetId": target["targetId"], "flatten": True}, session=False)
            self.session = res["sessionId"]
            for dom in ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable"):
                self.call(dom)
            self.call("Emulation.setDeviceMetricsOverride",
                      {"width": self.width, "height": self.height, "deviceScaleFactor": 1,
                       "mobile": False})
        self.events = [e for e in self.events if e["method"] not in
                       ("Page.loadEventFired", "Network.requestWillBeSent")]
        # Through about:blank: a navigation that changes only the fragment would stay in
        # the same document and fire no load event.
        self.call("Page.navigate", {"url": "about:blank"})
        self.wait_event("Page.loadEventFired")
        self.events = []
        self.call("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired")

    def eval(self, expr):
        res = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True,
                                             "awaitPromise": True})
        if "exceptionDetails" in res:
            raise RuntimeError("JS error in %r: %s" % (expr, res["exceptionDetails"]))
        return res["result"].get("value")

    def wait_for(self, expr, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.eval(expr):
                return True
            self.pump(0.05)
        return False

    def key(self, key, code=None, vk=0):
        for t in ("keyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", {"type": t, "key": key, "code": code or key,
                                                 "windowsVirtualKeyCode": vk,
                                                 "nativeVirtualKeyCode": vk})

    def type_text(self, text):
        self.call("Input.insertText", {"text": text})

    def mouse(self, x, y, click=False):
        self.call("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})
        if click:
            for t in ("mousePressed", "mouseReleased"):
                self.call("Input.dispatchMouseEvent", {"type": t, "x": x, "y": y,
                                                       "button": "left", "clickCount": 1})

    def rect(self, selector):
        return self.eval("(function(){var r=document.querySelector(%s).getBoundingClientRect();"
                         "return [r.left, r.top, r.width, r.height];})()" % json.dumps(selector))

    def screenshot(self, clip=None, full=False, scale=1):
        params = {"format": "png"}
        if clip:
            params["clip"] = {"x": clip[0], "y": clip[1], "width": clip[2], "height": clip[3],
                              "scale": scale}
        if full:
            params["captureBeyondViewport"] = True
            size = self.eval("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            params["clip"] = {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1}
        return base64.b64decode(self.call("Page.captureScreenshot", params)["data"])

    def requested(self):
        """URLs the page asked for since the last open (Network.requestWillBeSent)."""
        self.pump(0.1)
        return [e["params"]["request"]["url"] for e in self.events
                if e["method"] == "Network.requestWillBeSent"]

    def console_problems(self):
        """Console errors and warnings, uncaught exceptions, failed loads so far."""
        self.pump(0.2)
        out = []
        for ev in self.events:
            m, p = ev["method"], ev.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning", "assert"):
                out.append("console.%s: %s" % (p["type"], " ".join(
                    str(a.get("value", a.get("description", ""))) for a in p.get("args", []))))
            elif m == "Runtime.exceptionThrown":
                out.append("exception: %s" % p["exceptionDetails"].get("exception", {}).get(
                    "description", p["exceptionDetails"].get("text")))
            elif m == "Log.entryAdded" and p["entry"]["level"] in ("error", "warning"):
                out.append("log %s: %s %s" % (p["entry"]["level"], p["entry"]["text"],
                                             p["entry"].get("url", "")))
        return out

    def close(self):
        """Stop the browser we started, by its PID, and remove its profile."""
        try:
            os.close(self._w)
        except OSError:
            pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        os.close(self._r)
        # The browser's helper processes may still be finishing a write into the
        # profile for a moment after the browser itself has exited.
        for _ in range(10):
            shutil.rmtree(self.profile, ignore_errors=True)
            if not os.path.exists(self.profile):
                break
            time.sleep(0.2)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---- PNG decoding (for screenshots): 8-bit RGB/RGBA, non-interlaced ----
def png_decode(data):
    """Return (width, height, channels, bytes of rows without filter bytes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype in (2, 6) and not interlace, "unsupported PNG"
            ch = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * ch
    out = bytearray(h * stride)
    prev = bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - ch] if x >= ch else 0
            b = prev[x]
            c = prev[x - ch] if x >= ch else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + ((a + b) >> 1)) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out[y * stride:(y + 1) * stride] = line
        prev = line
    return w, h, ch, bytes(out)


def distinct_colors(png, limit=100000):
    w, h, ch, px = png_decode(png)
    seen = set()
    for i in range(0, len(px), ch * 7):  # every 7th pixel is plenty to tell blank from not
        seen.add(px[i:i + 3])
        if len(seen) >= limit:
            break
    return len(seen)
