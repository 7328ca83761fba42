"""`python -m kubesim --port N`: serve the emulated Kubernetes API until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from kubesim.controllers.events import EVENT_TTL_SECONDS
from kubesim.http.server import KubeSim
from kubesim.kubeconfig import write_kubeconfig
from kubesim.storage.store import HISTORY_SIZE
from kubesim.storage.watch import BOOKMARK_INTERVAL_SECONDS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kubesim", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="TCP port (0: a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--controllers", action="store_true", help="run the simulated controllers")
    parser.add_argument("--ready-delay", type=float, default=1.0, help="seconds until workloads report ready")
    parser.add_argument("--progress-deadline-scale", type=float, default=1.0,
                        help="multiply progressDeadlineSeconds by this (e.g. 0.01: 600 s becomes 6 s)")
    parser.add_argument("--watch-history", type=int, default=HISTORY_SIZE,
                        help="changes kept for watches and Exact/continued LISTs; older versions answer 410 Gone")
    parser.add_argument("--bookmark-interval", type=float, default=BOOKMARK_INTERVAL_SECONDS,
                        help="seconds between BOOKMARK events of watches with allowWatchBookmarks=true")
    parser.add_argument("--event-ttl", type=float, default=EVENT_TTL_SECONDS,
                        help="with --controllers: seconds an Event is kept (kube-apiserver --event-ttl, default 1 h)")
    parser.add_argument("--crd-establish-delay", type=float, default=0.2,
                        help="with --controllers: seconds until a new CRD is Established")
    parser.add_argument("--termination-grace-scale", type=float, default=1.0,
                        help="with --controllers: multiply a deleted Pod's grace period by this")
    parser.add_argument("--token-auth-file", default=None,
                        help="static tokens (CSV: token,user,uid,\"group1,group2\"); enables authentication and RBAC "
                             "(kubectl sends tokens only over TLS: add --tls-cert-file/--tls-private-key-file)")
    parser.add_argument("--tls-cert-file", default=None, help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--tls-private-key-file", default=None, help="the certificate's private key (PEM)")
    parser.add_argument("--kubeconfig", default=None, metavar="FILE",
                        help="write a kubeconfig for this server to FILE once it listens (plain HTTP only)")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        sim = KubeSim(args.host, args.port, controllers=args.controllers, ready_delay=args.ready_delay,
                      progress_deadline_scale=args.progress_deadline_scale, watch_history=args.watch_history,
                      bookmark_interval=args.bookmark_interval, event_ttl=args.event_ttl,
                      crd_establish_delay=args.crd_establish_delay,
                      termination_grace_scale=args.termination_grace_scale,
                      token_auth_file=args.token_auth_file, tls_cert_file=args.tls_cert_file,
                      tls_private_key_file=args.tls_private_key_file).start()
    except (OSError, ValueError) as exc:
        print(f"kubesim: cannot start on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    if args.kubeconfig:
        write_kubeconfig(Path(args.kubeconfig), sim.url)
    print(f"kubesim serving on {sim.url}", flush=True)
    try:
        stop.wait()
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
