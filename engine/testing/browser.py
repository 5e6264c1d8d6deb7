"""A headless Chromium driven over the DevTools protocol, for tests of rendered pages.

Opens a page, records every console message, uncaught exception and network request, and
evaluates JavaScript in it (positions of elements, whether a chart drew). No browser download:
it runs the system's ``chromium`` (Debian's package), talks to it over a local WebSocket (the
``websockets`` package's synchronous client) and routes any network traffic to a closed local
port, so a page that tries to reach the internet fails to load that resource and the request
is recorded.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.request import ProxyHandler, build_opener

from websockets.sync.client import connect

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def find_chromium() -> str | None:
    """Path of a Chromium binary on PATH (``$CHROMIUM`` first), or None."""
    explicit = os.environ.get("CHROMIUM")
    if explicit and shutil.which(explicit):
        return shutil.which(explicit)
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageLog:
    """What a page did while it loaded: console messages, exceptions, requests."""

    url: str = ""
    console: list[tuple[str, str]] = field(default_factory=list)  # (level, text)
    exceptions: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        """Console errors and uncaught exceptions, as text."""
        return [t for level, t in self.console if level == "error"] + self.exceptions

    @property
    def outside_requests(self) -> list[str]:
        """Requests for anything but the page itself and inline (data:/blob:) content."""
        inline = ("data:", "blob:", "about:")
        return [u for u in self.requests if u != self.url and not u.startswith(inline)]


class Browser:
    """One headless Chromium with one tab (a context manager)."""

    def __init__(self, binary: str, width: int = 1280, height: int = 800, timeout: float = 60):
        self.binary, self.width, self.height, self.timeout = binary, width, height, timeout
        self._ids = itertools.count(1)
        self._events: list[dict[str, Any]] = []
        self.log = PageLog()

    # ----------------------------------------------------------------------------- lifecycle
    def __enter__(self) -> Browser:
        self._profile = tempfile.mkdtemp(prefix="crwv-chromium-")
        self._stack = ExitStack()
        args = [
            self.binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-default-apps",
            "--disable-extensions",
            "--disable-sync",
            "--no-first-run",
            "--mute-audio",
            "--proxy-server=127.0.0.1:9",  # nothing listens there: no request leaves the machine
            "--remote-debugging-port=0",
            f"--user-data-dir={self._profile}",
            f"--window-size={self.width},{self.height}",
            "about:blank",
        ]
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            port = self._devtools_port()
            target = self._page_target(port)
            self._ws = self._stack.enter_context(
                connect(target, max_size=None, open_timeout=self.timeout)
            )
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.call(f"{domain}.enable")
            self.call(
                "Emulation.setDeviceMetricsOverride",
                width=self.width,
                height=self.height,
                deviceScaleFactor=1,
                mobile=False,
            )
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        shutil.rmtree(self._profile, ignore_errors=True)

    def _devtools_port(self) -> int:
        marker = Path(self._profile) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if marker.exists() and marker.read_text().strip():
                return int(marker.read_text().split()[0])
            if self._proc.poll() is not None:
                raise RuntimeError(f"{self.binary} exited with {self._proc.returncode}")
            time.sleep(0.05)
        raise TimeoutError(f"{self.binary} did not open its DevTools port")

    @staticmethod
    def _page_target(port: int) -> str:
        # the loopback DevTools endpoint, never through a proxy from the environment
        opener = build_opener(ProxyHandler({}))
        with opener.open(f"http://127.0.0.1:{port}/json/list", timeout=10) as resp:
            targets = json.loads(resp.read())
        pages = [t for t in targets if t.get("type") == "page"]
        return str(pages[0]["webSocketDebuggerUrl"])

    # ----------------------------------------------------------------------------- protocol
    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and return its result, recording the events that arrive meanwhile."""
        ident = next(self._ids)
        self._ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout
        while True:
            msg = json.loads(self._ws.recv(timeout=max(deadline - time.monotonic(), 0.01)))
            if msg.get("id") == ident:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error'].get('message')}")
                return dict(msg.get("result", {}))
            self._record(msg)

    def _record(self, msg: dict[str, Any]) -> None:
        method, p = msg.get("method", ""), msg.get("params", {})
        self._events.append(msg)
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"])
            self.log.console.append((p["type"], text))
        elif method == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            self.log.exceptions.append(str(d.get("exception", {}).get("description", d["text"])))
        elif method == "Log.entryAdded":
            entry = p["entry"]
            self.log.console.append((entry["level"], f"{entry['source']}: {entry['text']}"))
        elif method == "Network.requestWillBeSent":
            self.log.requests.append(p["request"]["url"])
        elif method == "Network.loadingFailed":
            self.log.failed.append(p.get("errorText", ""))

    def _wait_event(self, method: str) -> None:
        if any(e.get("method") == method for e in self._events):
            return
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            msg = json.loads(self._ws.recv(timeout=max(deadline - time.monotonic(), 0.01)))
            self._record(msg)
            if msg.get("method") == method:
                return
        raise TimeoutError(f"no {method} within {self.timeout} s")

    # ----------------------------------------------------------------------------- page
    def open(self, url: str) -> PageLog:
        """Load ``url`` and wait for its load event; returns the (live) log of the page."""
        self._events.clear()
        self.log = PageLog(url=url)
        self.call("Page.navigate", url=url)
        self._wait_event("Page.loadEventFired")
        return self.log

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises are awaited)."""
        result = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:60]}...: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 20.0) -> Any:
        """Poll a JavaScript expression until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value or time.monotonic() > deadline:
                return value
            time.sleep(0.1)

    def screenshot(self, path: str | os.PathLike[str], full_page: bool = False) -> Path:
        """A PNG of the viewport (or of the whole page) at ``path``."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
            size = self.call("Page.getLayoutMetrics")["cssContentSize"]
            params["clip"] = {
                "x": 0,
                "y": 0,
                "width": size["width"],
                "height": size["height"],
                "scale": 1,
            }
        data = self.call("Page.captureScreenshot", **params)["data"]
        out = Path(path)
        out.write_bytes(base64.b64decode(data))
        return out
