"""Reading raw RFC 5322/MIME mail with the standard library: headers that survive broken charsets, the readable body
(HTML turned into text), attachments, quoted history folded away, and auto-replies and bounces told apart."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address, BaseHeader
from email.message import EmailMessage, Message
from email.parser import BytesParser, HeaderParser
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser

# What the stdlib leaves where it could not decode 8-bit header bytes: U+FFFD, or lone surrogate escapes.
_UNDECODED = re.compile("[\ufffd\udc80-\udcff]")

# --- parsing and headers ----------------------------------------------------------------------------------------


def parse(raw: bytes) -> EmailMessage:
    """The message as parsed by the standard library; never raises, whatever the bytes (defects are recorded)."""
    return BytesParser(policy=policy.default).parsebytes(raw)  # type: ignore[return-value]


def _raw_header(message: Message, name: str) -> str | None:
    """The header as it was on the wire (8-bit bytes kept as surrogate escapes), before any decoding."""
    wanted = name.lower()
    for key, value in message.raw_items():
        if key.lower() == wanted:
            return value if isinstance(value, str) else str(value)
    return None


def codec_for(charset: str | None) -> str | None:
    """A Python codec for a MIME charset label, forgiving the misspellings mail clients really send."""
    if not charset:
        return None
    label = charset.strip().strip('"').lower()
    candidates = [label, label.removeprefix("x-"), re.sub(r"^(?:x-)?(?:win|windows|cp)[-_]?(\d{3,4})$", r"cp\1", label),
                  label.replace("koi8r", "koi8-r").replace("koi8u", "koi8-u"), re.sub(r"-[ie]$", "", label)]
    for candidate in candidates:
        try:
            info = codecs.lookup(candidate)
        except LookupError:
            continue
        if getattr(info, "_is_text_encoding", True):  # not rot13, base64 and friends
            return info.name
    return None


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Text in its declared charset; undeclared, ASCII-labelled or unknown charsets are tried as UTF-8 first."""
    codec = codec_for(charset)
    if codec in (None, "ascii"):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("utf-8", errors="replace")
    return data.decode(codec, errors="replace")


def _charset_hint(message: Message) -> str | None:
    """The first charset the message declares anywhere: the best guess for 8-bit header bytes sent unencoded."""
    for part in message.walk():
        charset = part.get_content_charset()
        if charset and codec_for(charset) not in (None, "ascii"):
            return charset
    return None


def _undecoded(value: object) -> bool:
    try:
        names = "".join(address.display_name for address in getattr(value, "addresses", ()))
    except Exception:  # an address list too broken to parse names nobody
        names = ""
    return _UNDECODED.search(str(value) + names) is not None


def header(message: Message, name: str) -> BaseHeader | None:
    """A parsed header (RFC 2047 words decoded); raw 8-bit bytes are decoded with the message's own charset."""
    try:
        value = message.get(name)
    except Exception:  # the stdlib header parsers still raise on some malformed input
        value = None
    raw = _raw_header(message, name)
    if raw is None:
        return None
    if value is not None and not _undecoded(value):
        return value  # type: ignore[return-value]
    data = raw.encode("ascii", "surrogateescape")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = decode_bytes(data, _charset_hint(message) or "cp1252")
    try:
        return policy.default.header_factory(name, " ".join(text.split()))
    except Exception:  # keep whatever can be shown rather than lose the message
        return None


def header_text(message: Message, name: str) -> str:
    value = header(message, name)
    return " ".join(str(value).split()) if value is not None else ""


def addresses(message: Message, name: str) -> list[Address]:
    value = header(message, name)
    try:
        found = list(getattr(value, "addresses", ()) or ())
    except Exception:  # an address list too broken to parse names nobody
        found = []
    return [address for address in found if address.addr_spec and "@" in address.addr_spec]


def message_ids(value: str | None) -> list[str]:
    """``<id>`` tokens without their brackets; a lone bare token is accepted (some clients forget the brackets)."""
    if not value:
        return []
    found = re.findall(r"<\s*([^<>\s]+)\s*>", value)
    if not found and len(value.split()) == 1 and "@" in value:
        found = [value.strip()]
    return found


def header_ids(message: Message, name: str) -> list[str]:
    return message_ids(_raw_header(message, name))


def date_of(message: Message) -> datetime | None:
    raw = _raw_header(message, "Date")
    if not raw:
        return None
    try:
        moment = parsedate_to_datetime(" ".join(raw.split()))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def thread_keys(message: Message) -> tuple[str, ...]:
    """Every Message-ID this mail answers, oldest first: References (root first), then In-Reply-To unless it is
    already there (it usually is, as the last reference). The direct parent is therefore last."""
    keys = header_ids(message, "References") + header_ids(message, "In-Reply-To")
    return tuple(dict.fromkeys(keys))


