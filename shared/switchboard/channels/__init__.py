"""Channel adapters: verify a webhook on its raw bytes, parse it into domain events, send replies."""

from __future__ import annotations

from .base import Channel


def channel_for(name: str) -> Channel:
    """The adapter for ``name``; imported lazily so a cold start loads only the channel it serves."""
    if name == "telegram":
        from .telegram import TelegramChannel

        return TelegramChannel()
    if name == "widget":
        from .widget import WidgetChannel

        return WidgetChannel()
    from ..domain.errors import NotFound

    raise NotFound(f"Unknown channel '{name}'.")
