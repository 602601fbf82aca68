"""The operator and tenant REST API (/v1), a Chalice app. Routes parse, call one service, map the result."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from chalice import Chalice, Response

from switchboard.domain import clock
from switchboard.domain.conversation import OperatorView
from switchboard.domain.errors import BadRequest, SwitchboardError, UnsupportedMediaType
from switchboard.domain.message import Attachment, kind_for_mime
from switchboard.problems import CONTENT_TYPE, problem
from switchboard.services.views import conversation_view, message_view
from switchboard.wiring import services

app = Chalice(app_name="switchboard-api")
app.api.cors = True

MAX_PAGE = 100
MAX_ATTACHMENTS = 10


def _error(error: SwitchboardError) -> Response:
    return Response(body=json.dumps(problem(error)), status_code=error.status, headers={"Content-Type": CONTENT_TYPE})


def api_route(path: str, methods: tuple[str, ...] = ("GET",), status: int = 200):  # type: ignore[no-untyped-def]
    """A route whose domain errors become problem documents and whose result is JSON with ``status``."""

    def decorate(view):  # type: ignore[no-untyped-def]
        def wrapped(**params: str) -> Response:
            try:
                result = view(**params)
            except SwitchboardError as error:
                return _error(error)
            return Response(body=json.dumps(result), status_code=status, headers={"Content-Type": "application/json"})

        wrapped.__name__ = view.__name__
        return app.route(path, methods=list(methods), cors=True)(wrapped)

    return decorate


def _viewer() -> OperatorView:
    header = (app.current_request.headers or {}).get("authorization", "")
    scheme, _, token = header.partition(" ")
    return services().auth.operator(token.strip() if scheme.lower() == "bearer" else "")


def _body() -> dict[str, Any]:
    request = app.current_request
    if not request.raw_body:
        return {}
    content_type = (request.headers or {}).get("content-type", "")
    if "json" not in content_type:
        raise UnsupportedMediaType("Send the body as application/json.")
    try:
        data = json.loads(request.raw_body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("The body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.")
    return data


def _page_args() -> tuple[int, str | None]:
    query = app.current_request.query_params or {}
    try:
        limit = int(query.get("limit", 25))
    except ValueError:
        raise BadRequest("limit must be a number.") from None
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(f"limit must be between 1 and {MAX_PAGE}.")
    return limit, query.get("cursor") or None


def _names(tenant_id: str) -> dict[str, str]:
    return services().directory.names(tenant_id)


def _row(viewer: OperatorView, conversation) -> dict:  # type: ignore[no-untyped-def]
    return conversation_view(conversation, _names(viewer.tenant_id))


# ---------------------------------------------------------------- session
@api_route("/v1/auth/login", methods=("POST",))
def login() -> dict:
    body = _body()
    return services().auth.login(body.get("email"), body.get("password"))


@api_route("/v1/me")
def me() -> dict:
    viewer = _viewer()
    tenant = services().directory.tenant(viewer.tenant_id)
    operator = services().directory.operator(viewer.tenant_id, viewer.operator_id)
    return {"id": operator.id, "name": operator.name, "email": operator.email, "role": operator.role,
            "team_ids": operator.team_ids, "inbox_ids": operator.inbox_ids,
            "availability": services().distribution.availability(viewer),
            "tenant": {"id": tenant.id, "name": tenant.name, "time_zone": tenant.time_zone}}


@api_route("/v1/operators")
def list_operators() -> dict:
    from switchboard.domain.notifications import mention_handle  # loaded on first use: it pulls in the SLA rules

    viewer = _viewer()
    return {"items": [{"id": o.id, "name": o.name, "email": o.email, "role": o.role, "team_ids": o.team_ids,
                       "handle": mention_handle(o)}
                      for o in services().directory.operators(viewer.tenant_id)]}


@api_route("/v1/teams")
def list_teams() -> dict:
    viewer = _viewer()
    return {"items": [_team(t) for t in services().directory.teams(viewer.tenant_id)]}


@api_route("/v1/channels")
def list_channels() -> dict:
    """What each channel can do (edit, delete, receipts, buttons, text length, reply window), so the client can be
    honest about what will happen to a reply."""
    _viewer()
    from switchboard.channels import ADAPTERS, channel_for

    return {"items": [{"channel": name, "capabilities": channel_for(name).capabilities.to_dict()}
                      for name in ADAPTERS]}


# ---------------------------------------------------------------- conversations
@api_route("/v1/conversations")
def list_conversations() -> dict:
    """The list with every filter of PRODUCT.md §5 as a query parameter (status, assignee, team, inbox, channel, tag,
    untagged, unanswered, priority, sla, sla_due_within, sort); unknown names or values are a 400."""
    viewer = _viewer()
    query = app.current_request.query_params or {}
    limit, cursor = _page_args()
    filters = {name: value for name, value in query.items() if name not in ("limit", "cursor")}
    items, next_cursor = services().conversation_lists.page(viewer, filters, limit=limit, cursor=cursor)
    names = _names(viewer.tenant_id)
    return {"items": [conversation_view(c, names) for c in items], "next_cursor": next_cursor}


@api_route("/v1/conversations/counts")
def conversation_counts() -> dict:
    """The counters beside the list ("mine 4 · unassigned 2"), of ``status`` (open by default); ``tag`` (repeatable)
    adds per-tag counts. Only conversations the caller may see are counted."""
    viewer = _viewer()
    query = app.current_request.query_params or {}
    unknown = sorted(set(query) - {"status", "tag"})
    if unknown:
        raise BadRequest(f"Unknown parameter '{unknown[0]}'; use status and tag.")
    tags = (query.getlist("tag") if hasattr(query, "getlist") else [query["tag"]]) if "tag" in query else []
    return services().conversation_lists.counts(viewer, status=query.get("status") or "open", tags=tags)


@api_route("/v1/conversations/{conversation_id}")
def get_conversation(conversation_id: str) -> dict:
    viewer = _viewer()
    service = services().conversation_service
    conversation = service.get(viewer, conversation_id)
    messages, cursor = service.messages(viewer, conversation_id, limit=50, cursor=None)
    return {"conversation": _row(viewer, conversation),
            "messages": {"items": _messages(messages), "next_cursor": cursor}}


@api_route("/v1/conversations/{conversation_id}/messages")
def list_messages(conversation_id: str) -> dict:
    viewer = _viewer()
    limit, cursor = _page_args()
    messages, next_cursor = services().conversation_service.messages(viewer, conversation_id, limit=limit,
                                                                      cursor=cursor)
    return {"items": _messages(messages), "next_cursor": next_cursor}


@api_route("/v1/conversations/{conversation_id}/messages", methods=("POST",), status=201)
def reply(conversation_id: str) -> dict:
    viewer, body = _viewer(), _body()
    then = body.get("then")
    if then not in (None, "pending"):
        raise BadRequest("then may only be 'pending' (wait for the customer after this reply).")
    message = services().conversation_service.reply(viewer, conversation_id, body.get("text"), _client_id(body),
                                                    _uploaded(body.get("attachments")), then_pending=then == "pending")
    return message_view(message, services().attachments.link)


@api_route("/v1/conversations/{conversation_id}/uploads", methods=("POST",), status=201)
def upload(conversation_id: str) -> dict:
    """Where to PUT a file for a reply: a pre-signed URL, within the channel's size limit."""
    from switchboard.channels import channel_for
    from switchboard.services.conversations import upload_prefix

    viewer, body = _viewer(), _body()
    conversation = services().conversation_service.get(viewer, conversation_id)
    limit = channel_for(conversation.channel).capabilities.max_attachment_bytes
    return services().attachments.upload(upload_prefix(conversation), body.get("name"), body.get("mime"),
                                         body.get("size"), limit)


