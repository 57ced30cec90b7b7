"""The front-end guides in mobile_api_docs/ (zh-CN and en) are kept true by running them.

Every ```bash block of a guide holds exactly one `curl` command, and the ```js block right after it
holds the same request for the mini-program (`wx.request`, or `wx.uploadFile` for a file sent as a form
with `curl -F`) or, where the mini-program cannot send it, for a server or an H5 page (`fetch`). The tests below parse every such pair, check that the two agree, build
the world the shell variables refer to and send each request to the app in document order, expecting a
2xx unless the line after the command says otherwise (`# → 409 DUPLICATE_CONFLICT`, or `# → 201`).
They also check that the two languages hold the same guides, sections and examples, that the error
tables list exactly the codes of `service.errors.AppError` and its subclasses, and that the worked
partner signature and the receipt test vector are what the service's own code computes.

A curl block may use these shell variables and no others (the guides' README lists them too):

    $API                 the base URL
    $TOKEN               a resident's access token: given, or taken from the last resident sign-in reply
    $REFRESH_TOKEN       the refresh token of the last sign-in or refresh reply
    $OLD_REFRESH_TOKEN   the refresh token the last refresh exchanged (spent)
    $BEHAVIOUR_ID        given (a credited, sealed ride), or the id of the last behaviour recorded
    $CURSOR              the last `next_cursor` that was not null
    $ENTRY_ID            the ledger entry of the last receipt
    $TREE_SIZE           the checkpoint size of the last receipt
    $LATEST_TREE_SIZE    the size of the latest checkpoint, from /v1/transparency/checkpoint
    $REWARD_ID           given (a published reward), or the first reward of the last catalogue page
    $REWARD_IMAGE_ID     the uploaded picture of the last reward read that has one
    $VOUCHER_ID          the voucher of the last redemption
    $HANDLE              the first other resident on the last board
    $CERTIFICATE         given: the number of a retirement certificate
    $KEY_ID              given: a partner key id (its secret is kept by the test)
    $TIMESTAMP           given: now, in Unix seconds
    $SIGNATURE           computed for the request it is in: HMAC-SHA256 with the key's secret over the
                         request's method, path and query, X-Tanpuhui-Timestamp header and body
    $ADMIN_TOKEN         given: an operator's access token
    $SITE_ID             the site of the last registration
    $PHOTO_ID            the photo of the last upload (POST /v1/me/photos)
    $START_CODE          computed for the request it is in: the code the test site where a behaviour of
                         the body's `type` starts (tests/fixtures/evidence.py, ROUTES) showed in the
                         minute of the body's `occurred_at`
    $END_CODE            computed likewise: the code of the type's end site in the minute of `ended_at`
                         (metro and shared-bike rides, which end at a second site)
    $METRO_CODE          computed likewise: a metro station's code (METRO_A) in the minute of `occurred_at`,
                         whatever the type, for a code scanned at the wrong kind of site
    $PARTNER_CODE        given: the code of a partner the reader can link and has not (haihe-bikes)
    $TEXT_SHA256         the `text_sha256` of the last consent text read (GET /v1/partners/{code}/consent)
    $LINK_CODE           given (a code the reader got for the partner of $KEY_ID), or the code of the last
                         link request (POST /v1/me/links)
    $LINK_ID             the first link in force of the last GET /v1/me/links, or the link of the last
                         code a partner redeemed
    $PSEUDONYM           given (the reader linked at the partner of $KEY_ID), or the pseudonym of the last
                         code a partner redeemed
    $ENTERPRISE_TOKEN    given: an approved enterprise's user's access token
    $VOUCHER_CODE        given: the code of a resident's voucher for a reward of that enterprise
    $WEBHOOK_ID          the endpoint of the last webhook registration
    $DELIVERY_ID         the first delivery of the last page of an endpoint's deliveries

The partner guides' world registers the data partner jinnan-metro-card (津南地铁卡, a transit card) and
issues it the key of $KEY_ID; the resident guides about links also meet haihe-bikes (海河单车, bike share),
and linking.md's reader has linked their account at jinnan-metro-card already, its grant sealed.

A `curl -F "file=@NAME"` attaches one of the files the test makes (FILES): `sorting.jpg`, a phone's
photo of a recycling station with EXIF and a GPS position, and `notes.jpg`, a text file given a photo's
name. As curl does, the part's type follows the file name unless `;type=` says otherwise.

Timestamps in request bodies are examples: before a guide runs, all of them are moved by the same whole
number of days so that the latest lies a little in the past (claim windows count back from now). The
site codes are signed after the move, for the times the request then carries, by the test sites every
test database is seeded with: a code shown in a guide as a literal could not survive the move.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import importlib
import inspect
import json
import math
import mimetypes
import pkgutil
import re
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

import service
from service.accounts import signing
from service.accounts.models import Role
from service.audit import receipt_verifier
from service.audit.sealer import seal_once
from service.errors import every_error_class
from service.ingest import batches
from service.kit.clock import SHANGHAI
from service.leaderboard import rollup
from service.webhooks import signing as webhook_signing
from tests.conftest import Api, bearer
from tests.fixtures.behaviours import SITE_CODES, PartnerClient, Tokens, behaviour_body, link_code, record_ok
from tests.fixtures.evidence import METRO_A, ROUTES
from tests.fixtures.photos import jpeg_with_gps
from tests.fixtures.redemption import accept, publish, redeem_ok, retire
from tests.fixtures.wechat import FakeWechat

DOCS = Path(__file__).resolve().parents[2] / "mobile_api_docs"
LANGUAGES = ("zh-CN", "en")
GUIDES = (
    "quick-start.md",
    "authentication.md",
    "idempotency.md",
    "errors.md",
    "pagination-and-rate-limits.md",
    "leaderboards.md",
    "redemption.md",
    "receipts.md",
    "partner-signing.md",
    "site-codes.md",
    "photos.md",
    "evidence.md",
    "linking.md",
    "partner-linking.md",
    "privacy.md",
    "webhooks.md",
)
# Examples with a credential that must never reach a phone are for a server or the console (fetch): a
# partner's signing secret, an administrator's token.
SERVER_GUIDES = {"partner-signing.md", "partner-linking.md", "site-codes.md", "webhooks.md"}
# What wx.request can send (its `method` option); anything else needs fetch from an H5 page.
WX_METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"}

VARIABLES = {
    "API",
    "TOKEN",
    "REFRESH_TOKEN",
    "OLD_REFRESH_TOKEN",
    "BEHAVIOUR_ID",
    "CURSOR",
    "ENTRY_ID",
    "TREE_SIZE",
    "LATEST_TREE_SIZE",
    "REWARD_ID",
    "REWARD_IMAGE_ID",
    "VOUCHER_ID",
    "HANDLE",
    "CERTIFICATE",
    "KEY_ID",
    "TIMESTAMP",
    "SIGNATURE",
    "ADMIN_TOKEN",
    "SITE_ID",
    "PHOTO_ID",
    "START_CODE",
    "END_CODE",
    "METRO_CODE",
    "PARTNER_CODE",
    "TEXT_SHA256",
    "LINK_CODE",
    "LINK_ID",
    "PSEUDONYM",
    "ENTERPRISE_TOKEN",
    "VOUCHER_CODE",
    "WEBHOOK_ID",
    "DELIVERY_ID",
}
# What each guide's examples are given before they run; everything else they must produce themselves.
GIVEN: dict[str, set[str]] = {
    "quick-start.md": set(),
    "authentication.md": set(),
    "idempotency.md": {"TOKEN", "REWARD_ID"},
    "errors.md": {"TOKEN"},
    "pagination-and-rate-limits.md": {"TOKEN"},
    "leaderboards.md": {"TOKEN"},
    "redemption.md": {"TOKEN", "REWARD_ID", "CERTIFICATE"},
    "receipts.md": {"TOKEN", "BEHAVIOUR_ID"},
    "partner-signing.md": {"KEY_ID", "TIMESTAMP", "PSEUDONYM"},
    "site-codes.md": {"ADMIN_TOKEN"},
    "photos.md": {"TOKEN"},
    "evidence.md": {"TOKEN"},
    "linking.md": {"TOKEN", "PARTNER_CODE"},
    "partner-linking.md": {"KEY_ID", "TIMESTAMP", "LINK_CODE"},
    "privacy.md": {"TOKEN", "PARTNER_CODE"},
    "webhooks.md": {"KEY_ID", "TIMESTAMP", "ENTERPRISE_TOKEN", "VOUCHER_CODE"},
}
# The guides whose world registers the linkable partners (津南地铁卡 and 海河单车).
PARTNER_WORLDS = {"linking.md", "partner-linking.md", "partner-signing.md", "privacy.md", "webhooks.md"}
# The files a `curl -F name=@FILE` of a guide may attach.
FILES = {
    "sorting.jpg": jpeg_with_gps(),
    "notes.jpg": "分类投放：厨余 1.2 kg\nkitchen waste 1.2 kg\n".encode(),
}

_SIGNATURE_SLOT = "\x00SIGNATURE\x00"
# The variables that stand for a site code signed for the request they are in, each with its slot.
_CODE_SLOTS = {name: f"\x00{name}\x00" for name in ("START_CODE", "END_CODE", "METRO_CODE")}
_PROBLEM_JSON = "application/problem+json"
_ANNOTATION = re.compile(r"^#\s*→\s*(\d{3})(?:\s+([A-Z][A-Z0-9_]*))?\s*$")
_SHELL_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
_CODE_IN_TEXT = re.compile(r"`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)`")


# ---------------------------------------------------------------------------------------------- markdown


@dataclass(frozen=True)
class Fence:
    info: str
    text: str
    line: int


def guide_path(language: str, name: str) -> Path:
    return DOCS / language / name


@cache
def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def fences(markdown: str) -> list[Fence]:
    """Every fenced code block, with the first word of its info string and the line it starts on."""
    found: list[Fence] = []
    lines = markdown.split("\n")
    index = 0
    while index < len(lines):
        opening = re.match(r"^(`{3,})(.*)$", lines[index])
        if opening is None:
            index += 1
            continue
        marker, info = opening.group(1), opening.group(2).strip()
        end = index + 1
        while end < len(lines) and lines[end].rstrip() != marker:
            end += 1
        assert end < len(lines), f"the code block opened on line {index + 1} is never closed"
        found.append(Fence(info.split()[0] if info else "", "\n".join(lines[index + 1 : end]), index + 1))
        index = end + 1
    return found


def prose(markdown: str) -> str:
    """The text outside fenced code blocks."""
    return re.sub(r"^(`{3,}).*?^\1\s*$", "", markdown, flags=re.MULTILINE | re.DOTALL)


def headings(markdown: str) -> list[str]:
    return [line for line in prose(markdown).split("\n") if re.match(r"^#{1,6} ", line)]


def table_rows(markdown: str) -> Iterator[list[str]]:
    for line in prose(markdown).split("\n"):
        if line.startswith("|") and not re.match(r"^\|[\s:|-]+\|?\s*$", line):
            yield [cell.strip() for cell in line.strip().strip("|").split("|")]


# ---------------------------------------------------------------------------------------------- shell


def shell_words(command: str, lookup: Callable[[str], str]) -> list[str]:
    """Split one shell command into words as bash would, expanding $VARIABLES outside single quotes."""
    words: list[str] = []
    current: list[str] = []
    in_word = False
    i = 0

    def variable(at: int) -> int:
        match = _SHELL_VARIABLE.match(command, at)
        assert match is not None, f"a bare $ in {command!r}"
        current.append(lookup(match.group(1) or match.group(2)))
        return match.end()

    while i < len(command):
        char = command[i]
        if command.startswith("\\\n", i):
            i += 2
        elif char in " \t\n":
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
            i += 1
        elif char == "'":
            end = command.find("'", i + 1)
            assert end > 0, f"unterminated single quote in {command!r}"
            literal = command[i + 1 : end]
            assert not _SHELL_VARIABLE.search(literal), f"the shell does not expand variables in '{literal}'"
            current.append(literal)
            in_word, i = True, end + 1
        elif char == '"':
            in_word, i = True, i + 1
            while i < len(command) and command[i] != '"':
                if command[i] == "\\" and command[i + 1] in '"\\$`':
                    current.append(command[i + 1])
                    i += 2
                elif command[i] == "$":
                    i = variable(i)
                else:
                    current.append(command[i])
                    i += 1
            assert i < len(command), f"unterminated double quote in {command!r}"
            i += 1
        elif char == "$":
            in_word, i = True, variable(i)
        elif char in "|&;<>()`#":
            raise AssertionError(f"a curl block holds one plain command, not {char!r}: {command!r}")
        else:
            in_word = True
            current.append(char)
            i += 1
    if in_word:
        words.append("".join(current))
    return words


@dataclass(frozen=True)
class FormPart:
    """One `-F` of a curl command: a field's text, or a file attached from FILES."""

    name: str
    value: str
    is_file: bool
    content_type: str | None

    @classmethod
    def parse(cls, option: str) -> FormPart:
        name, equals, value = option.partition("=")
        assert equals, f"-F takes name=value or name=@file: {option!r}"
        if not value.startswith("@"):
            return cls(name, value, False, None)
        filename, *parameters = value[1:].split(";")
        declared = dict(parameter.partition("=")[::2] for parameter in parameters)
        assert set(declared) <= {"type"}, f"-F parameters the guides do not use: {option!r}"
        content_type = declared.get("type") or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        return cls(name, filename, True, content_type)


