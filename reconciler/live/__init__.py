"""Live state from watches (Argo CD's cluster cache, gitops-engine `pkg/cache`, in Redis).

    process.py   `reconciler watch`: one lease per cluster, one ClusterWatcher per lease held
    watcher.py   a cluster's LIST+WATCH threads, the processor, debounced poll queueing
    graph.py     the in-memory objects, owner links and app of each; yields index writes
    records.py   what is kept of an object and how it is stored
    reader.py    the index as a poll (engine LiveView) and the dashboard read it

Why in Redis rather than in each worker's memory (Argo CD keeps it in the controller's):
polls run in any Celery worker process, so one watcher per cluster feeds all of them, and the
index is read per app (`rc:live:{cluster}:app:{app}`, one HGETALL) instead of scanning every
object of the cluster for each app (argo-cd#28539). Only tracked objects and objects with
ownerReferences are kept; the in-memory graph holds one small Node per kept object.
"""