@api_route("/v1/conversations/{conversation_id}/notes", methods=("POST",), status=201)
def add_note(conversation_id: str) -> dict:
    viewer, body = _viewer(), _body()
    message = services().conversation_service.note(viewer, conversation_id, body.get("text"), _client_id(body))
    return message_view(message, services().attachments.link)


@api_route("/v1/conversations/{conversation_id}/assign", methods=("POST",))
def assign(conversation_id: str) -> dict:
    viewer, body = _viewer(), _body()
    if "assignee_id" not in body and "team_id" not in body:
        raise BadRequest("Give assignee_id (an operator id or null) and/or team_id.")
    conversation = services().conversation_service.assign(
        viewer, conversation_id, assignee_id=body.get("assignee_id"), team_id=body.get("team_id"),
        expected_version=_version(body))
    return _row(viewer, conversation)


@api_route("/v1/conversations/{conversation_id}/resolve", methods=("POST",))
def resolve(conversation_id: str) -> dict:
    viewer = _viewer()
    return _row(viewer, services().conversation_service.resolve(viewer, conversation_id))


@api_route("/v1/conversations/{conversation_id}/reopen", methods=("POST",))
def reopen(conversation_id: str) -> dict:
    viewer = _viewer()
    return _row(viewer, services().conversation_service.reopen(viewer, conversation_id))


