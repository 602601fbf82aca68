"""The notifications service against the real tables (in-process moto), with a fake socket poster and a fake mailer:
each notification is kept, posted and mailed once however often the stream delivers a change, as preferred."""

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from switchboard.channels.base import WebhookRequest
from switchboard.domain import clock
from switchboard.domain.conversation import OperatorView
from switchboard.mail.ses import MailRejected
from switchboard.services.notifications import NotificationService
from switchboard.store.notifications import NotificationStore
from switchboard.store.streams import Change

TELEGRAM_TEXT = Path(__file__).resolve().parents[1] / "fixtures" / "telegram" / "text.json"


class Sockets:
    """Stands in for API Gateway's @connections: records frames; sockets in ``gone`` answer 410."""

    def __init__(self) -> None:
        self.frames: list[tuple[str, dict]] = []
        self.gone: set[str] = set()

    def __call__(self, connection_id: str, data: bytes) -> bool:
        self.frames.append((connection_id, json.loads(data)))
        return connection_id not in self.gone


class Outbox:
    """Stands in for SES: records mail; ``failures`` are raised by the next sends, in order."""

    def __init__(self, *failures: Exception) -> None:
        self.sent: list[dict] = []
        self.failures = list(failures)

    def send(self, to: str, subject: str, text: str, headers: dict | None = None) -> str:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append({"to": to, "subject": subject, "text": text, "headers": headers or {}})
        return f"ses-{len(self.sent)}"


def throttled() -> ClientError:
    return ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "slow down"}}, "SendEmail")


@pytest.fixture
def setup(world):
    """Given a Telegram customer's (Søren's) conversation in Support, and Anna's browser tab connected."""
    services, demo = world
    inbox = next(i for i in demo["inboxes"] if i["channel"] == "telegram")
    request = WebhookRequest("POST", {"x-telegram-bot-api-secret-token": inbox["webhook_secret"]}, {},
                             TELEGRAM_TEXT.read_bytes(), clock.iso(clock.now()))
    services.webhooks.receive("telegram", inbox["id"], request)
    people = {p["email"].split("@")[0]: p for p in demo["operators"]}
    views = {name: OperatorView(demo["tenant"]["id"], p["id"], p["role"], frozenset(p["team_ids"]), name=p["name"])
             for name, p in people.items()}
    [conversation], _ = services.conversation_service.list(views["owner"], status=None, assignee=None, limit=5,
                                                          cursor=None)
    services.connections.add_operator("anna-tab", tenant_id=demo["tenant"]["id"], operator_id=people["anna"]["id"],
                                      role="operator", team_ids=people["anna"]["team_ids"], inbox_ids=[],
                                      at="2026-01-01T00:00:00.000Z")
    return services, views, conversation


def service(services, sockets: Sockets, outbox: Outbox) -> NotificationService:
    return NotificationService(NotificationStore(services.transactions), services.directory, services.conversations,
                               services.connections, sockets, outbox)


def assigned_by_sofia(services, views, conversation) -> Change:
    """Sofia assigns the conversation to Anna; the stream record of that change."""
    services.conversation_service.assign(views["sofia"], conversation.id, assignee_id=views["anna"].operator_id)
    after = services.conversations.get(conversation.tenant_id, conversation.id)
    return Change("conversations", "MODIFY", after, conversation, {})


def test_an_assignment_is_kept_posted_and_mailed_once_however_often_the_stream_delivers_it(setup):
    services, views, conversation = setup
    sockets, outbox = Sockets(), Outbox()
    notifications = service(services, sockets, outbox)
    change = assigned_by_sofia(services, views, conversation)

    assert notifications.notify(change) == 1
    assert notifications.notify(change) == 0  # the stream retried the batch

    assert [(connection, frame["notification"]["event"]) for connection, frame in sockets.frames] == [
        ("anna-tab", "assigned")]
    assert [(mail["to"], mail["subject"]) for mail in outbox.sent] == [
        ("anna@acme.example", "Sofia Supervisor assigned you a conversation with Søren Ålund")]
    listed = notifications.recent(views["anna"], limit=10, cursor=None)
    assert listed["unread_count"] == 1
    assert [item["conversation_id"] for item in listed["items"]] == [conversation.id]
    assert listed["items"][0] == sockets.frames[0][1]["notification"]
    assert notifications.recent(views["sofia"], limit=10, cursor=None)["items"] == []  # she did it


def test_a_mail_that_fails_for_a_moment_is_sent_by_the_retry_exactly_once(setup):
    services, views, conversation = setup
    sockets, outbox = Sockets(), Outbox(throttled())
    notifications = service(services, sockets, outbox)
    change = assigned_by_sofia(services, views, conversation)

    with pytest.raises(ClientError):
        notifications.notify(change)  # the stream will deliver the record again
    notifications.notify(change)
    notifications.notify(change)

    assert len(outbox.sent) == 1
    assert len(sockets.frames) == 1


