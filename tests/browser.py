"""Open a page in headless Chromium and report what a person would see: a screenshot, every plot's drawn
traces, console errors and every request the page made. Spoken to over the DevTools protocol on a pipe
(--remote-debugging-pipe: JSON messages ending in NUL on file descriptors 3 and 4), so no port, no
websocket and no extra package.

    python tests/browser.py PAGE.html SCREENSHOT.png    # prints what it found, as JSON
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--remote-debugging-pipe"]
WIDTH = 1200

# per plotly div: traces in its data, trace groups drawn in its SVG, and drawn marks (paths with a shape)
PLOTS = """
[...document.querySelectorAll('.plotly-graph-div')].map(d => ({
  id: d.id,
  traces: (d.data || []).length,
  drawn: d.querySelectorAll('.main-svg .trace').length,
  marks: [...d.querySelectorAll('.main-svg .trace path')].filter(p => (p.getAttribute('d') || '').length > 2).length,
}))
"""


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    def __init__(self, executable: str):
        self.profile = tempfile.mkdtemp(prefix="lstmzip-chromium-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def plumb():  # the protocol's descriptors: 3 for what Chromium reads, 4 for what it writes
            a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.process = subprocess.Popen([executable, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        preexec_fn=plumb, close_fds=False)  # only 3 and 4 are inheritable
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)
        shutil.rmtree(self.profile, ignore_errors=True)

    def _receive(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_chrome], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError(f"Chromium exited: {self.process.stderr.read().decode()[-2000:]}")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 60) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            event = self._receive(deadline)
            self.events.append(event)
            if event.get("method") == method:
                return event


def inspect(page: Path, screenshot: Path, executable: str | None = None, timeout: float = 60) -> dict:
    """Load the page, wait until every plot has drawn (or the timeout), and return {"plots": [...],
    "errors": [console errors and exceptions], "requests": [every URL asked for]}."""
    browser = Browser(executable or chromium())
    try:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.send(f"{domain}.enable", session=session)
        browser.send("Emulation.setDeviceMetricsOverride",
                     {"width": WIDTH, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session)
        browser.send("Page.navigate", {"url": page.resolve().as_uri()}, session)
        browser.wait_for("Page.loadEventFired", timeout)
        deadline = time.monotonic() + timeout
        while True:
            plots = browser.send("Runtime.evaluate", {"expression": PLOTS, "returnByValue": True}, session)["result"]["value"]
            if all(p["drawn"] and p["marks"] for p in plots) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        height = browser.send("Runtime.evaluate", {"expression": "document.documentElement.scrollHeight",
                                                   "returnByValue": True}, session)["result"]["value"]
        browser.send("Emulation.setDeviceMetricsOverride",
                     {"width": WIDTH, "height": int(height), "deviceScaleFactor": 1, "mobile": False}, session)
        time.sleep(0.5)  # plots re-lay out to the new viewport
        shot = browser.send("Page.captureScreenshot", {"format": "png"}, session)["data"]
        screenshot.write_bytes(base64.b64decode(shot))
        browser.send("Runtime.evaluate", {"expression": "1"}, session)  # collect the events sent so far
        errors, requests = [], []
        for event in browser.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                errors.append(params["exceptionDetails"].get("exception", {}).get("description", "exception"))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                errors.append(params["entry"].get("text", ""))
            elif method == "Network.requestWillBeSent":
                requests.append(params["request"]["url"])
        return {"plots": plots, "errors": errors, "requests": requests}
    finally:
        browser.close()


if __name__ == "__main__":
    print(json.dumps(inspect(Path(sys.argv[1]), Path(sys.argv[2])), indent=1))