# --- the body ---------------------------------------------------------------------------------------------------


def unflow(text: str, delsp: bool = False) -> str:
    """Undo RFC 3676 format=flowed: a line ending in a space continues on the next one (same quote depth)."""
    lines: list[tuple[int, str]] = []
    joining = False
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        content = content[1:] if content.startswith(" ") else content  # space-stuffing
        flowed = content.endswith(" ") and content != "-- "  # the signature separator is never flowed
        if flowed and delsp:
            content = content[:-1]
        if joining and lines and depth == lines[-1][0]:
            lines[-1] = (depth, lines[-1][1] + content)
        else:
            lines.append((depth, content))
        joining = flowed
    return "\n".join("> " * depth + content for depth, content in lines)


def part_text(part: Message) -> str:
    """A text part decoded to ``str`` with LF line ends, whatever its transfer encoding and charset."""
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    text = decode_bytes(data, part.get_content_charset()).replace("\r\n", "\n").replace("\r", "\n")
    if str(part.get_param("format") or "").lower() == "flowed":
        text = unflow(text, delsp=str(part.get_param("delsp") or "").lower() == "yes")
    return text


_SKIPPED_TAGS = frozenset({"script", "style", "head", "title", "template", "noscript"})
_PARAGRAPH_TAGS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "pre", "hr"})
_LINE_TAGS = frozenset({"div", "li", "tr", "br", "section", "article", "header", "footer", "address", "dd", "dt"})


