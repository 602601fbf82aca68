"""The one outbound HTTP call every channel adapter makes to its platform (standard library, timeouts, no leaks)."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from ..domain.errors import DeliveryFailed

TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> dict:
        """The body as a JSON object, or {} when it is not one (an HTML error page, say)."""
        try:
            data = json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return {}
        return data if isinstance(data, dict) else {}


def call(method: str, url: str, *, platform: str, json_body: Any = None,
         form: dict[str, str] | list[tuple[str, str]] | None = None,
         headers: dict[str, str] | None = None, timeout: float = TIMEOUT_SECONDS,
         raw_body: bytes | None = None) -> HttpAnswer:
    """Make one request and return whatever status the platform answered with.

    Only a network failure raises (``DeliveryFailed``, transient); the message never includes the URL, which often
    carries a token.
    """
    data = raw_body
    all_headers = dict(headers or {})
    if json_body is not None:
        data = json.dumps(json_body).encode("utf-8")
        all_headers.setdefault("Content-Type", "application/json; charset=utf-8")
    elif form is not None:
        data = urllib.parse.urlencode(form).encode("utf-8")
        all_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    request = urllib.request.Request(url, data=data, headers=all_headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return HttpAnswer(response.status, response.read(), dict(response.headers.items()))
    except urllib.error.HTTPError as error:
        return HttpAnswer(error.code, error.read(), dict(error.headers.items()) if error.headers else {})
    except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
        reason = getattr(error, "reason", None) or error
        raise DeliveryFailed(f"{platform} could not be reached ({reason}); will retry.", transient=True) from None
