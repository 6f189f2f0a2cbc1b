"""Dash application: page layout, callbacks and the HTTP API."""

from __future__ import annotations

from pathlib import Path

import dash

from dashboard.api import add_api_routes
from dashboard.callbacks import register_callbacks
from dashboard.layout import build_layout

ASSETS = Path(__file__).parent / "assets"


def create_app(view) -> dash.Dash:
    """Build the dashboard for a RuntimeView-like object.

    ``view`` needs the methods of ``vigie.runtime.RuntimeView``, all thread-safe,
    because the WSGI server calls them from its request threads.
    """
    config = view.config
    app = dash.Dash(
        __name__,
        title=config.site.name,
        update_title=None,
        # The control room has no internet access: Dash and plotly scripts come
        # from the installed packages, never from a CDN.
        serve_locally=True,
        assets_folder=str(ASSETS),
    )
    app.layout = build_layout(config)
    register_callbacks(app, view)
    add_api_routes(app.server, view)
    return app
