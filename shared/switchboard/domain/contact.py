"""Contacts across channels: which addresses a platform vouches for, and how addresses are compared."""

from __future__ import annotations

import re

from .inbound import InboundMessage

# A platform that delivers from a phone number has verified it (WhatsApp's wa_id, the SMS sender). An e-mail
# sender is verified only when SES saw it pass SPF or DKIM; an address typed into the widget never is.
_PHONE_VERIFYING_CHANNELS = frozenset({"whatsapp", "twilio"})


def normalize_phone(phone: str | None) -> str | None:
    """E.164-ish: digits with a leading +, so "+44 7700 900123" and "447700900123" are the same person."""
    if not phone:
        return None
    digits = re.sub(r"\D", "", phone)
    return f"+{digits}" if len(digits) >= 7 else None


def normalize_email(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    return email.strip().lower()


def verified_addresses(channel: str, event: InboundMessage) -> tuple[tuple[str, str], ...]:
    """The (kind, value) pairs of ``event``'s sender that its platform vouches for: safe to link contacts on."""
    found = []
    phone = normalize_phone(event.profile.phone)
    if phone and channel in _PHONE_VERIFYING_CHANNELS:
        found.append(("phone", phone))
    email = normalize_email(event.profile.email)
    if email and channel == "email" and event.meta.get("sender_authenticated"):
        found.append(("email", email))
    return tuple(found)
