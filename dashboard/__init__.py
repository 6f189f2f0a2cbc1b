"""Control-room dashboard: live values, alarms and trends, served by Dash."""

from dashboard.app import create_app
from dashboard.server import DashboardServer, serve

__all__ = ["DashboardServer", "create_app", "serve"]