@dataclass(frozen=True)
class Curl:
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: str | None
    form: tuple[FormPart, ...] = ()

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def path_and_query(self) -> str:
        parts = urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    @property
    def query_names(self) -> set[str]:
        return {name for name, _ in parse_qsl(urlsplit(self.url).query, keep_blank_values=True)}

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)


def parse_curl(words: list[str]) -> Curl:
    assert words, "an empty command"
    assert words[0] == "curl", f"not a curl command: {words}"
    method: str | None = None
    url: str | None = None
    body: str | None = None
    headers: list[tuple[str, str]] = []
    form: list[FormPart] = []
    rest = iter(words[1:])
    for word in rest:
        if word in ("-X", "--request"):
            method = next(rest)
        elif word in ("-H", "--header"):
            name, colon, value = next(rest).partition(":")
            assert colon, f"a header without a colon: {name!r}"
            headers.append((name.strip(), value.strip()))
        elif word in ("-d", "--data", "--data-raw"):
            assert body is None, "one body per request"
            body = next(rest)
        elif word in ("-F", "--form"):
            form.append(FormPart.parse(next(rest)))
        elif word in ("-i", "-s", "-sS", "--include", "--silent", "--show-error"):
            continue
        else:
            assert not word.startswith("-"), f"an option the guides do not use: {word}"
            assert url is None, f"two URLs: {url} and {word}"
            url = word
    assert url is not None, f"no URL in {words}"
    if body is not None and not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/x-www-form-urlencoded"))  # what curl -d sends
    assert body is None or not form, "-d and -F do not go together"
    sends = body is not None or bool(form)
    return Curl(method or ("POST" if sends else "GET"), url, tuple(headers), body, tuple(form))


