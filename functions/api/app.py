"""The operator and tenant REST API (/v1), a Chalice app. Routes parse, call one service, map the result."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

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
            "tenant": {"id": tenant.id, "name": tenant.name, "time_zone": tenant.time_zone}}


@api_route("/v1/operators")
def list_operators() -> dict:
    viewer = _viewer()
    return {"items": [{"id": o.id, "name": o.name, "email": o.email, "role": o.role, "team_ids": o.team_ids}
                      for o in services().directory.operators(viewer.tenant_id)]}


@api_route("/v1/teams")
def list_teams() -> dict:
    viewer = _viewer()
    return {"items": [{"id": t.id, "name": t.name} for t in services().directory.teams(viewer.tenant_id)]}


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
    viewer = _viewer()
    query = app.current_request.query_params or {}
    limit, cursor = _page_args()
    items, next_cursor = services().conversation_service.list(
        viewer, status=query.get("status", "open"), assignee=query.get("assignee"), limit=limit, cursor=cursor)
    names = _names(viewer.tenant_id)
    return {"items": [conversation_view(c, names) for c in items], "next_cursor": next_cursor}


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
    message = services().conversation_service.reply(viewer, conversation_id, body.get("text"), _client_id(body),
                                                    _uploaded(body.get("attachments")))
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
    version = body.get("version")
    if version is not None and not isinstance(version, int):
        raise BadRequest("version must be an integer.")
    conversation = services().conversation_service.assign(
        viewer, conversation_id, assignee_id=body.get("assignee_id"), team_id=body.get("team_id"),
        expected_version=version)
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
    viewer, body = _viewer(), _body()
    until = _snooze_until(body)
    return _row(viewer, services().conversation_service.snooze(viewer, conversation_id, until))


@api_route("/v1/conversations/{conversation_id}/unsnooze", methods=("POST",))
def unsnooze(conversation_id: str) -> dict:
    viewer = _viewer()
    return _row(viewer, services().conversation_service.unsnooze(viewer, conversation_id))


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


def _card(viewer: OperatorView, card: dict) -> dict:
    contact, names = card["contact"], _names(viewer.tenant_id)
    return {
        "id": contact.contact_id, "name": contact.name, "username": contact.username, "phone": contact.phone,
        "email": contact.email, "language": contact.language, "created_at": contact.created_at,
        "blocked": contact.blocked, "identities": contact.identities or [],
        "conversations": [conversation_view(c, names) for c in card["conversations"]],
        "merge_suggestions": card["merge_suggestions"],
    }


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


def _snooze_until(body: dict):  # type: ignore[no-untyped-def]
    if "seconds" in body:
        seconds = body["seconds"]
        if not isinstance(seconds, int) or seconds <= 0:
            raise BadRequest("seconds must be a positive integer.")
        return clock.now() + timedelta(seconds=seconds)
    until = body.get("until")
    if not isinstance(until, str):
        raise BadRequest("Give 'until' (an ISO-8601 time with a time zone) or 'seconds'.")
    try:
        moment = clock.parse_iso(until)
    except ValueError:
        raise BadRequest("'until' is not an ISO-8601 time.") from None
    return moment
