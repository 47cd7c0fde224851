"""The storage area. Wired into the app by init_app(app)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this area's blueprints, hooks and CLI pieces on the app."""