# ---------------------------------------------------------------------------------------------- examples


@dataclass(frozen=True)
class Example:
    guide: str
    line: int
    command: str
    status: int | None
    code: str | None
    js: str

    def where(self) -> str:
        return f"{self.guide}:{self.line}"

    def shape(self) -> Curl:
        """The request with every variable shown as {NAME}."""
        return parse_curl(shell_words(self.command, lambda name: "{" + name + "}"))


def examples(language: str, name: str) -> list[Example]:
    """The curl examples of a guide, each with the js block that follows it, in document order."""
    blocks = fences(read(guide_path(language, name)))
    found: list[Example] = []
    for index, block in enumerate(blocks):
        if block.info != "bash":
            continue
        where = f"{language}/{name}:{block.line}"
        lines = block.text.strip().split("\n")
        status: int | None = None
        code: str | None = None
        annotation = _ANNOTATION.match(lines[-1])
        if annotation is not None:
            lines = lines[:-1]
            status, code = int(annotation.group(1)), annotation.group(2)
            assert status < 400 or code is not None, f"{where}: an error example names its code"
        command = "\n".join(lines)
        assert command.startswith("curl "), f"{where}: a bash block holds one curl command"
        assert not any(line.lstrip().startswith("#") for line in lines), f"{where}: stray comment line"
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        assert following is not None, f"{where}: a js block follows each curl block"
        assert following.info == "js", f"{where}: a js block follows each curl block"
        found.append(Example(f"{language}/{name}", block.line, command, status, code, following.text))
    return found


# ---------------------------------------------------------------------------------------------- javascript


def _after_string(text: str, start: int) -> int:
    quote, i = text[start], start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == quote:
            return i + 1
        elif quote == "`" and text.startswith("${", i):
            i = _closing(text, i + 1) + 1
        else:
            i += 1
    raise AssertionError(f"unterminated string in {text[start : start + 40]!r}")


def _pieces(text: str, start: int = 0) -> Iterator[tuple[str, int, int]]:
    """The text from `start` as (kind, begin, end): a string literal, a comment, or one character of code."""
    i = start
    while i < len(text):
        if text[i] in "'\"`":
            kind, end = "string", _after_string(text, i)
        elif text.startswith("//", i):
            line_end = text.find("\n", i)
            kind, end = "comment", len(text) if line_end < 0 else line_end
        elif text.startswith("/*", i):
            kind, end = "comment", text.index("*/", i) + 2
        else:
            kind, end = "code", i + 1
        yield kind, i, end
        i = end


def _code(text: str, start: int = 0) -> Iterator[tuple[int, str]]:
    """Each character outside strings and comments, with its index."""
    for kind, i, _ in _pieces(text, start):
        if kind == "code":
            yield i, text[i]


def _closing(text: str, start: int) -> int:
    """Index of the bracket that closes the one at `start`."""
    depth = 0
    for i, char in _code(text, start):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return i
    raise AssertionError(f"unbalanced brackets in {text[start : start + 40]!r}")


def _strip_comments(text: str) -> str:
    return "".join(text[i:end] for kind, i, end in _pieces(text) if kind != "comment")


