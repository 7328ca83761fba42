"""kubesim: an in-memory Kubernetes API server emulator for tests and a no-cluster demo.

`KubeSim()` serves over HTTP on a loopback port; `sim.api` gives direct access to its
objects, request log, counters and fault injection (also under `/_kubesim/`).
"""

from kubesim.http.server import KubeSim

__all__ = ["KubeSim"]