@api_route("/v1/conversations/{conversation_id}/snooze", methods=("POST",))
def snooze(conversation_id: str) -> dict:
    """Until a preset (in the tenant's time zone), a moment, a number of seconds, or until the contact replies."""
    from switchboard.domain.snooze_presets import SnoozeChoice

    viewer, choice = _viewer(), SnoozeChoice.parse(_body())
    return _row(viewer, services().conversation_service.snooze_for(viewer, conversation_id, choice))


@api_route("/v1/conversations/{conversation_id}/unsnooze", methods=("POST",))
def unsnooze(conversation_id: str) -> dict:
    viewer = _viewer()
    return _row(viewer, services().conversation_service.unsnooze(viewer, conversation_id))


@api_route("/v1/conversations/{conversation_id}/pending", methods=("POST",))
def set_pending(conversation_id: str) -> dict:
    viewer = _viewer()
    return _row(viewer, services().conversation_service.set_pending(viewer, conversation_id))


# ---------------------------------------------------------------- conversation settings, tags, participants
@api_route("/v1/conversations/{conversation_id}", methods=("PATCH",))
def update_conversation(conversation_id: str) -> dict:
    """Title, priority, request type, reasons, components; with ``version``, a stale view gets 409."""
    from switchboard.domain.settings import Patch

    viewer, body = _viewer(), _body()
    conversation = services().conversation_settings.update(viewer, conversation_id, Patch.parse(body),
                                                           _version(body))
    return _row(viewer, conversation)


@api_route("/v1/conversations/{conversation_id}/tags", methods=("POST",))
def tag_conversation(conversation_id: str) -> dict:
    viewer = _viewer()
    return _row(viewer, services().conversation_settings.tag(viewer, conversation_id, _body().get("tag")))


@api_route("/v1/conversations/{conversation_id}/tags/{tag}", methods=("DELETE",))
def untag_conversation(conversation_id: str, tag: str) -> dict:
    viewer = _viewer()
    return _row(viewer, services().conversation_settings.untag(viewer, conversation_id, unquote(tag)))


@api_route("/v1/conversations/{conversation_id}/participants", methods=("POST",))
def add_participant(conversation_id: str) -> dict:
    viewer, body = _viewer(), _body()
    operator_id = body.get("operator_id")
    if not isinstance(operator_id, str) or not operator_id:
        raise BadRequest("Give operator_id: the colleague who should follow this conversation.")
    return _row(viewer, services().conversation_settings.follow(viewer, conversation_id, operator_id))


@api_route("/v1/conversations/{conversation_id}/participants/{operator_id}", methods=("DELETE",))
def remove_participant(conversation_id: str, operator_id: str) -> dict:
    viewer = _viewer()
    return _row(viewer, services().conversation_settings.unfollow(viewer, conversation_id, operator_id))


@api_route("/v1/tags")
def list_tags() -> dict:
    query = (app.current_request.query_params or {}).get("q")
    return {"items": services().conversation_settings.tags(_viewer(), query)}


