"""How often each Celery task was started: a task whose worker keeps dying is not run forever.

Tasks are acknowledged after they run (acks_late) and given back to the queue when their
worker process is lost, so a task that kills its worker every time would be redelivered
forever. Each start counts here; workers/tasks.py gives up past a few starts.
"""

from __future__ import annotations

from reconciler.state.base import RedisState
from reconciler.state.keys import Keys


class DeliveriesState(RedisState):
    def count_start(self, task_id: str, ttl_seconds: float) -> int:
        """Count one start of the task `task_id`; returns its starts so far (1 the first time)."""
        key = Keys.deliveries(task_id)
        ttl = max(int(ttl_seconds), 1)
        # Almost every task starts once: one SET NX with its expiry says so in one command.
        if self.r.set(key, 1, nx=True, ex=ttl):
            return 1
        with self.r.pipeline() as pipe:  # MULTI: the count always gets its expiry
            pipe.incr(key)
            pipe.expire(key, ttl)
            count, _ = pipe.execute()
        return int(count)

    def forget_starts(self, task_id: str) -> None:
        """The task ran to its end (well or not): no worker was lost running it."""
        self.r.delete(Keys.deliveries(task_id))
