"""On-call notifications: delivery, rosters, escalation, rate limits and floods.

``NotificationService`` takes the engine's transitions through ``submit`` and
sends e-mail, SMS and webhook messages from ``run``; its log of every attempt is
``<data_dir>/notifications.sqlite``.
"""

from alarms.notify.service import NotificationService
from alarms.notify.store import STORE_NAME

__all__ = ["STORE_NAME", "NotificationService"]
