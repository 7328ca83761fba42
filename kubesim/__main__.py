"""`python -m kubesim --port N`: serve the emulated Kubernetes API until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from kubesim.server import KubeSim


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kubesim", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="TCP port (0: a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--controllers", action="store_true", help="run the simulated controllers")
    parser.add_argument("--ready-delay", type=float, default=1.0, help="seconds until workloads report ready")
    parser.add_argument("--progress-deadline-scale", type=float, default=1.0,
                        help="multiply progressDeadlineSeconds by this (e.g. 0.01: 600 s becomes 6 s)")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        sim = KubeSim(args.host, args.port, controllers=args.controllers, ready_delay=args.ready_delay,
                      progress_deadline_scale=args.progress_deadline_scale).start()
    except OSError as exc:
        print(f"kubesim: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    print(f"kubesim serving on {sim.url}", flush=True)
    try:
        stop.wait()
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