@api_route("/v1/tags", methods=("POST",), status=201)
def create_tag() -> dict:
    tag, created = services().conversation_settings.create_tag(_viewer(), _body().get("name"))
    return {"name": tag, "created": created}


@api_route("/v1/dialog-settings")
def get_dialog_settings() -> dict:
    return services().conversation_settings.dialog_settings(_viewer()).to_dict()


@api_route("/v1/dialog-settings/{catalogue}", methods=("PUT",))
def put_dialog_settings(catalogue: str) -> dict:
    """Replace one catalogue (request_types, reasons or components); needs 'can edit dialog settings'."""
    viewer, body = _viewer(), _body()
    return services().conversation_settings.set_catalogue(viewer, catalogue, body.get("values")).to_dict()


@api_route("/v1/conversations/{conversation_id}/automated-messages", methods=("POST",), status=202)
def post_automated_message(conversation_id: str) -> dict:
    """A bot's or auto-reply's message (API key auth): held as a note while an operator handles the conversation."""
    header = (app.current_request.headers or {}).get("authorization", "")
    scheme, _, key = header.partition(" ")
    caller = services().api_keys.authenticate(key.strip() if scheme.lower() == "bearer" else "")
    body = _body()
    return services().conversation_settings.automated(caller, conversation_id, body.get("text"), _client_id(body))


# ---------------------------------------------------------------- business hours
@api_route("/v1/business-hours")
def get_business_hours() -> dict:
    return services().business_hours.get(_viewer()).to_dict()


@api_route("/v1/business-hours", methods=("PUT",))
def put_business_hours() -> dict:
    """Owners and admins: the time zone, shifts per weekday (split and past-midnight allowed) and holidays."""
    viewer, body = _viewer(), _body()
    return services().business_hours.put(viewer, body).to_dict()


# ---------------------------------------------------------------- inboxes
@api_route("/v1/inboxes")
def list_inboxes() -> dict:
    viewer = _viewer()
    return {"items": [_inbox(inbox) for inbox in services().directory.inboxes(viewer.tenant_id)]}


@api_route("/v1/inboxes/{inbox_id}", methods=("PATCH",))
def update_inbox(inbox_id: str) -> dict:
    """Admins: the default team, ``reopen_within_days`` (a customer writing again within N days of a resolve
    reopens that conversation instead of starting a new one) and the auto-replies (greeting, out of hours)."""
    viewer, body = _viewer(), _body()
    return _inbox(services().inbox_settings.update(viewer, inbox_id, body))


def _inbox(inbox) -> dict:  # type: ignore[no-untyped-def]
    from switchboard.domain.auto_replies import AutoReplies

    return {"id": inbox.id, "name": inbox.name, "channel": inbox.channel, "default_team_id": inbox.default_team_id,
            "reopen_within_days": inbox.settings.get("reopen_within_days"),
            "auto_replies": AutoReplies.from_stored(inbox.settings.get("auto_replies")).to_dict()}