def test_a_mail_ses_refuses_for_good_does_not_hold_up_the_stream(setup):
    services, views, conversation = setup
    outbox = Outbox(MailRejected("address suppressed"))
    notifications = service(services, Sockets(), outbox)
    change = assigned_by_sofia(services, views, conversation)

    assert notifications.notify(change) == 1
    notifications.notify(change)
    assert outbox.sent == []


def test_preferences_decide_the_channels(setup):
    services, views, conversation = setup
    sockets, outbox = Sockets(), Outbox()
    notifications = service(services, sockets, outbox)
    notifications.set_preferences(views["anna"], {"assigned": ["browser"]})

    notifications.notify(assigned_by_sofia(services, views, conversation))

    assert outbox.sent == []
    assert [frame["notification"]["channels"] for _, frame in sockets.frames] == [["browser"]]
    assert notifications.recent(views["anna"], limit=10, cursor=None)["items"] == []  # not in-app: not listed
    assert notifications.preferences(views["anna"])["preferences"]["assigned"] == ["browser"]
    assert notifications.preferences(views["sofia"])["preferences"]["assigned"] == ["browser", "email", "in_app"]


def test_an_operator_who_wants_nothing_gets_nothing(setup):
    services, views, conversation = setup
    sockets, outbox = Sockets(), Outbox()
    notifications = service(services, sockets, outbox)
    notifications.set_preferences(views["anna"], {"assigned": []})

    assert notifications.notify(assigned_by_sofia(services, views, conversation)) == 0
    assert sockets.frames == [] and outbox.sent == []


def test_marking_read_lowers_the_unread_count(setup):
    services, views, conversation = setup
    notifications = service(services, Sockets(), Outbox())
    notifications.notify(assigned_by_sofia(services, views, conversation))
    services.conversation_service.assign(views["sofia"], conversation.id, assignee_id=None)
    before = services.conversations.get(conversation.tenant_id, conversation.id)
    notifications.notify(assigned_by_sofia(services, views, before))
    listed = notifications.recent(views["anna"], limit=10, cursor=None)
    assert listed["unread_count"] == 2

    assert notifications.mark_read(views["anna"], [listed["items"][0]["id"], "unknown-id"]) == {"unread_count": 1}
    assert notifications.mark_read(views["anna"], everything=True) == {"unread_count": 0}
    assert [item["read"] for item in notifications.recent(views["anna"], limit=10, cursor=None)["items"]] == [
        True, True]


def test_a_socket_that_is_gone_is_forgotten(setup):
    services, views, conversation = setup
    sockets = Sockets()
    sockets.gone.add("anna-tab")
    service(services, sockets, Outbox()).notify(assigned_by_sofia(services, views, conversation))
    assert services.connections.get("anna-tab") is None


def test_a_socket_still_connecting_is_not_forgotten_on_a_410(setup):
    """API Gateway refuses posts until $connect has finished: a socket that connected a moment ago is new, not gone."""
    services, views, conversation = setup
    anna = services.connections.get("anna-tab")
    services.connections.add_operator("anna-new-tab", tenant_id=anna.tenant_id, operator_id=anna.operator_id,
                                      role="operator", team_ids=sorted(anna.team_ids), inbox_ids=[],
                                      at=clock.iso(clock.now()))
    sockets = Sockets()
    sockets.gone.update({"anna-tab", "anna-new-tab"})
    service(services, sockets, Outbox()).notify(assigned_by_sofia(services, views, conversation))
    assert services.connections.get("anna-tab") is None
    assert services.connections.get("anna-new-tab") is not None


def test_ses_mailer_sends_plain_text_from_the_verified_sender_and_refuses_an_unverified_one(world):
    import boto3

    from infra.devstack.moto_internals import sent_emails
    from infra.devstack.simulator.email import mail_summary
    from switchboard.mail.ses import SesMailer

    ses = boto3.client("sesv2", region_name="us-east-1")
    with pytest.raises(MailRejected):
        SesMailer(ses, "notifications@switchboard.test").send("anna@acme.example", "Hi", "text")
    ses.create_email_identity(EmailIdentity="notifications@switchboard.test")

    SesMailer(ses, "notifications@switchboard.test").send(
        "anna@acme.example", "Sofia mentioned you\nBcc: evil@example.org", "@anna can you check?\n",
        {"X-Switchboard-Event": "mention"})

    [mail] = [mail_summary(m) for m in sent_emails()]
    assert mail["to"] == ["anna@acme.example"]
    assert mail["subject"] == "Sofia mentioned you Bcc: evil@example.org"  # one line: no header injection
    assert mail["text"] == "@anna can you check?"
    assert "Auto-Submitted: auto-generated" in mail["raw_data"]
