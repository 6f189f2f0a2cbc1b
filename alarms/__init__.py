"""Alarm engine: ISA-18.2 alarm states with shelving, suppression by design and
out of service; limit, discrete, rate-of-change, deviation, bad-quality, stale,
expression, communication-loss and flood alarms; scheduled rules over history.

The engine keeps every transition and the current state of every alarm in the
SQLite journal ``<data_dir>/alarms.sqlite``.
"""

from alarms.engine import AlarmEngine
from alarms.journal import JOURNAL_NAME
from alarms.states import AlarmState, Transition

__all__ = ["JOURNAL_NAME", "AlarmEngine", "AlarmState", "Transition"]
