"""OPC UA collector: subscribes to a device's nodes, one batch per publish."""

from collectors.opcua.collector import OpcUaCollector

__all__ = ["OpcUaCollector"]