def _version(body: dict) -> int | None:
    version = body.get("version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        raise BadRequest("version must be an integer.")
    return version


# ---------------------------------------------------------------- distribution: take, round robin, routing rules
@api_route("/v1/conversations/{conversation_id}/take", methods=("POST",))
def take(conversation_id: str) -> dict:
    """Into "mine": 200 if it was unassigned or already mine; 409 (who has it, the version) if someone else has it."""
    viewer = _viewer()
    return _row(viewer, services().distribution.take(viewer, conversation_id))


@api_route("/v1/me/availability", methods=("PUT",))
def set_availability() -> dict:
    viewer = _viewer()
    return {"availability": services().distribution.set_availability(viewer, _body().get("availability"))}


@api_route("/v1/teams/{team_id}", methods=("PATCH",))
def update_team(team_id: str) -> dict:
    viewer = _viewer()
    return _team(services().distribution.update_team(viewer, team_id, _body()))


@api_route("/v1/routing-rules")
def list_routing_rules() -> dict:
    return {"rules": [rule.to_dict() for rule in services().distribution.rules(_viewer())]}


@api_route("/v1/routing-rules", methods=("PUT",))
def replace_routing_rules() -> dict:
    viewer, body = _viewer(), _body()
    return {"rules": [rule.to_dict() for rule in services().distribution.set_rules(viewer, body.get("rules"))]}


# ---------------------------------------------------------------- SLA policies and a conversation's SLA record
@api_route("/v1/sla-policies")
def list_sla_policies() -> dict:
    return {"policies": [policy.to_dict() for policy in services().sla.policies(_viewer())]}


@api_route("/v1/sla-policies", methods=("PUT",))
def replace_sla_policies() -> dict:
    """Owners and admins: the ordered policies (first match wins), targets in business minutes."""
    viewer, body = _viewer(), _body()
    return {"policies": [policy.to_dict() for policy in services().sla.set_policies(viewer, body.get("policies"))]}


@api_route("/v1/conversations/{conversation_id}/sla")
def conversation_sla(conversation_id: str) -> dict:
    """The SLA clocks still running or paused, and every target hit or missed, by how much (for the reports)."""
    return services().sla.record(_viewer(), conversation_id)


def _team(team) -> dict:  # type: ignore[no-untyped-def]
    return {"id": team.id, "name": team.name, "auto_assign": team.auto_assign, "assignment_cap": team.assignment_cap}


# ---------------------------------------------------------------- contacts
@api_route("/v1/contacts/{contact_id}")
def get_contact(contact_id: str) -> dict:
    viewer = _viewer()
    return _card(viewer, services().contact_service.card(viewer, contact_id))


@api_route("/v1/contacts/{contact_id}/merge", methods=("POST",))
def merge_contact(contact_id: str) -> dict:
    viewer, body = _viewer(), _body()
    other = body.get("other_contact_id")
    if not isinstance(other, str) or not other:
        raise BadRequest("Give other_contact_id: the contact to merge into this one.")
    return _card(viewer, services().contact_service.merge(viewer, contact_id, other))


@api_route("/v1/contacts")
def search_contacts() -> dict:
    """Contacts by name (prefix of any word), phone (any format) or e-mail: ?q=…&limit=&cursor=."""
    viewer = _viewer()
    limit, cursor = _page_args()
    text = (app.current_request.query_params or {}).get("q")
    found, next_cursor = services().contact_service.search(viewer, text, limit=limit, cursor=cursor)
    return {"items": [_contact_row(contact) for contact in found], "next_cursor": next_cursor}


@api_route("/v1/contacts/{contact_id}", methods=("PATCH",))
def edit_contact(contact_id: str) -> dict:
    viewer, body = _viewer(), _body()
    return _card(viewer, services().contact_service.edit(viewer, contact_id, body))


@api_route("/v1/contacts/{contact_id}/block", methods=("POST",))
def block_contact(contact_id: str) -> dict:
    viewer = _viewer()
    return _card(viewer, services().contact_service.set_blocked(viewer, contact_id, True))


@api_route("/v1/contacts/{contact_id}/unblock", methods=("POST",))
def unblock_contact(contact_id: str) -> dict:
    viewer = _viewer()
    return _card(viewer, services().contact_service.set_blocked(viewer, contact_id, False))


@api_route("/v1/contacts/{contact_id}/notes", methods=("POST",), status=201)
def add_contact_note(contact_id: str) -> dict:
    viewer, body = _viewer(), _body()
    return _note(services().contact_service.add_note(viewer, contact_id, body.get("text")))


@api_route("/v1/contacts/{contact_id}/timeline")
def contact_timeline(contact_id: str) -> dict:
    viewer = _viewer()
    limit, cursor = _page_args()
    page = services().contact_timeline.page(viewer, contact_id, limit=limit, cursor=cursor)
    return {"items": [_timeline_entry(entry) for entry in page.entries], "next_cursor": page.cursor}


@api_route("/v1/contacts/{contact_id}/events", methods=("POST",), status=201)
def post_contact_event(contact_id: str) -> dict:
    """A tenant's system records what the contact did elsewhere, e.g. a page view (API key, contacts:write)."""
    header = (app.current_request.headers or {}).get("authorization", "")
    scheme, _, key = header.partition(" ")
    caller = services().api_keys.authenticate(key.strip() if scheme.lower() == "bearer" else "")
    return services().contact_timeline.record(caller, contact_id, _body())


def _card(viewer: OperatorView, card: dict) -> dict:
    contact, names = card["contact"], _names(viewer.tenant_id)
    return {
        **_contact_row(contact), "username": contact.username, "language": contact.language,
        "created_at": contact.created_at, "attributes": contact.attributes or {},
        "identities": [{**entry, "inbox_name": names.get(entry.get("inbox_id", ""))}
                       for entry in contact.identities or []],
        "conversations": [conversation_view(c, names) for c in card["conversations"]],
        "notes": [_note(note) for note in card["notes"]],
        "merge_suggestions": card["merge_suggestions"],
    }


def _contact_row(contact) -> dict:  # type: ignore[no-untyped-def]
    return {"id": contact.contact_id, "name": contact.name, "phone": contact.phone, "email": contact.email,
            "blocked": bool(contact.blocked), "tags": contact.tags or []}


def _note(note) -> dict:  # type: ignore[no-untyped-def]
    return {"id": note.id, "text": note.text, "author_id": note.author_id, "author_name": note.author_name,
            "created_at": note.created_at}


def _timeline_entry(entry) -> dict:  # type: ignore[no-untyped-def]
    """A message (of a conversation, or kept hidden while the contact was blocked) or an event, newest first."""
    from switchboard.domain.contact import is_hidden_conversation
    from switchboard.domain.message import Message

    if isinstance(entry, Message):
        hidden = is_hidden_conversation(entry.conversation_id)  # kept while blocked: no conversation to open
        return {"kind": "message", "id": entry.id, "at": entry.created_at, "hidden": hidden,
                "conversation_id": None if hidden else entry.conversation_id,
                "message": message_view(entry, services().attachments.link)}
    return {"kind": "event", "id": entry.id, "at": entry.at,
            "event": {"type": entry.type, "url": entry.url, "title": entry.title, "data": entry.data,
                      "source": entry.source, "event_id": entry.event_id}}


def _messages(messages: list) -> list[dict]:
    return [message_view(message, services().attachments.link) for message in messages]


# ---------------------------------------------------------------- saved replies
@api_route("/v1/saved-replies")
def list_saved_replies() -> dict:
    query = (app.current_request.query_params or {}).get("q")
    return {"items": services().saved_replies.list(_viewer(), query)}


@api_route("/v1/saved-replies", methods=("POST",), status=201)
def create_saved_reply() -> dict:
    viewer, body = _viewer(), _body()
    return services().saved_replies.create(
        viewer, shortcut=body.get("shortcut"), text=body.get("text"), title=body.get("title", ""),
        personal=body.get("personal", True) is not False, position=body.get("position"))


@api_route("/v1/saved-replies/{reply_id}", methods=("DELETE",))
def delete_saved_reply(reply_id: str) -> dict:
    services().saved_replies.delete(_viewer(), reply_id)
    return {"deleted": reply_id}


@api_route("/v1/conversations/{conversation_id}/saved-replies/{reply_id}")
def render_saved_reply(conversation_id: str, reply_id: str) -> dict:
    """The saved reply with this conversation's variables filled ({{contact.first_name}}, {{operator.name}})."""
    return services().saved_replies.rendered(_viewer(), conversation_id, reply_id)


# ---------------------------------------------------------------- tasks
@api_route("/v1/tasks")
def list_tasks() -> dict:
    """?view=current|overdue|done and at most one of assignee (me, unassigned, an id), team, conversation_id; in
    deadline order, tasks without a deadline last."""
    viewer = _viewer()
    limit, cursor = _page_args()
    query = app.current_request.query_params or {}
    params = {name: value for name, value in query.items() if name not in ("limit", "cursor")}
    tasks, next_cursor = services().tasks.list(viewer, params, limit=limit, cursor=cursor)
    return {"items": [_task(viewer, task) for task in tasks], "next_cursor": next_cursor}


@api_route("/v1/tasks", methods=("POST",), status=201)
def create_task() -> dict:
    """Standalone, or from a conversation (conversation_id) or one of its messages (message_id: the description)."""
    viewer, body = _viewer(), _body()
    return _task(viewer, services().tasks.create(viewer, body))


@api_route("/v1/tasks/{task_id}")
def get_task(task_id: str) -> dict:
    viewer = _viewer()
    return _task(viewer, services().tasks.get(viewer, task_id))


@api_route("/v1/tasks/{task_id}", methods=("PATCH",))
def update_task(task_id: str) -> dict:
    """Status, assignee, deadline, title, description; with ``version``, a stale view gets 409."""
    viewer, body = _viewer(), _body()
    return _task(viewer, services().tasks.update(viewer, task_id, body))


def _task(viewer: OperatorView, task) -> dict:  # type: ignore[no-untyped-def]
    from switchboard.services.tasks import task_view

    return task_view(task, _names(viewer.tenant_id), clock.now())


# ---------------------------------------------------------------- notifications to the signed-in operator
@api_route("/v1/notifications")
def list_notifications() -> dict:
    """The operator's recent notifications, newest first, and how many are unread (the bell's badge)."""
    limit, cursor = _page_args()
    return services().notifications.recent(_viewer(), limit=limit, cursor=cursor)


@api_route("/v1/notifications/read", methods=("POST",))
def mark_notifications_read() -> dict:
    viewer, body = _viewer(), _body()
    return services().notifications.mark_read(viewer, body.get("ids"), body.get("all", False))


@api_route("/v1/me/notification-preferences")
def get_notification_preferences() -> dict:
    return services().notifications.preferences(_viewer())


@api_route("/v1/me/notification-preferences", methods=("PUT",))
def put_notification_preferences() -> dict:
    viewer, body = _viewer(), _body()
    return services().notifications.set_preferences(viewer, body.get("preferences"))


# ---------------------------------------------------------------- systems: API keys and the API channel
@api_route("/v1/api-keys", methods=("POST",), status=201)
def create_api_key() -> dict:
    viewer, body = _viewer(), _body()
    return services().api_keys.create(viewer, body.get("name"), body.get("scopes"))


@api_route("/v1/api-keys")
def list_api_keys() -> dict:
    return {"items": services().api_keys.list(_viewer())}


@api_route("/v1/api-keys/{key_id}", methods=("DELETE",))
def revoke_api_key(key_id: str) -> dict:
    services().api_keys.revoke(_viewer(), key_id)
    return {"revoked": key_id}


@api_route("/v1/inboxes/{inbox_id}/messages", methods=("POST",), status=202)
def post_inbox_message(inbox_id: str) -> dict:
    """A tenant's system posts a customer's message (API key auth, not an operator's token)."""
    header = (app.current_request.headers or {}).get("authorization", "")
    scheme, _, key = header.partition(" ")
    caller = services().api_keys.authenticate(key.strip() if scheme.lower() == "bearer" else "")
    return services().api_inbound.post(caller, inbox_id, _body(), clock.iso(clock.now()))


def _uploaded(items: object) -> list[Attachment]:
    if items is None:
        return []
    if not isinstance(items, list) or len(items) > MAX_ATTACHMENTS or not all(
            isinstance(item, dict) and isinstance(item.get("key"), str) for item in items):
        raise BadRequest(f"attachments must be a list of at most {MAX_ATTACHMENTS} uploads (key, name, mime, size).")
    return [Attachment(kind=kind_for_mime(item.get("mime")), name=item.get("name"), mime=item.get("mime"),
                       size=item.get("size") if isinstance(item.get("size"), int) else None,
                       meta={"key": item["key"]}) for item in items]


def _client_id(body: dict) -> str | None:
    client_id = body.get("client_id")
    if client_id is None:
        return None
    if not isinstance(client_id, str) or not 1 <= len(client_id) <= 64:
        raise BadRequest("client_id must be a string of 1–64 characters.")
    return client_id
