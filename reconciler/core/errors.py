"""The base of every error the reconciler raises on purpose, and whether trying again can help.

    ReconcilerError          an expected failure: it becomes a condition, an operation's message
                             or an answer that names what to fix; never a crash
      InputError             retrying the same input gives the same answer: the manifest, the
                             repository's content, a setting or a project must change first
      TransientError         the same request may succeed later: a repository, a registry or a
                             cluster that did not answer, a conflict, a full queue

`retryable` says which (KubeError decides per answer: 409, 429, 5xx and no answer are
transient). Call sites catch `ReconcilerError` for "an expected failure" instead of listing
classes, and read `retryable` where it decides something (notification delivery, the
backoff a failed poll or sync takes); anything else that reaches them is a bug and is
reported as one (`unexpected ... see the worker log`).
"""

from __future__ import annotations


class ReconcilerError(Exception):
    """An expected failure, with a message that says what happened and what to do."""

    retryable: bool = False


class InputError(ReconcilerError):
    """Retrying the same input cannot help: the input must change."""

    retryable = False


class TransientError(ReconcilerError):
    """The same request may succeed later, without any change."""

    retryable = True
