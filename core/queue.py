"""Queueing a task from inside a transaction.

With the database task backend (django-tasks-db, our default) the task row is written in the
caller's transaction: it commits with the change that asked for it, or not at all, and costs
no second commit. Any other backend gets it after commit (`transaction.on_commit`), so a
worker never runs a task for rows it cannot see yet. Either way the reconciler requeues
anything that slipped through.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction
from django_tasks import task_backends
from django_tasks_db import DatabaseBackend


def enqueue_in_transaction(task: Any, **kwargs: Any) -> None:
    backend = task_backends[task.backend]
    if isinstance(backend, DatabaseBackend):
        task.enqueue(**kwargs)
    else:
        transaction.on_commit(partial(task.enqueue, **kwargs))