def _split_top(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    depth, last = 0, 0
    for i, char in _code(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == separator and depth == 0:
            parts.append(text[last:i])
            last = i + 1
    parts.append(text[last:])
    return [part.strip() for part in parts if part.strip()]


def _unquote(literal: str) -> str:
    literal = literal.strip()
    if literal[:1] in ("'", '"') and literal[-1:] == literal[:1]:
        return literal[1:-1]
    return literal


def _properties(literal: str) -> dict[str, str]:
    """The properties of a JS object literal: name → value source (shorthand and methods included)."""
    literal = literal.strip()
    assert literal.startswith("{"), f"not an object literal: {literal[:60]!r}"
    assert literal.endswith("}"), f"not an object literal: {literal[:60]!r}"
    found: dict[str, str] = {}
    for part in _split_top(literal[1:-1], ","):
        method = re.match(r"^(?:async\s+)?([A-Za-z_$][\w$]*)\s*\(", part)
        colon = next((i for i, char in _code(part) if char == ":"), None)
        if part.startswith("..."):
            found[part] = part
        elif colon is not None and (method is None or colon < method.end()):
            found[_unquote(part[:colon])] = part[colon + 1 :].strip()
        elif method is not None:
            found[method.group(1)] = part
        else:
            found[part] = part
    return found


def _js_url(expression: str) -> str:
    """A URL expression (`API + "/v1/…" + id` or a template literal) as "{API}/v1/…/{}"."""
    expression = expression.strip()
    if expression.startswith("`"):
        inner = expression[1:-1]
        assert inner.startswith("${API}"), f"a URL starts with API: {expression}"
        return "{API}" + re.sub(r"\$\{[^}]*\}", "{}", inner[len("${API}") :])
    parts = _split_top(expression, "+")
    assert parts[0] == "API", f"a URL starts with API: {expression}"
    return "{API}" + "".join(
        json.loads(part) if part.startswith('"') else part[1:-1] if part.startswith("'") else "{}" for part in parts[1:]
    )


def _stringified(value: str, block: str) -> dict[str, str]:
    """The object a fetch body holds: JSON.stringify({...}) inline, or through a const of the block."""
    inline = re.match(r"^JSON\.stringify\((.*)\)$", value, re.DOTALL)
    if inline is None:
        found = re.search(rf"\bconst\s+{re.escape(value)}\s*=\s*JSON\.stringify\(", block)
        assert found is not None, f"the body {value!r} is not JSON.stringify of an object literal"
        start = found.end() - 1
        return _properties(block[start + 1 : _closing(block, start)])
    return _properties(inline.group(1))


@dataclass(frozen=True)
class JsRequest:
    client: str
    method: str
    url: str
    header_names: set[str]
    data_names: set[str] | None
    has_success: bool
    form_names: set[str] | None = None
    file_field: str | None = None

    @property
    def path(self) -> str:
        return self.url.split("?", 1)[0]

    @property
    def query_names(self) -> set[str]:
        query = self.url.split("?", 1)[1] if "?" in self.url else ""
        return {name for name, _ in parse_qsl(query, keep_blank_values=True)}


def parse_js(block: str) -> JsRequest:
    code = _strip_comments(block)
    calls = [(match.start(), match.group(1)) for match in re.finditer(r"\b(wx\.request|wx\.uploadFile|fetch)\(", code)]
    assert len(calls) == 1, f"a js example holds one wx.request, wx.uploadFile or fetch call, not {len(calls)}"
    start, client = calls[0]
    opening = code.index("(", start)
    arguments = _split_top(code[opening + 1 : _closing(code, opening)], ",")
    if client == "wx.uploadFile":
        assert len(arguments) == 1, "wx.uploadFile takes one object"
        options = _properties(arguments[0])
        assert "filePath" in options, "wx.uploadFile names the file it sends"
        url, headers = options.get("url"), options.get("header")
        assert url is not None, "a js example names its url"
        extra = options.get("formData")
        file_field = _unquote(options["name"])
        form_names = {file_field} | (set() if extra is None else set(_properties(extra)))
        header_names = set() if headers is None else {name.lower() for name in _properties(headers)}
        return JsRequest(client, "POST", _js_url(url), header_names, None, "success" in options, form_names, file_field)
    if client == "wx.request":
        assert len(arguments) == 1, "wx.request takes one object"
        options = _properties(arguments[0])
        url, headers, data = options.get("url"), options.get("header"), options.get("data")
        data_names = None if data is None else set(_properties(data))
    else:
        assert len(arguments) == 2, "fetch(url, options)"
        url, options = arguments[0], _properties(arguments[1])
        headers, body = options.get("headers"), options.get("body")
        data_names = None if body is None else set(_stringified(body, code))
    assert url is not None, "a js example names its url"
    method = _unquote(options.get("method", '"GET"'))
    header_names = set() if headers is None else {name.lower() for name in _properties(headers)}
    return JsRequest(client, method, _js_url(url), header_names, data_names, "success" in options)


# ---------------------------------------------------------------------------------------------- the world


class GuideWechat(FakeWechat):
    """WeChat's code2session as the guides meet it: any code from wx.login() works once, then is used."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, Any]:
        code = query.get("js_code", "")
        if path != "/sns/jscode2session" or ":" in code:
            return super().answer(path, query)
        with self._lock:
            used = code in self._seen
            self._seen.add(code)
        if used:
            return super().answer(path, {**query, "js_code": "used"})
        return super().answer(path, {**query, "js_code": f"ok:o{hashlib.sha256(code.encode()).hexdigest()[:27]}"})


@pytest.fixture
def guide_wechat() -> Iterator[GuideWechat]:
    server = GuideWechat()
    with server:
        yield server


@pytest.fixture
async def api(make_api: Callable[..., Awaitable[Api]], guide_wechat: GuideWechat) -> Api:
    """The app with its background tasks off: the world seals receipts and rolls up boards itself, and
    webhook deliveries stay pending for the guide to list."""
    return await make_api(
        wechat_api_base=guide_wechat.url,
        leaderboard_rollup=False,
        receipt_sealer=False,
        fraud_scan=False,
        credit_expiry=False,
        webhook_dispatch=False,
    )


def _days_ago(days: int, hour: int) -> datetime:
    day = datetime.now(SHANGHAI).date() - timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


async def _ride(client: httpx.AsyncClient, tokens: Tokens, hour: int) -> int:
    """A 10 km metro ride with its stations' codes, 468 g, yesterday at `hour`: away from the guides' times
    (which fall yesterday or today), and within the two days a code may still be sent after it was shown."""
    recorded = await record_ok(
        client, tokens, behaviour_body("metro_ride", "10", _days_ago(1, hour), evidence=SITE_CODES)
    )
    behaviour_id: int = recorded["id"]
    return behaviour_id


@dataclass
class World:
    api: Api
    variables: dict[str, str] = field(default_factory=dict)
    partner_secret: str | None = None


async def build_world(
    guide: str,
    api: Api,
    sign_in_resident: Callable[[str], Awaitable[Tokens]],
    sign_in_staff: Callable[..., Awaitable[Tokens]],
) -> World:
    """What a guide's examples are given: a signed-in resident with credits, a reward, a certificate…"""
    client, world = api.client, World(api, {"API": str(api.client.base_url).rstrip("/")})
    given = GIVEN[guide]
    reader = await sign_in_resident("guide-reader")
    if "TOKEN" in given:
        world.variables["TOKEN"] = reader["access_token"]
        rides = [await _ride(client, reader, hour) for hour in (9, 12, 20)]
        world.variables["BEHAVIOUR_ID"] = str(rides[0])
    if guide == "leaderboards.md":
        neighbour = await sign_in_resident("guide-neighbour")
        for hour in (8, 10, 14, 16):
            await _ride(client, neighbour, hour)
        while (await rollup.run_once(api.db, refresh_sizes=True)).behind:
            pass
    if "REWARD_ID" in given or "CERTIFICATE" in given:
        enterprise = await sign_in_staff(Role.enterprise, username="guide-cafe")
        picture = await client.post(
            "/v1/enterprise/reward-images",
            files={"file": ("coffee.jpg", jpeg_with_gps(), "image/jpeg")},
            headers=bearer(enterprise),
        )
        assert picture.status_code == 201, picture.text
        reward = await publish(client, enterprise, image_url=None, image_id=picture.json()["image_id"])
        world.variables["REWARD_ID"] = str(reward["id"])
        if "CERTIFICATE" in given:
            buyer = await sign_in_resident("guide-buyer")
            await _ride(client, buyer, 9)
            voucher = (await redeem_ok(client, buyer, reward["id"]))["voucher"]
            assert (await accept(client, enterprise, voucher["code"])).status_code == 200
            retired = await retire(client, enterprise, reward["price_g"], "2026 海河低碳周碳中和")
            assert retired.status_code == 201, retired.text
            world.variables["CERTIFICATE"] = retired.json()["number"]
    if "ENTERPRISE_TOKEN" in given:
        enterprise = await sign_in_staff(Role.enterprise, username="guide-counter")
        reward = await publish(client, enterprise, price_g=400)
        buyer = await sign_in_resident("guide-customer")
        await _ride(client, buyer, 9)
        world.variables["ENTERPRISE_TOKEN"] = enterprise["access_token"]
        world.variables["VOUCHER_CODE"] = (await redeem_ok(client, buyer, reward["id"]))["voucher"]["code"]
    if "BEHAVIOUR_ID" in given:
        await _sealed(api, reader, f"/v1/me/behaviours/{world.variables['BEHAVIOUR_ID']}/receipt")
    if guide in PARTNER_WORLDS:
        metro = await _partners(client, await sign_in_staff(Role.admin_super))
        world.variables["KEY_ID"] = metro.key_id
        world.partner_secret = metro.secret
        world.variables["TIMESTAMP"] = str(int(time.time()))
        world.variables["PARTNER_CODE"] = "haihe-bikes"
        if "LINK_CODE" in given:
            world.variables["LINK_CODE"] = await link_code(client, reader, metro.code)
        if "PSEUDONYM" in given:
            world.variables["PSEUDONYM"] = await metro.link(reader)
        if guide == "linking.md":
            await metro.link(reader)
            (link,) = (await client.get("/v1/me/links", headers=bearer(reader))).json()["items"]
            await _sealed(api, reader, f"/v1/me/links/{link['id']}/receipts/granted")
    if "ADMIN_TOKEN" in given:
        world.variables["ADMIN_TOKEN"] = (await sign_in_staff(Role.admin_operator))["access_token"]
    assert set(world.variables) - {"API"} >= given, f"{guide}: the world lacks {given - set(world.variables)}"
    world.variables = {name: value for name, value in world.variables.items() if name in given | {"API"}}
    return world


async def _partners(client: httpx.AsyncClient, admin: Tokens) -> PartnerClient:
    """Register the guides' two partners, as a super administrator does; answers 津南地铁卡, with a key."""
    ids: dict[str, int] = {}
    for code, name, kind in (
        ("jinnan-metro-card", "津南地铁卡", "transit_card"),
        ("haihe-bikes", "海河单车", "bike_share"),
    ):
        created = await client.post(
            "/v1/admin/partners", json={"code": code, "name": name, "kind": kind}, headers=bearer(admin)
        )
        assert created.status_code == 201, created.text
        ids[code] = created.json()["id"]
    issued = await client.post(f"/v1/admin/partners/{ids['jinnan-metro-card']}/keys", headers=bearer(admin))
    assert issued.status_code == 201, issued.text
    key = issued.json()
    return PartnerClient(client, ids["jinnan-metro-card"], "jinnan-metro-card", key["key_id"], key["secret"])


async def _sealed(api: Api, tokens: Tokens, receipt: str) -> None:
    """Seal until the receipt at `receipt` is ready, as the background sealer would within a second."""
    for _ in range(100):
        await seal_once(api.db, api.app.state.checkpoint_signer)
        response = await api.client.get(receipt, headers=bearer(tokens))
        if response.status_code == 200:
            return
    raise AssertionError(f"{receipt} was never sealed: {response.text}")


def capture(request: Curl, body: Any, variables: dict[str, str]) -> None:
    """Keep what later examples refer to, from a successful reply."""
    if not isinstance(body, dict):
        return
    path = request.path
    if "access_token" in body:
        if body.get("role") == "resident":
            variables["TOKEN"] = body["access_token"]
        if path == "/v1/auth/refresh" and request.body is not None:
            variables["OLD_REFRESH_TOKEN"] = json.loads(request.body)["refresh_token"]
        variables["REFRESH_TOKEN"] = body["refresh_token"]
    if request.method == "POST" and path == "/v1/behaviours":
        variables["BEHAVIOUR_ID"] = str(body["id"])
    if request.method == "POST" and path == "/v1/me/photos":
        variables["PHOTO_ID"] = str(body["photo_id"])
    if request.method == "POST" and path == "/v1/admin/sites":
        variables["SITE_ID"] = str(body["site"]["id"])
    if path.endswith("/redeem"):
        variables["VOUCHER_ID"] = str(body["voucher"]["id"])
    if "inclusion_proof" in body and "entry" in body:
        variables["ENTRY_ID"] = str(body["entry"]["id"])
        variables["TREE_SIZE"] = str(body["checkpoint"]["tree_size"])
    if path == "/v1/transparency/checkpoint":
        variables["LATEST_TREE_SIZE"] = str(body["tree_size"])
    if request.method == "POST" and path in ("/v1/partner/webhooks", "/v1/enterprise/webhooks"):
        variables["WEBHOOK_ID"] = str(body["id"])
    if path.endswith("/deliveries") and body.get("items"):
        variables["DELIVERY_ID"] = str(body["items"][0]["id"])
    if body.get("next_cursor"):
        variables["CURSOR"] = body["next_cursor"]
    if re.fullmatch(r"/v1/partners/[^/]+/consent", path):
        variables["TEXT_SHA256"] = body["text_sha256"]
    if request.method == "POST" and path == "/v1/me/links":
        variables["LINK_CODE"] = body["code"]
    if request.method == "GET" and path == "/v1/me/links":
        active = [link for link in body["items"] if link["status"] == "active"]
        if active:
            variables["LINK_ID"] = active[0]["id"]
    if request.method == "POST" and path == "/v1/partner/links":
        variables["LINK_ID"] = body["link_id"]
        variables["PSEUDONYM"] = body["pseudonym"]
    if path == "/v1/rewards" and body.get("items"):
        variables["REWARD_ID"] = str(body["items"][0]["id"])
    for reward in [*body.get("items", []), body] if path.startswith("/v1/rewards") else []:
        if isinstance(reward, dict) and reward.get("image_id"):
            variables["REWARD_IMAGE_ID"] = reward["image_id"]
            break
    if "board" in body and "entries" in body:
        others = [entry for entry in body["entries"] if not entry["is_me"]]
        if others:
            variables["HANDLE"] = others[0]["handle"]


def shift_times(commands: list[str]) -> Callable[[str], str]:
    """Move every example timestamp by one whole number of days, so that the latest is just past."""
    moments = [datetime.fromisoformat(text) for command in commands for text in _ISO_TIME.findall(command)]
    if not moments:
        return lambda command: command
    target = datetime.now(UTC) - timedelta(minutes=15)
    days = math.floor((target - max(moments)) / timedelta(days=1))

    def moved(match: re.Match[str]) -> str:
        moment = datetime.fromisoformat(match.group(0)) + timedelta(days=days)
        return moment.isoformat().replace("+00:00", "Z") if match.group(0).endswith("Z") else moment.isoformat()

    return lambda command: _ISO_TIME.sub(moved, command)


def site_codes(body: Any, where: str) -> dict[str, str]:
    """What $START_CODE, $END_CODE and $METRO_CODE stand for in a report's body: the codes the test sites
    showed at the body's own (shifted) times, the start and end sites picked by its `type`."""
    assert isinstance(body, dict), f"{where}: a site code goes in a report's body"
    assert "occurred_at" in body, f"{where}: a site code is signed for the report's occurred_at"
    occurred_at = datetime.fromisoformat(body["occurred_at"])
    codes = {"METRO_CODE": METRO_A.code_at(occurred_at)}
    route = ROUTES.get(body.get("type", ""), ())
    if route:
        codes["START_CODE"] = route[0].code_at(occurred_at)
    if len(route) == 2 and body.get("ended_at"):
        codes["END_CODE"] = route[1].code_at(datetime.fromisoformat(body["ended_at"]))
    return codes


def with_site_codes(request: Curl, where: str) -> Curl:
    """The request with each site-code slot of its body replaced by the code it stands for."""
    slots = {name: slot for name, slot in _CODE_SLOTS.items() if request.body and slot in request.body}
    elsewhere = [request.url, *(value for _, value in request.headers), *(part.value for part in request.form)]
    assert not any(slot in text for slot in _CODE_SLOTS.values() for text in elsewhere), (
        f"{where}: a site code goes in the JSON body"
    )
    if not slots:
        return request
    assert request.body is not None
    codes = site_codes(json.loads(request.body, strict=False), where)
    body = request.body
    for name, slot in slots.items():
        assert name in codes, f"{where}: no ${name} for this body (its type, or its ended_at)"
        body = body.replace(slot, codes[name])
    return replace(request, body=body)


async def run_example(example: Example, world: World, shifted: Callable[[str], str]) -> None:
    variables = world.variables

    def lookup(name: str) -> str:
        assert name in VARIABLES, f"{example.where()}: ${name} is not one of the guides' variables"
        if name == "SIGNATURE":
            return _SIGNATURE_SLOT
        if name in _CODE_SLOTS:
            return _CODE_SLOTS[name]
        assert name in variables, f"{example.where()}: ${name} is used before any step gives it"
        return variables[name]

    request = with_site_codes(parse_curl(shell_words(shifted(example.command), lookup)), example.where())
    body = None if request.body is None else request.body.encode()
    headers = list(request.headers)
    if any(_SIGNATURE_SLOT in value for _, value in headers):
        assert world.partner_secret is not None, f"{example.where()}: a signature needs a partner key"
        stamp = request.header(signing.TIMESTAMP_HEADER)
        assert stamp is not None, f"{example.where()}: a signed request carries {signing.TIMESTAMP_HEADER}"
        computed = signing.signature(world.partner_secret, request.method, request.path_and_query, stamp, body or b"")
        headers = [(name, value.replace(_SIGNATURE_SLOT, computed)) for name, value in headers]
    if request.form:
        files = [
            (part.name, (part.value, FILES[part.value], part.content_type)) for part in request.form if part.is_file
        ]
        fields = {part.name: part.value for part in request.form if not part.is_file}
        response = await world.api.client.request(
            request.method, request.url, headers=headers, files=files, data=fields or None
        )
    else:
        response = await world.api.client.request(request.method, request.url, headers=headers, content=body)
    told = f"{example.where()}: {request.method} {request.path_and_query} answered {response.status_code} {response.text[:600]}"
    if example.status is None:
        assert 200 <= response.status_code < 300, told
    else:
        assert response.status_code == example.status, told
    if example.code is not None:
        assert response.headers["content-type"].startswith(_PROBLEM_JSON), told
        problem = response.json()
        assert (problem["code"], problem["status"]) == (example.code, example.status), told
    elif response.content and response.headers["content-type"].startswith("application/json"):
        reply = response.json()
        if request.path == "/v1/partner/behaviours":
            assert reply["rejected"] == 0, f"{told}: a batch in a guide is taken whole"
        capture(request, reply, variables)


# ---------------------------------------------------------------------------------------------- error codes


def _import_every_service_module() -> None:
    for module in pkgutil.walk_packages(service.__path__, "service."):
        importlib.import_module(module.name)


def error_codes() -> dict[str, tuple[int, str, str]]:
    """Every code the service can send: code → (status, zh-CN title, en title)."""
    _import_every_service_module()
    codes: dict[str, tuple[int, str, str]] = {}
    for cls in every_error_class():
        entry = (cls.status, cls.title_zh, cls.title_en)
        assert codes.setdefault(cls.code, entry) == entry, f"{cls.code} means two things: {codes[cls.code]}, {entry}"
    return codes


def batch_reasons() -> set[str]:
    """The per-record reasons of a partner batch that are not error codes (ALREADY_RECEIVED, …)."""
    return set(re.findall(r'reason="([A-Z][A-Z0-9_]+)"', inspect.getsource(batches)))


# ---------------------------------------------------------------------------------------------- tests


def test_every_guide_exists_in_both_languages_and_the_readme_indexes_them() -> None:
    for language in LANGUAGES:
        assert sorted(p.name for p in (DOCS / language).glob("*.md")) == sorted(GUIDES), language
    readme = read(DOCS / "README.md")
    zh_links = [readme.find(f"(zh-CN/{name})") for name in GUIDES]
    en_links = [readme.find(f"(en/{name})") for name in GUIDES]
    assert min(zh_links) >= 0, "the README links every zh-CN guide"
    assert min(en_links) >= 0, "the README links every en guide"
    assert max(zh_links) < min(en_links), "the zh-CN section comes first"
    assert "(openapi.json)" in readme, "the README links the OpenAPI document"
    assert "`/docs`" in readme, "the README names the Swagger UI"
    for name in sorted(VARIABLES):
        assert f"`${name}`" in readme, f"the README explains ${name}"


def test_relative_links_in_the_guides_lead_somewhere() -> None:
    for path in [DOCS / "README.md", *(guide_path(lang, name) for lang in LANGUAGES for name in GUIDES)]:
        for target in re.findall(r"\]\(([^)\s]+)\)", prose(read(path))):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue
            assert (path.parent / target.split("#")[0]).exists(), f"{path.name}: broken link {target}"


@pytest.mark.parametrize("name", GUIDES)
def test_zh_and_en_guides_have_the_same_sections_and_examples(name: str) -> None:
    zh, en = read(guide_path("zh-CN", name)), read(guide_path("en", name))
    assert [h.split(" ")[0] for h in headings(zh)] == [h.split(" ")[0] for h in headings(en)]
    zh_fences, en_fences = fences(zh), fences(en)
    assert [f.info for f in zh_fences] == [f.info for f in en_fences]
    for zh_fence, en_fence in zip(zh_fences, en_fences, strict=True):
        if zh_fence.info in ("bash", "json", "text", "sh"):
            assert zh_fence.text == en_fence.text, f"line {zh_fence.line} (zh) and {en_fence.line} (en) differ"
    assert [e.shape() for e in examples("zh-CN", name)] == [e.shape() for e in examples("en", name)]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", GUIDES)
def test_each_curl_example_is_followed_by_the_same_request_in_js(language: str, name: str) -> None:
    found = examples(language, name)
    assert found, f"{language}/{name} shows its requests"
    for example in found:
        curl = example.shape()
        js = parse_js(example.js)
        where = example.where()
        assert curl.url.startswith("{API}/"), f"{where}: the URL starts with $API"
        if name in SERVER_GUIDES:
            assert js.client == "fetch", f"{where}: a partner signs on its server, with fetch"
        elif js.client == "wx.request":
            assert js.method in WX_METHODS, f"{where}: wx.request cannot send {js.method}"
            assert js.has_success, f"{where}: a wx.request example handles the reply in success(res)"
        elif js.client == "wx.uploadFile":
            assert curl.form, f"{where}: wx.uploadFile sends a form, as curl -F does"
            assert js.has_success, f"{where}: a wx.uploadFile example handles the reply in success(res)"
        else:
            assert curl.method not in WX_METHODS, f"{where}: the mini-program sends {curl.method} with wx.request"
        assert js.method == curl.method, f"{where}: {js.method} in js, {curl.method} in curl"
        path = re.sub(r"\{(?!API\})[A-Z_]+\}", "{}", curl.path)
        assert js.path == path, f"{where}: {js.path} in js, {curl.path} in curl"
        in_query = js.query_names | ((js.data_names or set()) if js.method == "GET" else set())
        assert in_query == curl.query_names, f"{where}: query {sorted(in_query)} in js, {sorted(curl.query_names)}"
        headers = {name.lower() for name, _ in curl.headers} - {"content-type"}
        assert js.header_names - {"content-type"} == headers, f"{where}: headers {sorted(js.header_names)}"
        if curl.form:
            names = {part.name for part in curl.form}
            assert js.form_names == names, f"{where}: form fields {js.form_names} in js, {sorted(names)} in curl"
            files = [part for part in curl.form if part.is_file]
            assert len(files) == 1, f"{where}: wx.uploadFile sends one file"
            assert js.file_field == files[0].name, (
                f"{where}: the file is {js.file_field} in js, {files[0].name} in curl"
            )
        elif curl.body is None:
            assert js.form_names is None, f"{where}: js sends a form curl does not"
            assert js.method == "GET" or js.data_names is None, f"{where}: js sends a body curl does not"
        else:
            assert curl.header("Content-Type") == "application/json", f"{where}: send the JSON as JSON"
            assert set(json.loads(curl.body)) == js.data_names, f"{where}: body fields differ: {js.data_names}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_error_table_lists_every_code_the_service_can_send(language: str) -> None:
    codes = error_codes()
    rows: dict[str, tuple[int, str, str]] = {}
    for row in table_rows(read(guide_path(language, "errors.md"))):
        listed = re.fullmatch(r"`([A-Z][A-Z0-9_]*)`", row[0])
        if listed is not None and len(row) >= 5:
            assert listed.group(1) not in rows, f"{listed.group(1)} is listed twice"
            rows[listed.group(1)] = (int(row[1]), row[2], row[3])
    assert set(rows) == set(codes), (
        f"missing {sorted(set(codes) - set(rows))}, unknown {sorted(set(rows) - set(codes))}"
    )
    for code, (status, title_zh, title_en) in codes.items():
        assert rows[code] == (status, title_zh, title_en), f"{code}: {rows[code]} in the table"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", GUIDES)
def test_every_code_a_guide_names_is_one_the_service_sends(language: str, name: str) -> None:
    known = set(error_codes()) | batch_reasons()
    for code in _CODE_IN_TEXT.findall(prose(read(guide_path(language, name)))):
        assert code in known or code.startswith("TANPUHUI_"), f"{language}/{name} names `{code}`"


def _worked_example(markdown: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for row in table_rows(markdown):
        name = re.search(r"`([a-z_0-9]+)`", row[0])
        value = re.fullmatch(r"`([^`]*)`", row[-1])
        if name is not None and value is not None and len(row) >= 2:
            values[name.group(1)] = value.group(1)
    return values


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_worked_partner_signature_is_what_the_service_computes(language: str) -> None:
    markdown = read(guide_path(language, "partner-signing.md"))
    shown = _worked_example(markdown)
    body = shown["body"].encode()
    expected = signing.signature(shown["secret"], shown["method"], shown["path_and_query"], shown["timestamp"], body)
    to_sign = signing.string_to_sign(shown["method"], shown["path_and_query"], shown["timestamp"], body)
    assert shown["body_sha256"] == to_sign.decode().split("\n")[3]
    assert next(f.text for f in fences(markdown) if f.info == "text").encode() == to_sign
    assert shown["signature"] == expected


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_worked_webhook_signature_is_what_the_service_computes_and_the_python_check_accepts(
    language: str,
) -> None:
    markdown = read(guide_path(language, "webhooks.md"))
    shown = _worked_example(markdown)
    timestamp = int(shown["webhook_timestamp"])
    computed = webhook_signing.signature(
        shown["secret"], message_id=shown["webhook_id"], timestamp=timestamp, body=shown["body"]
    )
    assert shown["webhook_signature"] == computed
    (python,) = [f.text for f in fences(markdown) if f.info == "python"]
    namespace: dict[str, Any] = {}
    exec(compile(python, f"{language}/webhooks.md", "exec"), namespace)  # noqa: S102  (the guide's own code)
    verify = namespace["verify_webhook"]
    headers = {
        "Webhook-Id": shown["webhook_id"],
        "Webhook-Timestamp": shown["webhook_timestamp"],
        "Webhook-Signature": shown["webhook_signature"],
    }
    body = shown["body"].encode()
    assert verify(shown["secret"], headers, body, now=timestamp + 60)
    assert not verify(shown["secret"], headers, body)  # years later: a replay
    assert not verify(shown["secret"], headers, body.replace(b"5120", b"5121"), now=timestamp)
    assert not verify(webhook_signing.new_secret(), headers, body, now=timestamp)
    rotated = webhook_signing.new_secret()
    now = int(time.time())
    sent = webhook_signing.headers([rotated, shown["secret"]], message_id="msg_1", timestamp=now, body="{}")
    assert verify(shown["secret"], sent, b"{}")
    assert verify(rotated, sent, b"{}")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_receipt_test_vector_checks_out_and_a_changed_one_does_not(language: str) -> None:
    markdown = read(guide_path(language, "receipts.md"))
    (receipt,) = [json.loads(f.text) for f in fences(markdown) if f.info == "json" and '"inclusion_proof"' in f.text]
    key = base64.b64decode(receipt["public_key"])
    receipt_verifier.verify_receipt(receipt, key)
    assert receipt_verifier.leaf_line(receipt["entry"]).decode() in [f.text for f in fences(markdown)]
    forged = copy.deepcopy(receipt)
    forged["entry"]["amount_g"] += 1
    with pytest.raises(receipt_verifier.ReceiptInvalid):
        receipt_verifier.verify_receipt(forged, key)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_consent_receipt_shown_checks_out_and_a_backdated_one_does_not(language: str) -> None:
    markdown = read(guide_path(language, "linking.md"))
    (receipt,) = [json.loads(f.text) for f in fences(markdown) if f.info == "json" and '"inclusion_proof"' in f.text]
    key = base64.b64decode(receipt["public_key"])
    receipt_verifier.verify_receipt(receipt, key)
    assert receipt_verifier.consent_leaf_line(receipt["consent"]).decode() in [f.text for f in fences(markdown)]
    backdated = copy.deepcopy(receipt)
    backdated["consent"]["occurred_at"] = "2026-01-01T00:00:00.000000Z"
    with pytest.raises(receipt_verifier.ReceiptInvalid):
        receipt_verifier.verify_receipt(backdated, key)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", GUIDES)
async def test_the_examples_run_in_order_against_the_app(
    language: str,
    name: str,
    api: Api,
    sign_in_resident: Callable[[str], Awaitable[Tokens]],
    sign_in_staff: Callable[..., Awaitable[Tokens]],
) -> None:
    world = await build_world(name, api, sign_in_resident, sign_in_staff)
    found = examples(language, name)
    shifted = shift_times([example.command for example in found])
    for example in found:
        await run_example(example, world, shifted)
