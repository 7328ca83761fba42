"""Argo CD Notifications: `argocd-notifications-cm` triggers, templates, services and
subscriptions, decided where an app's state changes and delivered by the `notifications`
queue's tasks.

    notify_app_event(services, name[, deleting=True])  decide and queue (events.py)
    decide_notifications(store, settings, name[, deleting=True])   the same, without Services
    deliver(services, delivery_id, lease_seconds)      send one, or say when to try again (delivery.py)
"""

from reconciler.control.notifications.delivery import deliver
from reconciler.control.notifications.events import decide_notifications, notify_app_event

__all__ = ["decide_notifications", "deliver", "notify_app_event"]
