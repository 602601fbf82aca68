"""Downloading a customer's file from their platform: only from the platform's own hosts, never past a size cap."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from ..domain.errors import DeliveryFailed

TIMEOUT_SECONDS = 30
CHUNK = 64 * 1024


class MediaRefused(Exception):
    """A download we will not make or keep: a foreign host, a file over the limit. Permanent, with the reason."""


@dataclass(frozen=True)
class Download:
    content: bytes
    mime: str | None = None
    name: str | None = None


def host_allowed(url: str, allowed_suffixes: tuple[str, ...], api_base: str = "") -> bool:
    """True for https URLs on one of the platform's hosts (``fbcdn.net`` also admits ``scontent.xx.fbcdn.net``),
    or on the configured API base (the local simulator)."""
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").lower()
    base = urllib.parse.urlsplit(api_base) if api_base else None
    if base is not None and parts.scheme == base.scheme and parts.netloc == base.netloc:
        return True
    if parts.scheme != "https" or not host or parts.username or parts.password:
        return False
    return any(host == suffix or host.endswith("." + suffix) for suffix in allowed_suffixes)


def fetch(url: str, *, platform: str, allowed_suffixes: tuple[str, ...], api_base: str, max_bytes: int,
          headers: dict[str, str] | None = None) -> Download:
    """GET ``url`` if it is on the platform's hosts, reading at most ``max_bytes``.

    Refuses (``MediaRefused``) what it must not fetch or keep; a network error or a 5xx is a transient
    ``DeliveryFailed`` so the stream retries it. Redirects are followed only to allowed hosts.
    """
    if not host_allowed(url, allowed_suffixes, api_base):
        raise MediaRefused(f"The file's address is not on {platform}'s own servers, so it was not downloaded.")
    opener = urllib.request.build_opener(_AllowedRedirects(allowed_suffixes, api_base, platform))
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            declared = int(response.headers.get("Content-Length") or 0)
            if declared > max_bytes:
                raise MediaRefused(_too_large(declared, max_bytes))
            content = _read_capped(response, max_bytes)
            return Download(content, response.headers.get_content_type(), _filename(response.headers))
    except urllib.error.HTTPError as error:
        if error.code >= 500 or error.code == 429:
            raise DeliveryFailed(f"{platform} could not hand over the file (HTTP {error.code}); will retry.",
                                 transient=True) from None
        raise MediaRefused(f"{platform} refused the file download (HTTP {error.code}); it may have expired.") from None
    except (urllib.error.URLError, OSError) as error:
        raise DeliveryFailed(f"{platform} could not be reached for the file ({getattr(error, 'reason', error)}); "
                             "will retry.", transient=True) from None


def _read_capped(response, max_bytes: int) -> bytes:  # type: ignore[no-untyped-def]
    chunks, total = [], 0
    while chunk := response.read(CHUNK):
        total += len(chunk)
        if total > max_bytes:
            raise MediaRefused(_too_large(total, max_bytes))
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(size: int, limit: int) -> str:
    return f"The file is larger than this channel's limit ({size // 1024} KB > {limit // 1024} KB); not stored."


def _filename(headers) -> str | None:  # type: ignore[no-untyped-def]
    return headers.get_filename() if hasattr(headers, "get_filename") else None


class _AllowedRedirects(urllib.request.HTTPRedirectHandler):
    def __init__(self, allowed_suffixes: tuple[str, ...], api_base: str, platform: str) -> None:
        self._allowed, self._api_base, self._platform = allowed_suffixes, api_base, platform

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        if not host_allowed(newurl, self._allowed, self._api_base):
            raise MediaRefused(f"{self._platform} redirected the download off its own servers; not followed.")
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urllib.parse.urlsplit(newurl).netloc != urllib.parse.urlsplit(req.full_url).netloc:
            # urllib copies every header to the new host: our API credentials stay with the API (Twilio → its CDN).
            new.headers = {name: value for name, value in new.headers.items() if name.lower() != "authorization"}
        return new
