"""Fixtures shared by the whole suite: the InfluxDB server of the test session."""

pytest_plugins = ["tests.influx_server"]
