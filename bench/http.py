"""HTTP side of the benchmark: gunicorn, load from wrk (or a small Python load generator),
and the weight of a page's first load.
"""

import http.client
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from bench.databases import BASE_DIR, django_env

HOST = "127.0.0.1"


def wrk_available() -> bool:
    """wrk from Debian's packages; installed on the spot when we are root and it is missing."""
    if shutil.which("wrk"):
        return True
    if shutil.which("apt-get") and hasattr(sys, "getrefcount"):
        import os

        if os.geteuid() == 0:
            subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], capture_output=True)
    return bool(shutil.which("wrk"))


@contextmanager
def gunicorn(database: str, port: int, static_root: str, workers: int = 2):
    """Serve the app on HOST:port from `database` with DEBUG off, like production."""
    env = django_env(database, STATIC_ROOT=static_root)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "aidao.wsgi:application",
            "--workers",
            str(workers),
            "--bind",
            f"{HOST}:{port}",
            "--log-level",
            "warning",
            "--backlog",
            "256",
        ],
        cwd=BASE_DIR,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((HOST, port), timeout=1):
                    break
            except OSError:
                time.sleep(0.3)
        else:
            raise RuntimeError("gunicorn did not start")
        yield f"http://{HOST}:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def _milliseconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def load(url: str, cookie: str | None, seconds: int = 10, connections: int = 16) -> dict:
    """Requests per second and p50/p99 latency (ms) of GET `url` at `connections` clients."""
    if wrk_available():
        return _wrk(url, cookie, seconds, connections)
    return _python_load(url, cookie, seconds, connections)


def _wrk(url, cookie, seconds, connections) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if cookie:
        command[1:1] = ["-H", f"Cookie: sessionid={cookie}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", output, re.MULTILINE))
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)$", output, re.MULTILINE)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50": _milliseconds(latency["50"]) if "50" in latency else float("nan"),
        "p99": _milliseconds(latency["99"]) if "99" in latency else float("nan"),
        "bad": int(failed.group(1)) if failed else 0,
        "socket_errors": errors.group(1) if errors else "",
        "tool": "wrk",
    }


def _python_load(url, cookie, seconds, connections) -> dict:
    """Fallback when wrk is absent: threads, each a client with its own connection."""
    parts = urlsplit(url)
    headers = {"Cookie": f"sessionid={cookie}"} if cookie else {}
    latencies, bad = [], [0]
    deadline = time.monotonic() + seconds

    def client():
        while time.monotonic() < deadline:
            began = time.perf_counter()
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
            connection.request("GET", parts.path, headers=headers)
            response = connection.getresponse()
            response.read()
            connection.close()
            latencies.append((time.perf_counter() - began) * 1000)
            if response.status >= 400:
                bad[0] += 1

    threads = [threading.Thread(target=client) for _i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    return {
        "rps": len(latencies) / seconds,
        "p50": statistics.median(latencies),
        "p99": latencies[int(len(latencies) * 0.99) - 1],
        "bad": bad[0],
        "socket_errors": "",
        "tool": "python",
    }


class _Assets(HTMLParser):
    """Stylesheets, scripts and images a page loads, and which of them block rendering."""

    def __init__(self):
        super().__init__()
        self.urls, self.blocking = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        url, blocks = None, False
        if tag == "link" and "stylesheet" in (attrs.get("rel") or "").split():
            url, blocks = attrs.get("href"), attrs.get("media") not in ("print",)
        elif tag == "script" and attrs.get("src"):
            url = attrs["src"]
            blocks = "async" not in attrs and "defer" not in attrs and attrs.get("type") != "module"
        elif tag == "img" and attrs.get("src") and attrs.get("loading") != "lazy":
            url = attrs["src"]
        if url and not url.startswith("data:"):
            self.urls.append(url)
            if blocks:
                self.blocking.append(url)


def _fetch(url: str, cookie: str | None) -> tuple[int, bytes, int]:
    """(status, body as sent on the wire, header bytes) with compression accepted."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    headers = {"Accept-Encoding": "gzip, br"}
    if cookie:
        headers["Cookie"] = f"sessionid={cookie}"
    connection.request(
        "GET", parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers
    )
    response = connection.getresponse()
    body = response.read()
    header_bytes = len(str(response.msg)) + 20
    connection.close()
    return response.status, body, header_bytes


def page_weight(url: str, cookie: str | None) -> dict:
    """Bytes of a first load (page, its stylesheets, scripts, images) and third-party blockers."""
    status, body, header_bytes = _fetch(url, cookie)
    if status != 200:
        raise RuntimeError(f"{url} answered {status}")
    import gzip

    html = body
    if body[:2] == b"\x1f\x8b":
        html = gzip.decompress(body)
    parser = _Assets()
    parser.feed(html.decode())
    total, files = len(body) + header_bytes, 1
    origin = urlsplit(url).netloc
    third_party = [u for u in parser.blocking if urlsplit(urljoin(url, u)).netloc != origin]
    for asset in dict.fromkeys(parser.urls):
        absolute = urljoin(url, asset)
        if urlsplit(absolute).netloc != origin:
            continue  # not ours to weigh; counted as third party if it blocks
        _status, asset_body, asset_headers = _fetch(absolute, None)
        total += len(asset_body) + asset_headers
        files += 1
    return {"bytes": total, "files": files, "third_party_blocking": len(third_party)}
