"""Every Redis key of the system, in one place (the methods that read and write them are split by
concern across the modules of this package).

Layout (all keys start with `rc:`):

| key | type | holds |
| --- | --- | --- |
| `rc:apps` | hash | app name -> Application manifest (JSON) |
| `rc:projects` | hash | project name -> AppProject manifest (JSON) |
| `rc:app-owner` | hash | app name -> who registered it: `api`, `cli` or `parent:<app>` (app-of-apps) |
| `rc:project-owner` | hash | project name -> who registered it (as `rc:app-owner`) |
| `rc:app-parent` | hash | (before owners were recorded) child -> parent; read by nothing, removed with the app |
| `rc:schedule` | sorted set | app name scored by its next poll time (unix seconds) |
| `rc:poll-interval` | hash | app name -> its own poll interval, when it has one |
| `rc:status:{app}` | string | status JSON; written only forwards (by `observedAt`) |
| `rc:applied:{app}` | hash | key -> `fingerprint:manifestHash` a sync applied; the next poll's verified, expires |
| `rc:history:{app}` | list | history entries (JSON), oldest first, capped |
| `rc:history-seq:{app}` | counter | last history id given out |
| `rc:inventory:{app}` | hash | resource key -> object reference (JSON) |
| `rc:lock:{app}` | string | the sync lock: the token of the operation holding it |
| `rc:pending:{app}` | string | a sync request that arrived while the app was locked |
| `rc:queued:{app}` | string | set while a sync request waits in the queue (coalescing) |
| `rc:op:{id}` | string | a sync operation's state machine (JSON, Secrets sealed: sealing.py); a stub once ended |
| `rc:op-terminate:{id}` | string | set by `app terminate-op`: the operation ends before its next step, expires |
| `rc:prune-confirmed:{app}` | string | set by `app confirm-prune`: Prune=confirm objects may go, expires |
| `rc:deleting:{app}` | string | why a cascade delete kept the app (a PreDelete/PostDelete hook failed or still runs) |
| `rc:pre-deleted:{app}` | string | a cascade delete ran all PreDelete hooks to completion: not run again |
| `rc:delete-request:{app}` | string | a cascade delete asked for (JSON): runs once no sync holds the app |
| `rc:opstate:{app}` | string | the app's latest sync operation as users see it (JSON; Secrets sealed) |
| `rc:failed:{app}` | string | revision+source the automated path last failed on |
| `rc:deferred` | sorted set | sync requests (JSON) scored by when they may run (retries) |
| `rc:render:{key}` | string | cached render output (JSON, Secrets sealed, compressed), expires |
| `rc:refs:{repo}` | string | `#listed-at <time>` and a repository's `git ls-remote` output, shared, expires |
| `rc:charts:{repo}/{chart}` | string | versions of a Helm chart (JSON version -> digest), shared like refs, expires |
| `rc:shared:{app}` | hash | resource -> another app that wants this app's object (SharedResourceWarning), expires |
| `rc:selfheal:{app}` | hash | self-heal attempt count and time |
| `rc:webhook-poll:{app}` | string | when a webhook's fresh poll of the app was queued (coalescing), expires |
| `rc:reply:{id}` | list | a worker's answer to an API process's cluster request (JSON), expires |
| `rc:preview:{id}` | string | a pull-request preview: request, state and finished document (JSON), expires |
| `rc:preview-pr:{pr}` | string | newest preview of a pull request (`host:owner/repo#n`): older ones stop, expires |
| `rc:log-follow:{id}` | stream | lines of followed container logs a worker relays to the API (workers mode), expires |
| `rc:log-follow-wanted:{id}` | string | set while the API streams a followed log; the worker stops once it expires |
| `rc:refresh-claim:{app}` | string | a read-only caller's refresh of the app ran this window (rate limit), expires |
| `rc:webhook-rate:{source}` | counter | webhook requests from one client address this minute, expires |
| `rc:session:{id}` | string | a login session (JSON: who, groups, SHA-256 of its secrets, expiry), expires |
| `rc:sessions` | sorted set | session ids scored by when they expire (to list and revoke them) |
| `rc:oidc-login:{state}` | string | a sign-on in progress (PKCE verifier, nonce, where to return), expires |
| `rc:login-grant:{hash}` | string | a sign-on the CLI collects with a one-time code (its SHA-256), expires |
| `rc:project-tokens:{project}` | hash | `{role}:{id}` -> a project role token's id, iat, exp (JSON); delete: revoked |
| `rc:metrics:audit` | hash | JSON `[action, outcome]` -> audit events (counter) |
| `rc:webhook-delivery:{provider}:{id}` | string | a webhook delivery already handled (replays ignored), expires |
| `rc:deliveries:{task id}` | counter | how often a Celery task was started: redeliveries after lost workers, expires |
| `rc:metrics:syncs` | hash | JSON `[app, phase]` -> finished sync operations (counter) |
| `rc:metrics:reconcile` | hash | `le:{bound}` -> polls that took up to that bound (not cumulative); `sum` -> seconds |
| `rc:metrics:git` | hash | JSON `[request type, repo, calls/failures/seconds]` -> running total |
| `rc:metrics:webhooks` | hash | JSON `[provider, result]` -> webhook requests (counter) |
| `rc:metrics:k8s` | hash | JSON `[verb, HTTP code]` -> Kubernetes API requests (counter) |
| `rc:live:{cluster}:app:{app}` | hash | the watcher's index: `group/kind/ns/name` -> tracked object record (JSON) |
| `rc:live:{cluster}:tree:{app}` | hash | uid -> record of an object under the app's objects (ownerReferences) |
| `rc:live:{cluster}:apps` | set | apps with entries in the two hashes above (for a resync's clean-up) |
| `rc:live:{cluster}:meta` | hash | watcher heartbeat, holder, coverage (which kinds/namespaces are watched) |
| `rc:live-lease:{cluster}` | string | the watcher holding the cluster: its fencing token, expires |
| `rc:live-fence` | counter | last fencing token given out |
| `rc:live-poll:{app}` | string | set while a poll the watcher queued waits in the queue (coalescing), expires |
| `rc:live:{cluster}:ns:{namespace}` | hash | uid -> record of a top-level object no app tracks (orphaned resources) |
| `rc:live:{cluster}:namespaces` | set | namespaces with entries in the hash above (for a resync's clean-up) |
| `rc:app-events` | stream | `{type, app}` per change a viewer sees (status, operation, tree, deleted); capped |
| `rc:app-rows` | hash | app name -> the list row's status fields (sync, health, revision; JSON) |
| `rc:appsets` | hash | ApplicationSet name -> manifest (JSON) |
| `rc:appset-status:{set}` | string | the set's status: conditions, resources, rolling sync steps (JSON) |
| `rc:appset-parent` | hash | ApplicationSet name -> the app-of-apps parent that registered it |
| `rc:appset-owner` | hash | generated app name -> the ApplicationSet that owns it |
| `rc:appset-schedule` | sorted set | set name scored by its next generation time |
| `rc:appset-lock:{set}` | string | the worker generating the set: its token, expires |
| `rc:appset-again:{set}` | string | a run was asked for while the set was locked: run again, expires |
| `rc:appset-queued:{set}` | string | set while a generation waits in the queue (coalescing), expires |
| `rc:clusters` | hash | cluster name -> its Argo CD cluster Secret (JSON, sealed: its config holds credentials) |
| `rc:notified:{app}` | hash | notified key (`[oncePer:]trigger:condition:service:recipient`) -> when claimed |
| `rc:notify-seen:{app}` | string | fingerprint of the app as notifications last evaluated it |
| `rc:notify-outbox` | hash | delivery id -> a claimed notification not yet sent or given up (JSON, no secrets) |
| `rc:notify-ready` | list | delivery ids to hand to the `notifications` queue |
| `rc:notify-sending:{id}` | string | a delivery task is sending it now, expires |
| `rc:notify-log:{app}` | list | the app's last deliveries and failures (JSON), capped, expires |
| `rc:metrics:notifications` | hash | JSON `[service, trigger, succeeded]` -> deliveries (counter) |

`{cluster}` is a short hash of the API server URL (reconciler/live/keys: `cluster_id`).

Values are JSON so any process (worker, beat, API) reads what another wrote.
"""

