"""Alarm engine: limit, discrete and communication-loss alarms with ISA-18.2 states.

The engine keeps every transition and the current state of every alarm in the
SQLite journal ``<data_dir>/alarms.sqlite``.
"""

from alarms.engine import AlarmEngine
from alarms.journal import JOURNAL_NAME
from alarms.states import AlarmState, Transition

__all__ = ["JOURNAL_NAME", "AlarmEngine", "AlarmState", "Transition"]
