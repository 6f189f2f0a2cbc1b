"""ISA-18.2 alarm states, the allowed transitions and the transition record."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from vigie.model import Value


class AlarmState(enum.StrEnum):
    """State of one alarm as ISA-18.2 names it."""

    NORMAL = "normal"
    UNACK_ACTIVE = "unack_active"
    ACK_ACTIVE = "ack_active"
    # Returned to normal but not yet acknowledged.
    UNACK_RTN = "unack_rtn"
    # Hidden from the operator. The alarm still tracks its condition in one of the
    # four states above, which it shows again once it is no longer hidden.
    SHELVED = "shelved"
    SUPPRESSED = "suppressed"
    OUT_OF_SERVICE = "out_of_service"

    @property
    def condition_active(self) -> bool:
        return self in (AlarmState.UNACK_ACTIVE, AlarmState.ACK_ACTIVE)


# (state, condition now active) -> next state. Pairs not listed change nothing.
ON_CONDITION = {
    (AlarmState.NORMAL, True): AlarmState.UNACK_ACTIVE,
    (AlarmState.UNACK_RTN, True): AlarmState.UNACK_ACTIVE,
    (AlarmState.UNACK_ACTIVE, False): AlarmState.UNACK_RTN,
    (AlarmState.ACK_ACTIVE, False): AlarmState.NORMAL,
}

# State -> state after an acknowledge. States not listed have nothing to acknowledge.
ON_ACKNOWLEDGE = {
    AlarmState.UNACK_ACTIVE: AlarmState.ACK_ACTIVE,
    AlarmState.UNACK_RTN: AlarmState.NORMAL,
}

# States in which the operator sees nothing of the alarm.
HIDDEN_STATES = (AlarmState.SHELVED, AlarmState.SUPPRESSED, AlarmState.OUT_OF_SERVICE)

# Sort rank of each configured priority: critical first.
PRIORITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def next_on_condition(state: AlarmState, active: bool) -> AlarmState | None:
    """Return the state after the condition became ``active``, or None to stay."""
    return ON_CONDITION.get((state, active))


def next_on_acknowledge(state: AlarmState) -> AlarmState | None:
    """Return the state after an acknowledge, or None when there is nothing to ack."""
    return ON_ACKNOWLEDGE.get(state)


@dataclass(slots=True, frozen=True)
class Transition:
    """One change of an alarm's state, as written to the journal.

    ``ts`` is in seconds since the epoch (UTC): the sample time for a limit or
    discrete alarm, the device-state time for a communication-loss alarm and the
    engine clock for an acknowledge, a shelve or a ``tick``. ``user`` is None for
    automatic transitions. ``shown`` is False for a change of the condition of a
    shelved, suppressed or out-of-service alarm: it is journaled, not annunciated.
    """

    alarm_id: str
    ts: float
    from_state: AlarmState
    to_state: AlarmState
    value: Value
    user: str | None
    reason: str
    priority: str
    message: str
    area: str = ""
    shown: bool = True
