# syntax=docker/dockerfile:1
# One image for every part of the system: worker, beat, api and flower differ only by command.
#   docker build -t gitops-reconciler .
#   docker run --rm gitops-reconciler reconciler worker
#
# Base images are pinned by exact tag. Pin them by digest too when you publish
# (`FROM python:3.11.14-slim-bookworm@sha256:...`); this file was written without a
# registry to resolve digests from.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm
# Argo CD ships kustomize in its image too: Kustomize sources are rendered with the binary.
ARG KUSTOMIZE_IMAGE=registry.k8s.io/kustomize/kustomize:v5.4.3

FROM ${KUSTOMIZE_IMAGE} AS kustomize

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/reconciler
WORKDIR /src
# Metadata first so the dependency layer is reused while only the code changes.
COPY pyproject.toml README.md ./
COPY reconciler ./reconciler
COPY workers ./workers
COPY beat_schedule.py ./
RUN /opt/reconciler/bin/pip install . && /opt/reconciler/bin/python -c "import reconciler, workers.celery_app"

FROM ${PYTHON_IMAGE}
# git: GitPython drives the git binary. tini: PID 1 that forwards SIGTERM (Celery's warm
# shutdown) and reaps the git children a worker leaves.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 reconciler \
    && useradd --system --uid 10001 --gid 10001 --home-dir /home/reconciler --create-home \
       --shell /usr/sbin/nologin reconciler \
    && mkdir -p /var/lib/reconciler \
    && chown 10001:10001 /var/lib/reconciler
COPY --from=kustomize /app/kustomize /usr/local/bin/kustomize
COPY --from=build /opt/reconciler /opt/reconciler
# beat_schedule.py is a top-level module loaded by name (`-S beat_schedule:...`).
WORKDIR /home/reconciler
ENV PATH=/opt/reconciler/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    RECONCILER_DATA_DIR=/var/lib/reconciler \
    XDG_CACHE_HOME=/tmp/.cache \
    XDG_CONFIG_HOME=/tmp/.config
USER 10001:10001
VOLUME ["/var/lib/reconciler"]
EXPOSE 8080 5555
# Probes the API (the default command). Compose and the Helm chart give worker, beat
# and flower their own checks; Kubernetes ignores this one.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status != 200)"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["reconciler", "api", "--port", "8080"]
