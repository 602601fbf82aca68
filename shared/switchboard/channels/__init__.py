"""Channel adapters: verify a webhook on its raw bytes, parse it into domain events, send replies."""

from __future__ import annotations

import importlib

from .base import Channel

# name -> (module, class). Imported on first use, so a cold start loads only the channel it serves.
ADAPTERS = {
    "telegram": ("telegram", "TelegramChannel"),
    "widget": ("widget", "WidgetChannel"),
    "whatsapp": ("whatsapp", "WhatsAppChannel"),
    "messenger": ("messenger", "MessengerChannel"),
    "instagram": ("instagram", "InstagramChannel"),
    "vk": ("vk", "VkChannel"),
    "twilio": ("twilio", "TwilioChannel"),
    "email": ("email", "EmailChannel"),
    "api": ("api", "ApiChannel"),
}

_instances: dict[str, Channel] = {}


def channel_for(name: str) -> Channel:
    """The adapter for ``name`` (one instance per process)."""
    if name not in _instances:
        if name not in ADAPTERS:
            from ..domain.errors import NotFound

            raise NotFound(f"Unknown channel '{name}'.")
        module_name, class_name = ADAPTERS[name]
        module = importlib.import_module(f"{__name__}.{module_name}")
        _instances[name] = getattr(module, class_name)()
    return _instances[name]