from __future__ import annotations

import json
from typing import Any

PREFIX = "rc"
RENDER_CACHE_TTL_SECONDS = 24 * 3600


class Keys:
    apps = f"{PREFIX}:apps"
    projects = f"{PREFIX}:projects"
    app_owners = f"{PREFIX}:app-owner"
    project_owners = f"{PREFIX}:project-owner"
    legacy_parents = f"{PREFIX}:app-parent"
    schedule = f"{PREFIX}:schedule"
    poll_interval = f"{PREFIX}:poll-interval"
    app_events = f"{PREFIX}:app-events"
    app_rows = f"{PREFIX}:app-rows"

    @staticmethod
    def status(app: str) -> str:
        return f"{PREFIX}:status:{app}"

    @staticmethod
    def applied(app: str) -> str:
        return f"{PREFIX}:applied:{app}"

    @staticmethod
    def history(app: str) -> str:
        return f"{PREFIX}:history:{app}"

    @staticmethod
    def history_seq(app: str) -> str:
        return f"{PREFIX}:history-seq:{app}"

    @staticmethod
    def inventory(app: str) -> str:
        return f"{PREFIX}:inventory:{app}"

    @staticmethod
    def lock(app: str) -> str:
        return f"{PREFIX}:lock:{app}"

    @staticmethod
    def pending(app: str) -> str:
        return f"{PREFIX}:pending:{app}"

    @staticmethod
    def queued(app: str) -> str:
        return f"{PREFIX}:queued:{app}"

    @staticmethod
    def operation(op_id: str) -> str:
        return f"{PREFIX}:op:{op_id}"

    deferred = f"{PREFIX}:deferred"

    @staticmethod
    def operation_terminate(op_id: str) -> str:
        return f"{PREFIX}:op-terminate:{op_id}"

    @staticmethod
    def deleting(app: str) -> str:
        return f"{PREFIX}:deleting:{app}"

    @staticmethod
    def delete_request(app: str) -> str:
        return f"{PREFIX}:delete-request:{app}"

    @staticmethod
    def pre_deleted(app: str) -> str:
        return f"{PREFIX}:pre-deleted:{app}"

    @staticmethod
    def prune_confirmed(app: str) -> str:
        return f"{PREFIX}:prune-confirmed:{app}"

    @staticmethod
    def operation_state(app: str) -> str:
        return f"{PREFIX}:opstate:{app}"

    @staticmethod
    def failed(app: str) -> str:
        return f"{PREFIX}:failed:{app}"

    @staticmethod
    def refs(repo_key: str) -> str:
        return f"{PREFIX}:refs:{repo_key}"

    @staticmethod
    def chart_versions(chart_key: str) -> str:
        return f"{PREFIX}:charts:{chart_key}"

    @staticmethod
    def render(cache_key: str) -> str:
        return f"{PREFIX}:render:{cache_key}"

    @staticmethod
    def shared(app: str) -> str:
        return f"{PREFIX}:shared:{app}"

    @staticmethod
    def self_heal(app: str) -> str:
        return f"{PREFIX}:selfheal:{app}"

    # Telemetry (reconciler/telemetry.py writes, reconciler/metrics.py reads). Not per app:
    # a deleted app's counters stay, and /metrics shows only registered apps' series.
    metrics_syncs = f"{PREFIX}:metrics:syncs"
    metrics_reconcile = f"{PREFIX}:metrics:reconcile"
    metrics_git = f"{PREFIX}:metrics:git"
    metrics_webhooks = f"{PREFIX}:metrics:webhooks"
    metrics_k8s = f"{PREFIX}:metrics:k8s"
    metrics_notifications = f"{PREFIX}:metrics:notifications"
    metrics_audit = f"{PREFIX}:metrics:audit"

    # Access (reconciler/state/access.py): sessions, sign-ons in progress, project role tokens.
    sessions = f"{PREFIX}:sessions"

    @staticmethod
    def session(session_id: str) -> str:
        return f"{PREFIX}:session:{session_id}"

    @staticmethod
    def oidc_login(state: str) -> str:
        return f"{PREFIX}:oidc-login:{state}"

    @staticmethod
    def login_grant(code_hash: str) -> str:
        return f"{PREFIX}:login-grant:{code_hash}"

    @staticmethod
    def device_login(device_hash: str) -> str:
        """A CLI sign-in by device code (RFC 8628), by the hash of its device code."""
        return f"{PREFIX}:device-login:{device_hash}"

    @staticmethod
    def device_rate(source: str) -> str:
        """Device sign-ins asked for by one client address in the current minute."""
        return f"{PREFIX}:device-rate:{source}"

    @staticmethod
    def login_rate(source: str) -> str:
        """Single sign-ons started by one client address in the current minute."""
        return f"{PREFIX}:login-rate:{source}"

    @staticmethod
    def device_user_code(user_code: str) -> str:
        """The user code a person types at /auth/device -> the hash of its device code."""
        return f"{PREFIX}:device-user-code:{user_code}"

    @staticmethod
    def project_tokens(project: str) -> str:
        return f"{PREFIX}:project-tokens:{project}"

    @staticmethod
    def webhook_poll(app: str) -> str:
        return f"{PREFIX}:webhook-poll:{app}"

    @staticmethod
    def reply(request_id: str) -> str:
        return f"{PREFIX}:reply:{request_id}"

    @staticmethod
    def preview(preview_id: str) -> str:
        return f"{PREFIX}:preview:{preview_id}"

    @staticmethod
    def preview_pr(pull_request: str) -> str:
        return f"{PREFIX}:preview-pr:{pull_request}"
    def log_follow(request_id: str) -> str:
        return f"{PREFIX}:log-follow:{request_id}"

    @staticmethod
    def log_follow_wanted(request_id: str) -> str:
        return f"{PREFIX}:log-follow-wanted:{request_id}"

    @staticmethod
    def webhook_rate(source: str) -> str:
        return f"{PREFIX}:webhook-rate:{source}"

    @staticmethod
    def refresh_claim(app: str) -> str:
        return f"{PREFIX}:refresh-claim:{app}"

    @staticmethod
    def webhook_delivery(provider: str, delivery: str) -> str:
        return f"{PREFIX}:webhook-delivery:{provider}:{delivery}"

    @staticmethod
    def deliveries(task_id: str) -> str:
        return f"{PREFIX}:deliveries:{task_id}"

    @staticmethod
    def live_app(cluster: str, app: str) -> str:
        return f"{PREFIX}:live:{cluster}:app:{app}"

    @staticmethod
    def live_tree(cluster: str, app: str) -> str:
        return f"{PREFIX}:live:{cluster}:tree:{app}"

    @staticmethod
    def live_apps(cluster: str) -> str:
        return f"{PREFIX}:live:{cluster}:apps"

    @staticmethod
    def live_namespace(cluster: str, namespace: str) -> str:
        return f"{PREFIX}:live:{cluster}:ns:{namespace}"

    @staticmethod
    def live_namespaces(cluster: str) -> str:
        return f"{PREFIX}:live:{cluster}:namespaces"

    @staticmethod
    def live_meta(cluster: str) -> str:
        return f"{PREFIX}:live:{cluster}:meta"

    @staticmethod
    def live_lease(cluster: str) -> str:
        return f"{PREFIX}:live-lease:{cluster}"

    live_fence = f"{PREFIX}:live-fence"

    @staticmethod
    def live_poll(app: str) -> str:
        return f"{PREFIX}:live-poll:{app}"

    appsets = f"{PREFIX}:appsets"
    appset_owner = f"{PREFIX}:appset-owner"
    appset_parents = f"{PREFIX}:appset-parent"
    appset_schedule = f"{PREFIX}:appset-schedule"
    clusters = f"{PREFIX}:clusters"

    @staticmethod
    def appset_status(name: str) -> str:
        return f"{PREFIX}:appset-status:{name}"

    @staticmethod
    def appset_lock(name: str) -> str:
        return f"{PREFIX}:appset-lock:{name}"

    @staticmethod
    def appset_again(name: str) -> str:
        return f"{PREFIX}:appset-again:{name}"

    @staticmethod
    def appset_queued(name: str) -> str:
        return f"{PREFIX}:appset-queued:{name}"
    @staticmethod
    def notified(app: str) -> str:
        return f"{PREFIX}:notified:{app}"

    @staticmethod
    def notify_seen(app: str) -> str:
        return f"{PREFIX}:notify-seen:{app}"

    notify_outbox = f"{PREFIX}:notify-outbox"
    notify_ready = f"{PREFIX}:notify-ready"

    @staticmethod
    def notify_sending(delivery_id: str) -> str:
        return f"{PREFIX}:notify-sending:{delivery_id}"

    @staticmethod
    def notify_log(app: str) -> str:
        return f"{PREFIX}:notify-log:{app}"

    @classmethod
    def per_app(cls, app: str) -> list[str]:
        return [
            cls.status(app),
            cls.applied(app),
            cls.history(app),
            cls.history_seq(app),
            cls.inventory(app),
            cls.pending(app),
            cls.queued(app),
            cls.self_heal(app),
            cls.operation_state(app),
            cls.failed(app),
            cls.webhook_poll(app),
            cls.prune_confirmed(app),
            cls.deleting(app),
            cls.pre_deleted(app),
            cls.delete_request(app),
            cls.shared(app),
            cls.live_poll(app),
            cls.notified(app),
            cls.notify_seen(app),
        ]


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
