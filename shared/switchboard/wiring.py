"""The composition root: builds every service from settings once per process. Tests pass their own pieces."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from .config import Settings
from .domain.message import Message


@dataclass
class Services:
    settings: Settings

    def __post_init__(self) -> None:
        from .store.models import bind

        bind(self.settings)

    # ------------------------------------------------------------ adapters
    def client(self, name: str, **kwargs: Any) -> Any:
        import boto3

        return boto3.client(name, region_name=self.settings.region, **kwargs)  # type: ignore[call-overload]

    @cached_property
    def cognito(self) -> Any:
        return self.client("cognito-idp")

    @cached_property
    def sqs(self) -> Any:
        return self.client("sqs")

    @cached_property
    def connections_api(self) -> Any:
        return self.client("apigatewaymanagementapi", endpoint_url=self.settings.websocket_endpoint)

    @cached_property
    def secrets(self) -> Any:
        from .secrets import SecretStore

        return SecretStore(self.settings.secrets_prefix)

    # ------------------------------------------------------------ stores
    @cached_property
    def directory(self) -> Any:
        from .store.directory import DirectoryStore

        return DirectoryStore()

    @cached_property
    def conversations(self) -> Any:
        from .store.conversations import ConversationStore

        return ConversationStore()

    @cached_property
    def views(self) -> Any:
        from .store.views import ViewStore

        return ViewStore(self.client("dynamodb"), self.settings.views_table)

    @cached_property
    def messages(self) -> Any:
        from .store.messages import MessageStore

        return MessageStore()

    @cached_property
    def contacts(self) -> Any:
        from .store.contacts import ContactStore

        return ContactStore()

    @cached_property
    def connections(self) -> Any:
        from .store.connections import ConnectionStore

        return ConnectionStore()

    @cached_property
    def transactions(self) -> Any:
        from .store.writes import TransactionRunner

        return TransactionRunner(self.settings.region)

    # ------------------------------------------------------------ services
    @cached_property
    def auth(self) -> Any:
        from .services.auth import AuthService, TokenVerifier

        issuer = f"https://cognito-idp.{self.settings.region}.amazonaws.com/{self.settings.user_pool_id}"
        verifier = TokenVerifier(self.settings.effective_jwks_url, self.settings.user_pool_client_id, issuer)
        return AuthService(verifier, self.directory, self.cognito, self.settings.user_pool_client_id)

    @cached_property
    def ingest(self) -> Any:
        from .services.ingest import IngestService
        from .store.inbound import InboundWriter

        return IngestService(self.contacts, self.messages, InboundWriter(self.transactions), self.conversations,
                             route=self.router.route)

    @cached_property
    def widget(self) -> Any:
        from .services.widget import WidgetService

        return WidgetService(self.contacts, self.conversations, self.messages)

    @cached_property
    def webhooks(self) -> Any:
        from .services.webhooks import WebhookService

        return WebhookService(self.directory, self.secrets, self.ingest, self.widget,
                              self.settings.max_webhook_bytes)

    @cached_property
    def api_keys(self) -> Any:
        from .services.api_keys import ApiKeyService

        return ApiKeyService()

    @cached_property
    def api_inbound(self) -> Any:
        from .services.webhooks import ApiInboundService

        return ApiInboundService(self.directory, self.ingest, self.contacts)

    @cached_property
    def conversation_service(self) -> Any:
        from .services.conversations import ConversationService
        from .store.writes import ConversationWriter

        return ConversationService(self.conversations, self.messages, self.directory,
                                   ConversationWriter(self.transactions), lists=self.conversation_lists,
                                   zone_of=self.hours_store.zone)

    @cached_property
    def hours_store(self) -> Any:
        from .store.business_hours import BusinessHoursStore

        return BusinessHoursStore()

    @cached_property
    def conversation_lists(self) -> Any:
        from .services.lists import ConversationLists

        return ConversationLists(self.views, self.directory)

    @cached_property
    def business_hours(self) -> Any:
        from .services.business_hours import BusinessHoursService
        from .store.business_hours import BusinessHoursStore

        return BusinessHoursService(BusinessHoursStore())

    @cached_property
    def inbox_settings(self) -> Any:
        from .services.inbox_settings import InboxSettingsService

        return InboxSettingsService(self.directory)

    @cached_property
    def conversation_settings(self) -> Any:
        from .services.conversation_settings import ConversationSettingsService
        from .store.catalogues import CatalogueStore
        from .store.writes import ConversationWriter

        return ConversationSettingsService(self.conversation_service, CatalogueStore(), self.directory,
                                           self.conversations, ConversationWriter(self.transactions))

    @cached_property
    def contact_service(self) -> Any:
        from .services.contacts import ContactService
        from .store.contact_cards import ContactCardStore
        from .store.writes import ConversationWriter

        return ContactService(self.contacts, self.conversations, ConversationWriter(self.transactions),
                              ContactCardStore(self.transactions), self.timeline_store)

    @cached_property
    def timeline_store(self) -> Any:
        from .store.timeline import TimelineStore

        return TimelineStore(self.transactions)

    @cached_property
    def contact_timeline(self) -> Any:
        from .services.timeline import TimelineService

        return TimelineService(self.contact_service, self.timeline_store)

    @cached_property
    def saved_replies(self) -> Any:
        from .services.saved_replies import SavedReplyService

        return SavedReplyService(self.conversation_service)

    @cached_property
    def realtime(self) -> Any:
        from .services.realtime import RealtimeService
        from .store.changes import ChangeFeed

        return RealtimeService(self.auth, self.connections, self.directory, self.secrets, ChangeFeed(),
                               self.post_to_connection, self.conversations, self.contacts,
                               on_online=self.distribution.operator_online)

    @cached_property
    def fanout(self) -> Any:
        from .services.fanout import FanoutService
        from .store.changes import ChangeFeed

        return FanoutService(self.connections, self.conversations, self.post_to_connection, self.directory.names,
                             self.attachments.link, ChangeFeed())

    @cached_property
    def reactions(self) -> Any:
        from .services.reactions import ReactionService
        from .timers.snooze import SnoozeTimers

        timers = SnoozeTimers(self.client("stepfunctions"), self.settings.snooze_state_machine_arn)
        return ReactionService(self.sqs, self.settings.outbound_queue_url, timers, self.answer_button,
                               self.attachments.store, self.profiles.complete,
                               distribute=self.distribution.on_change, project=self.conversation_lists.project,
                               auto_reply=self.auto_replies.on_new_conversation,
                               on_task=self.task_deadlines.on_change, sla=self.sla.on_change)

    @cached_property
    def sla(self) -> Any:
        from .services.sla import SlaService
        from .store.sla import SlaPolicyStore
        from .store.writes import ConversationWriter
        from .timers.sla import SlaTimers

        timers = SlaTimers(self.client("stepfunctions"), self.settings.sla_state_machine_arn)
        return SlaService(self.conversations, ConversationWriter(self.transactions), SlaPolicyStore(),
                          self.hours_store, self.directory, timers)

    @cached_property
    def auto_replies(self) -> Any:
        from .services.auto_replies import AutoReplyService
        from .store.writes import ConversationWriter

        return AutoReplyService(self.directory, self.hours_store, self.contacts, self.conversations,
                                ConversationWriter(self.transactions))

    @cached_property
    def tasks(self) -> Any:
        from .services.tasks import TaskService
        from .store.tasks import TaskStore

        return TaskService(TaskStore(self.transactions), self.conversations, self.messages, self.directory)

    @cached_property
    def task_deadlines(self) -> Any:
        from .services.tasks import TaskDeadlines
        from .timers.task_deadline import TaskDeadlineTimers

        return TaskDeadlines(TaskDeadlineTimers(self.client("stepfunctions"),
                                                self.settings.task_deadline_state_machine_arn))

    @cached_property
    def distribution(self) -> Any:
        from .services.distribution import DistributionService
        from .store.distribution import DistributionStore
        from .store.writes import ConversationWriter

        return DistributionService(self.directory, DistributionStore(), self.connections, self.conversations,
                                   ConversationWriter(self.transactions), self.conversation_service)

    @cached_property
    def router(self) -> Any:
        from .services.distribution import Router

        return Router(self.directory)

    @cached_property
    def notifications(self) -> Any:
        from .mail.ses import SesMailer
        from .services.notifications import NotificationService
        from .store.notifications import NotificationStore

        mailer = SesMailer(self.client("sesv2"), self.settings.notification_sender)
        return NotificationService(NotificationStore(self.transactions), self.directory, self.conversations,
                                   self.connections, self.post_to_connection, mailer)

    @cached_property
    def profiles(self) -> Any:
        from .services.profiles import ProfileService
        from .store.writes import ConversationWriter

        return ProfileService(self.directory, self.secrets, self.contacts, self.conversations,
                              ConversationWriter(self.transactions), self.settings.api_bases())

    @cached_property
    def attachments(self) -> Any:
        from .services.attachments import AttachmentService

        return AttachmentService(self.messages, self.directory, self.secrets, self.client("s3"),
                                 self.settings.attachments_bucket, self.settings.api_bases())

    @cached_property
    def delivery(self) -> Any:
        from .services.delivery import DeliveryService
        from .store.pacing import Pacer

        return DeliveryService(self.messages, self.directory, self.contacts, self.secrets,
                               self.settings.api_bases(), self.post_to_visitor, pacer=Pacer(),
                               public_webhook_base=self.settings.public_webhook_base, link=self.attachments.link)

    def requeue_outbound(self, body: str, delay: float) -> None:
        """Send the job again after ``delay`` seconds: a paced message is not a failed attempt."""
        self.sqs.send_message(QueueUrl=self.settings.outbound_queue_url, MessageBody=body,
                              DelaySeconds=min(900, max(1, math.ceil(delay))))

    @cached_property
    def provisioning(self) -> Any:
        from .services.provisioning import ProvisioningService

        return ProvisioningService(self.directory, self.secrets, self.cognito, self.settings.user_pool_id)

    # ------------------------------------------------------------ glue between services and adapters
    def post_to_connection(self, connection_id: str, data: bytes) -> bool:
        api = self.connections_api
        try:
            api.post_to_connection(ConnectionId=connection_id, Data=data)
        except api.exceptions.GoneException:
            return False
        return True

    def retry_outbound_later(self, receipt_handle: str, delay: int) -> None:
        """Back off before the next attempt instead of waiting out the queue's whole visibility timeout."""
        self.sqs.change_message_visibility(QueueUrl=self.settings.outbound_queue_url, ReceiptHandle=receipt_handle,
                                           VisibilityTimeout=delay)

    def post_to_visitor(self, message: Message, visitor_id: str) -> int:
        from .services.delivery import visitor_frame

        delivered = 0
        for connection in self.connections.visitor(message.tenant_id, message.inbox_id or "", visitor_id):
            if self.post_to_connection(connection.connection_id, visitor_frame(message)):
                delivered += 1
            else:
                self.connections.remove(connection.connection_id)
        return delivered

    def answer_button(self, image: dict) -> None:
        """Stop the spinner on the customer's button (Telegram, VK); best effort, the press itself is recorded."""
        import json

        from .channels import channel_for
        from .domain.errors import DeliveryFailed

        meta, inbox_id = image.get("meta", {}).get("S"), image.get("inbox_id", {}).get("S")
        if not meta or not inbox_id:
            return
        data = json.loads(meta)
        channel = channel_for(data.get("channel", ""))
        answer = getattr(channel, "answer_button", None)
        if answer is None:
            return
        inbox = self.directory.inbox(inbox_id)
        event_id = image["pk"]["S"].rsplit("#", 1)[-1]
        try:
            answer(event_id, data.get("source_id", ""), self.secrets.credentials(inbox),
                   self.settings.api_bases().get(inbox.channel, ""), text="Thank you!")
        except DeliveryFailed:
            pass


@lru_cache(maxsize=1)
def services() -> Services:
    return Services(Settings.from_env())
