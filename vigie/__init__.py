"""Vigie: SCADA for water and electricity distribution networks.

This package holds what every component shares: the configuration model, the sample
and quality types, the in-process bus, the runtime supervisor and the command line.
"""

__version__ = "0.1.0"