class _TextExtractor(HTMLParser):
    """HTML to readable text: blocks become line breaks, lists "- " items, blockquotes "> " lines, links keep URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._line: list[str] = []
        self._line_depth = 0
        self._depth = 0  # blockquote nesting
        self._skip = 0
        self._pre = 0
        self._href: list[str | None] = []

    def _break(self, blank: bool = False) -> None:
        text = "".join(self._line)
        text = text.rstrip() if self._pre else text.strip()  # indentation inside <pre> is content
        if text:
            self.lines.append("> " * self._line_depth + text)
        if blank and self.lines and self.lines[-1] != "":
            self.lines.append("")
        self._line = []
        self._line_depth = self._depth

    def _write(self, text: str) -> None:
        if not self._line:
            self._line_depth = self._depth
        self._line.append(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip += 1
        elif tag == "blockquote":
            self._break(blank=True)
            self._depth += 1
        elif tag in _PARAGRAPH_TAGS or tag in _LINE_TAGS:
            self._break(blank=tag in _PARAGRAPH_TAGS)
            if tag == "pre":
                self._pre += 1
            if tag == "li":
                self._write("- ")
        elif tag == "a":
            self._href.append(dict(attrs).get("href"))
        elif tag == "img" and (alt := dict(attrs).get("alt")):
            self._write(f"[{alt}]")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip = max(self._skip - 1, 0)
        elif tag == "blockquote":
            self._break(blank=True)
            self._depth = max(self._depth - 1, 0)
            self._line_depth = self._depth
        elif tag in _PARAGRAPH_TAGS or tag in _LINE_TAGS:
            self._break(blank=tag in _PARAGRAPH_TAGS)
            if tag == "pre":
                self._pre = max(self._pre - 1, 0)
        elif tag == "a" and self._href:
            self._link_end(self._href.pop())

    def _link_end(self, href: str | None) -> None:
        label = "".join(self._line).strip()
        if href and href.startswith(("http://", "https://")) and not label.endswith(href):
            self._write(f" ({href})")

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        data = data.replace("\xa0", " ")
        if self._pre:
            first, *rest = data.split("\n")
            self._write(first)
            for line in rest:
                self._break()
                self._write(line)
            return
        text = re.sub(r"\s+", " ", data)
        if not self._line:
            text = text.lstrip()
        if text:
            self._write(text)

    def text(self) -> str:
        self.close()
        self._break()
        return "\n".join(self.lines).strip()


def html_to_text(html: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(html)
    return extractor.text()


# --- quoted history ---------------------------------------------------------------------------------------------

# "-----Original Message-----" and its translations: everything below is the previous message, unquoted.
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(original message|исходное сообщение|ursprüngliche nachricht|message d'origine)\s*-{2,}\s*$",
    re.IGNORECASE,
)
# Outlook's header block: "From: …" followed within a few lines by "Sent: …" (or its translations), often under a
# line of underscores.
_OUTLOOK_FROM = re.compile(r"^\s*\*?(from|от|von|de)\s*:\*?\s+\S", re.IGNORECASE)
_OUTLOOK_SENT = re.compile(r"^\s*\*?(sent|date|отправлено|дата|gesendet|envoyé)\s*:\*?\s+\S", re.IGNORECASE)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")
# The line introducing a quote: "On <date>, <name> wrote:", "<date>, <name> пишет:", "Am … schrieb …:", or a bare
# "<date>, <name> <address>:"; Gmail wraps long ones, leaving "wrote:" alone on the second line.
_ATTRIBUTION_START = re.compile(r"^\s*(on|am|le|el|il|op)\s+\S", re.IGNORECASE)
_ATTRIBUTION_END = re.compile(r"(wrote|schrieb|a écrit|escribió|ha scritto|schreef|пишет|написал|написала|"
                              r"написал\(а\))\s*:\s*$", re.IGNORECASE)


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _trailing_quote_start(lines: list[str]) -> int | None:
    """Where the final run of ">"-quoted (and blank) lines begins, if the text ends with one."""
    start = None
    for index in range(len(lines) - 1, -1, -1):
        if _is_quoted(lines[index]):
            start = index
        elif lines[index].strip():
            break
    return start


def _previous_text_line(lines: list[str], before: int) -> int | None:
    index = before - 1
    while index >= 0 and not lines[index].strip():
        index -= 1
    return index if index >= 0 else None


def _is_attribution(line: str) -> bool:
    # A date, a time or an address gives it away; "See below:" before a quote the customer chose is kept.
    text = line.strip()
    return text.endswith(":") and (_ATTRIBUTION_END.search(text) is not None or re.search(r"\d|@", text) is not None)


def _attribution_start(lines: list[str], quote_start: int) -> int:
    """Include the line (or the two wrapped lines) introducing the final quoted block."""
    index = _previous_text_line(lines, quote_start)
    if index is None or not _is_attribution(lines[index]):
        return quote_start
    above = _previous_text_line(lines, index)
    if above is not None and len(lines[index].strip()) < 20 and _ATTRIBUTION_START.match(lines[above]):
        return above
    return index


def _outlook_start(lines: list[str], index: int) -> int | None:
    following = lines[index + 1 : index + 4]
    if not _OUTLOOK_FROM.match(lines[index]) or not any(_OUTLOOK_SENT.match(line) for line in following):
        return None
    above = _previous_text_line(lines, index)
    return above if above is not None and _UNDERSCORES.match(lines[above]) else index


def _history_start(lines: list[str]) -> int | None:
    """The first line of quoted history, or None when the text quotes nothing (or answers between quotes)."""
    for index, line in enumerate(lines):
        if _ORIGINAL_MESSAGE.match(line):
            return index
        outlook = _outlook_start(lines, index)
        if outlook is not None:
            return outlook
    quote_start = _trailing_quote_start(lines)
    return None if quote_start is None else _attribution_start(lines, quote_start)


def fold_quoted(text: str) -> str:
    """The new part of a reply: ``text`` without the quoted history at its end.

    Interleaved answers (text after a quote) are kept whole; a message that is nothing but history is kept too.
    """
    lines = text.split("\n")
    start = _history_start(lines)
    if start is None:
        return text.strip()
    new = "\n".join(lines[:start]).strip()
    return new or text.strip()


# --- parts ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One non-body leaf of the MIME tree: an attachment, or an inline image the HTML refers to by Content-ID."""

    index: int  # position in ``message.walk()``: how the part is found again in the raw mail
    name: str | None
    mime: str
    size: int
    content_id: str | None = None
    inline: bool = False


@dataclass
class Body:
    text: str = ""
    html: str = ""
    parts: list[Part] = field(default_factory=list)


def _leaves(message: Message) -> Iterator[tuple[int, Message]]:
    """Leaf parts with their ``walk()`` index; an attached message is one leaf, not a source of body text."""
    inside_attached: set[int] = set()
    for index, part in enumerate(message.walk()):
        if id(part) in inside_attached:
            continue
        if part.get_content_type() == "message/rfc822":
            inside_attached.update(id(sub) for sub in part.walk() if sub is not part)
            yield index, part
        elif not part.is_multipart():
            yield index, part


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # malformed RFC 2231 parameters
        name = None
    return " ".join(name.split()) if name else None


def _is_body(part: Message, name: str | None) -> bool:
    return (part.get_content_type() in ("text/plain", "text/html") and name is None
            and part.get_content_disposition() != "attachment")


def _size(part: Message) -> int:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return len(payload)
    return len(part.as_bytes()) if part.get_content_type() == "message/rfc822" else 0


