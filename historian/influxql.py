"""Quoting for InfluxQL statements sent to InfluxDB 1.x."""


def quote_identifier(name: str) -> str:
    # Always quoted, because names such as "tag" and "time" are InfluxQL keywords.
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
