"""Modbus TCP collector: request planning, register decoding and the poll loop."""