def _part(index: int, part: Message, name: str | None) -> Part:
    content_id = next(iter(message_ids(_raw_header(part, "Content-ID"))), None)
    inline = content_id is not None and part.get_content_disposition() != "attachment"
    if name is None and part.get_content_type() == "message/rfc822":
        name = f"{header_text(part.get_payload(0), 'Subject') or 'message'}.eml"  # type: ignore[arg-type]
    return Part(index=index, name=name, mime=part.get_content_type(), size=_size(part), content_id=content_id,
                inline=inline)


def body(message: Message) -> Body:
    """The plain text, the HTML and the other parts; text split around inline images is joined back together."""
    result = Body()
    texts: list[str] = []
    htmls: list[str] = []
    for index, part in _leaves(message):
        name = _filename(part)
        if _is_body(part, name):
            (texts if part.get_content_type() == "text/plain" else htmls).append(part_text(part))
        elif part.get_content_type() not in ("message/delivery-status", "text/rfc822-headers"):
            result.parts.append(_part(index, part, name))
    result.html = "\n".join(htmls)
    result.text = "\n".join(text.strip("\n") for text in texts) if texts else html_to_text(result.html)
    return result


# --- auto-replies and bounces -----------------------------------------------------------------------------------

_AUTOMATIC_PRECEDENCE = frozenset({"bulk", "auto_reply", "junk"})
_AUTOREPLY_FLAGS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder")


def is_auto_reply(message: Message) -> bool:
    """RFC 3834 Auto-Submitted, the older vacation-responder conventions, and reports (read receipts and the like)."""
    if message.get_content_type() == "multipart/report":
        return True
    auto_submitted = (_raw_header(message, "Auto-Submitted") or "").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return True
    if any((_raw_header(message, flag) or "").strip().lower() not in ("", "no", "false") for flag in _AUTOREPLY_FLAGS):
        return True
    return (_raw_header(message, "Precedence") or "").strip().lower() in _AUTOMATIC_PRECEDENCE


def is_bounce(message: Message) -> bool:
    if message.get_content_type() == "multipart/report":
        return str(message.get_param("report-type") or "").lower() == "delivery-status"
    return any(address.username.lower() == "mailer-daemon" for address in addresses(message, "From"))


@dataclass(frozen=True)
class Bounce:
    original_ids: tuple[str, ...]  # the bounced message's Message-ID, then its References
    recipient: str | None
    status: str | None  # RFC 3463 enhanced status code, e.g. 5.1.1
    diagnostic: str | None


def _failed_recipient(report: Message) -> Message | None:
    """The first per-recipient block of a message/delivery-status part, preferring one whose action failed."""
    blocks = [block for block in (report.get_payload() or [])[1:] if isinstance(block, Message)]
    failed = [block for block in blocks if str(block.get("Action", "")).strip().lower() == "failed"]
    return (failed or blocks or [None])[0]


def _original_headers(message: Message) -> Message | None:
    for part in message.walk():
        if part.get_content_type() == "message/rfc822" and part.is_multipart():
            return part.get_payload(0)  # type: ignore[return-value]
        if part.get_content_type() == "text/rfc822-headers":
            return HeaderParser(policy=policy.default).parsestr(part_text(part))
    return None


def _ids_in_text(message: Message) -> tuple[str, ...]:
    """A bounce that is not an RFC 3464 report often quotes the original headers in its text."""
    text = body(message).text
    found = re.findall(r"^\s*Message-ID:\s*<([^<>\s]+)>", text, re.IGNORECASE | re.MULTILINE)
    return tuple(found[:1])


def without_type(value: str) -> str:
    """``rfc822; someone@example.org`` → ``someone@example.org``: DSN fields lead with a type and a semicolon."""
    text = " ".join(value.split())
    kind, separator, rest = text.partition(";")
    return rest.strip() if separator and kind and " " not in kind.strip() else text


def _field(block: Message | None, *names: str) -> str | None:
    for name in names:
        value = without_type(str(block.get(name) or "")) if block is not None else ""
        if value:
            return value
    return None


def bounce(message: Message) -> Bounce:
    """What a delivery-status notification says: which message, which recipient, and why."""
    report = next((part for part in message.walk() if part.get_content_type() == "message/delivery-status"), None)
    block = _failed_recipient(report) if report is not None else None
    original = _original_headers(message)
    ids = (header_ids(original, "Message-ID") + header_ids(original, "References")) if original else []
    recipient = _field(block, "Final-Recipient", "Original-Recipient")
    return Bounce(
        original_ids=tuple(ids) or _ids_in_text(message),
        recipient=recipient.lower() if recipient and "@" in recipient else None,
        status=_field(block, "Status"),
        diagnostic=_field(block, "Diagnostic-Code"),
    )
