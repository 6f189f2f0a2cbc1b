"""Operator actions on one alarm, run on the view, with the result in plain words."""

from __future__ import annotations

import logging

from dashboard.formatting import format_duration

logger = logging.getLogger(__name__)

# NOTE: there is no login yet, so every operator action is recorded as this user.
OPERATOR = "operator"

# Shelve durations the operator can choose, in seconds.
SHELVE_DURATIONS_S = (900, 3600, 28800)

ACTION_NAMES = {
    "acknowledge": "Acknowledge",
    "shelve": "Shelve",
    "unshelve": "Unshelve",
    "out_of_service": "Out of service",
    "return_to_service": "Return to service",
}

# Actions that record a reason and so open the reason panel first.
ACTIONS_WITH_REASON = ("shelve", "out_of_service", "return_to_service")


def run_action(
    view,
    action: str,
    alarm_id: str,
    reason: str = "",
    duration_s: float | None = None,
    user: str = OPERATOR,
) -> str:
    """Run ``action`` on one alarm through ``view``; return the message to show."""
    name = ACTION_NAMES[action]
    if action in ACTIONS_WITH_REASON and not reason.strip():
        return f"{name} of {alarm_id} needs a reason"

    try:
        result = _call(view, action, alarm_id, user, reason, duration_s)
    except Exception as error:  # noqa: BLE001 - reported to the operator
        logger.error("%s of alarm %s failed: %s", name, alarm_id, error)
        return f"{name} of {alarm_id} failed: {error}"

    if not result.get("ok"):
        error = result.get("error")
        logger.warning("%s of alarm %s rejected: %s", name, alarm_id, error)
        return f"{name} of {alarm_id} rejected: {error}"

    logger.info("Alarm %s: %s by %s", alarm_id, name.lower(), user)
    state = result.get("state")
    if action == "acknowledge":
        return f"{alarm_id} acknowledged by {user}, now {state}"
    if action == "shelve":
        return (
            f"{alarm_id} shelved by {user} for {format_duration(duration_s)}: {reason}"
        )
    if action == "unshelve":
        return f"{alarm_id} unshelved by {user}, now {state}"
    if action == "out_of_service":
        return f"{alarm_id} taken out of service by {user}: {reason}"
    return f"{alarm_id} returned to service by {user}, now {state}: {reason}"


def _call(view, action, alarm_id, user, reason, duration_s) -> dict:
    match action:
        case "acknowledge":
            return view.acknowledge(alarm_id, user)
        case "shelve":
            return view.shelve(alarm_id, user, duration_s, reason)
        case "unshelve":
            return view.unshelve(alarm_id, user)
        case "out_of_service":
            return view.set_out_of_service(alarm_id, user, reason, True)
        case "return_to_service":
            return view.set_out_of_service(alarm_id, user, reason, False)
    raise ValueError(f"invalid alarm action {action!r}")
