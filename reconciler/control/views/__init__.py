"""What the dashboard and `reconciler app ...` show of one app's live objects (issue 29): the
resource tree (tree.py from live_objects.py), one resource's manifests and why it differs
(resource.py), Kubernetes Events (events.py), container logs (logs.py), resource actions
(actions.py) and orphaned resources (orphans.py). Each is a function of the running system's
Services and plain parameters, so the API runs it itself or hands it to a worker
(control/cluster_requests.py) when it has no cluster credentials."""
