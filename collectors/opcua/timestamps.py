"""Choice of a sample's timestamp: source, then server, then receive time."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime, timezone

log = logging.getLogger(__name__)

# A time before this counts as missing: asyncua decodes a null OPC UA DateTime as
# 1601-01-01, and a device clock that was never set often reads 1970 or 1980.
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc).timestamp()
# A time further ahead of the receive time than this counts as missing.
MAX_FUTURE_S = 300.0
# A source time further than this from the server time means the device clock is
# wrong, for example a PLC set to local time but labelled UTC.
MAX_SKEW_S = 300.0


class Origin(enum.StrEnum):
    SOURCE = "source"
    SERVER = "server"
    CLIENT = "client"


@dataclass(slots=True, frozen=True)
class Stamp:
    ts: float
    origin: Origin
    # True when the source and server times disagree by more than MAX_SKEW_S.
    clock_skew: bool = False


def epoch_seconds(moment: datetime | None) -> float | None:
    """Return UTC epoch seconds, or None for a missing DateTime.

    A naive datetime is taken as UTC, which is how asyncua decodes OPC UA times.
    """
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def known_time(moment: datetime | None) -> float | None:
    """Return epoch seconds, or None for a missing time or one before 2000."""
    ts = epoch_seconds(moment)
    if ts is None or ts < EARLIEST:
        return None
    return ts


def choose_timestamp(
    source: datetime | None,
    server: datetime | None,
    received_ts: float,
    prefer: str = "source",
) -> Stamp:
    """Pick the timestamp of one data value.

    With ``prefer="source"`` the order is source, server, receive time. With
    ``prefer="server"`` it is server, source, receive time. A time before 2000 or
    more than 5 minutes after ``received_ts`` counts as missing. When the source and
    server times differ by more than 5 minutes, the source time is dropped and the
    stamp reports ``clock_skew``.
    """
    source_ts = known_time(source)
    server_ts = known_time(server)

    clock_skew = (
        source_ts is not None
        and server_ts is not None
        and abs(source_ts - server_ts) > MAX_SKEW_S
    )
    latest = received_ts + MAX_FUTURE_S
    if clock_skew or (source_ts is not None and source_ts > latest):
        source_ts = None
    if server_ts is not None and server_ts > latest:
        server_ts = None

    if prefer == "server" and server_ts is not None:
        return Stamp(server_ts, Origin.SERVER, clock_skew)
    if source_ts is not None:
        return Stamp(source_ts, Origin.SOURCE, clock_skew)
    if server_ts is not None:
        return Stamp(server_ts, Origin.SERVER, clock_skew)
    return Stamp(received_ts, Origin.CLIENT, clock_skew)
