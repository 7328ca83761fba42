"""`KubeSim`: an in-process, in-memory Kubernetes API server on a free loopback port."""

from __future__ import annotations

import ssl
import threading
from types import TracebackType
from typing import Any

from kubesim.api import SimAPI
from kubesim.auth.authentication import load_token_file
from kubesim.controllers.cluster_addons import AddonSettings, ClusterAddons
from kubesim.controllers.events import EVENT_TTL_SECONDS
from kubesim.controllers.hooks import start_controllers
from kubesim.http.handler import KubeSimHTTPServer
from kubesim.storage.store import HISTORY_SIZE
from kubesim.storage.watch import BOOKMARK_INTERVAL_SECONDS


class KubeSim:
    """Serve the emulated API in background threads: `with KubeSim() as sim: sim.url`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, controllers: bool = False,
                 ready_delay: float = 1.0, progress_deadline_scale: float = 1.0, *,
                 watch_history: int = HISTORY_SIZE, bookmark_interval: float = BOOKMARK_INTERVAL_SECONDS,
                 event_ttl: float = EVENT_TTL_SECONDS, crd_establish_delay: float = 0.2,
                 termination_grace_scale: float = 1.0, token_auth_file: str | None = None,
                 tls_cert_file: str | None = None, tls_private_key_file: str | None = None) -> None:
        self.host = host
        self.requested_port = port
        self.ready_delay = ready_delay
        # Scales Deployment progressDeadlineSeconds (and Job activeDeadlineSeconds) so a test
        # sees ProgressDeadlineExceeded in seconds instead of ten minutes.
        self.progress_deadline_scale = progress_deadline_scale
        # With controllers on: Events live event_ttl seconds (kube-apiserver --event-ttl, 1 h);
        # a new CRD is Established crd_establish_delay seconds after its creation; a deleted
        # Pod goes away after terminationGracePeriodSeconds x termination_grace_scale.
        self.event_ttl = event_ttl
        self.crd_establish_delay = crd_establish_delay
        self.termination_grace_scale = termination_grace_scale
        # HTTPS (kube-apiserver's --tls-cert-file/--tls-private-key-file): clients such as kubectl
        # send bearer tokens only over TLS, so token users need it.
        self.tls = (tls_cert_file, tls_private_key_file) if tls_cert_file and tls_private_key_file else None
        self.api = SimAPI(watch_history, bookmark_interval)
        if token_auth_file:
            self.api.enable_auth(load_token_file(token_auth_file))
        # Without controllers, nothing would ever establish a CRD: the API server does it at once.
        self.api.cluster.crds_established_by_controller = controllers
        self.controllers = controllers
        self._controllers: Any | None = None  # see kubesim.controllers.hooks for the controller contract
        self._addons: ClusterAddons | None = None
        self._server: KubeSimHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("KubeSim is not running: call start() or use it as a context manager")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def start(self) -> KubeSim:
        if self._server is not None:
            return self
        self.api.store.closed = False  # a restarted server serves watches again
        self._server = KubeSimHTTPServer((self.host, self.requested_port), self.api)
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            # the handshake runs on the connection's own thread (first read), never on the accepting one
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True,
                                                      do_handshake_on_connect=False)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"kubesim-{self.port}", daemon=True)
        self._thread.start()
        if self.controllers:
            self._controllers = start_controllers(self)
            self._addons = ClusterAddons(self.api, AddonSettings(
                self.ready_delay, self.event_ttl, self.crd_establish_delay, self.termination_grace_scale)).start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self.api.store.close()  # ends open watch streams
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._addons is not None:
            self._addons.stop()
            self._addons = None
        if self._controllers is not None and hasattr(self._controllers, "stop"):
            self._controllers.stop()
        self._controllers = None
        self._server = None

    def __enter__(self) -> KubeSim:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
