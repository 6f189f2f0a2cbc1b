"""Exception classes shared by every component, under one base class."""


class VigieError(Exception):
    """Base class of the errors Vigie raises on purpose."""


class ConfigError(VigieError):
    """Invalid configuration. The message names the file, the key path and the fix."""


class DeviceError(VigieError):
    """A device answered with an error or a frame that cannot be decoded."""


class HistorianError(VigieError):
    """The historian rejected or failed a write or a query."""


class UsageError(VigieError):
    """Invalid command-line arguments, such as an unknown device name."""
