"""Load test of `vaegan-vc serve`: N concurrent conversions of a 5 s clip against a local server.

    .venv/bin/python benchmarks/serve_load.py [--model vcc2016] [--requests 50] [--workers 1] [--queue 8]

Starts the server in its own process, fires all requests at once (one thread each), and reports
how many got their audio, how many a clear "busy" (503), anything else (lost: must be 0), the
p50/p95 latency of the served ones and of the refusals, and the server's peak resident memory.
"""

from __future__ import annotations

import argparse
import io
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter

import numpy as np
import soundfile as sf

from common import DEFAULT_DATA, environment
from speech import speech_clip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024


def request(url: str, body: bytes, results: list, i: int) -> None:
    start = time.perf_counter()
    req = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=600) as response:
            ok = "audio" in json.loads(response.read())
            results[i] = (200 if ok else -1, time.perf_counter() - start)
    except urllib.error.HTTPError as exc:
        message = json.loads(exc.read()).get("error", "")
        results[i] = (exc.code if message else -1, time.perf_counter() - start)
    except OSError:
        results[i] = (-1, time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="vcc2016")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--queue", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    print(environment())
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "vaegan_vc", "serve", args.model, "--port", str(port),
                               "--workers", str(args.workers), "--queue", str(args.queue)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                voices = json.loads(urllib.request.urlopen(base + "/api/voices", timeout=1).read())["voices"]
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("the server did not start")
        buffer = io.BytesIO()
        sf.write(buffer, speech_clip(DEFAULT_DATA, "SF1", args.seconds, 22050), 22050, format="WAV")
        body, url = buffer.getvalue(), f"{base}/api/convert?target={voices[1]}"
        idle_rss = peak_rss_mib(server.pid)
        results: list = [None] * args.requests
        threads = [threading.Thread(target=request, args=(url, body, results, i)) for i in range(args.requests)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - start
        counts = Counter(code for code, _ in results)
        print(f"{args.requests} concurrent requests of {args.seconds:g} s audio; workers {args.workers}, queue {args.queue}; "
              f"{wall:.1f} s in all")
        print(f"served {counts[200]}, busy (503) {counts[503]}, other answers {sum(v for k, v in counts.items() if k not in (200, 503))}")
        for code, name in ((200, "served"), (503, "busy")):
            lat = [s for c, s in results if c == code]
            if lat:
                print(f"  {name:<6} latency p50 {np.percentile(lat, 50):.2f} s, p95 {np.percentile(lat, 95):.2f} s")
        print(f"server peak RSS {peak_rss_mib(server.pid):.0f} MiB (after loading: {idle_rss:.0f} MiB)")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
