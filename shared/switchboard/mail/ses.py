"""Operators' notification e-mails through Amazon SES (API v2, raw MIME). On the local stack, moto's SES keeps them
and the simulator lists them at /sim/mail."""

from __future__ import annotations

from collections.abc import Mapping
from email import policy
from email.message import EmailMessage
from typing import Any

from botocore.exceptions import ClientError

# SES refusals that the same mail would meet again: retrying them would only hold up the stream.
_PERMANENT = {"MessageRejected", "MailFromDomainNotVerifiedException", "AccountSuspendedException",
              "SendingPausedException", "BadRequestException", "NotFoundException", "InvalidParameterValue"}


class MailRejected(Exception):
    """SES refused the mail for good (unverified sender, suppressed or invalid recipient)."""


class SesMailer:
    def __init__(self, sesv2_client: Any, sender: str) -> None:
        self._ses = sesv2_client
        self._sender = sender

    def send(self, to: str, subject: str, text: str, headers: Mapping[str, str] | None = None) -> str:
        """Send a plain-text mail; returns SES's message id. Transient failures raise ClientError (retry them)."""
        mail = EmailMessage(policy=policy.SMTP)
        mail["From"] = self._sender
        mail["To"] = to
        mail["Subject"] = " ".join(subject.split())  # a customer's name must not break the header onto new lines
        mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: out-of-office replies leave it alone
        for name, value in (headers or {}).items():
            mail[name] = value
        mail.set_content(text)
        try:
            answer = self._ses.send_email(FromEmailAddress=self._sender, Destination={"ToAddresses": [to]},
                                          Content={"Raw": {"Data": mail.as_bytes()}})
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _PERMANENT:
                raise MailRejected(f"SES refused the mail to {to}: {error}") from error
            raise
        return answer["MessageId"]
