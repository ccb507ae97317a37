"""HTTP ingest: ``POST /api/v1/events/<source>`` for upstream systems that cannot XADD themselves.

The body is a JSON array of envelopes (``id``, ``type``, ``occurred_at`` and ``data`` as a JSON
object). Each item is validated with the same :func:`streams.schema.parse_entry` the consumer uses;
valid ones are XADDed to ``wf:in:<source>`` in one MULTI/EXEC (all or none, so a failed request can
simply be retried: the ids make a repeat a no-op), invalid ones come back with their field-level
reason and are written nowhere. The route never writes state itself: the consumer validates again
and applies idempotently, so HTTP and XADD producers behave the same.

Every answer is JSON, with ``<``, ``>`` and ``&`` escaped as ``\\u003c`` … so that upstream text
echoed back (ids, types in reasons) can never be sniffed as markup. See docs/ingest.md.
"""

from __future__ import annotations

import hmac
from typing import Any

import orjson
import redis
from flask import Blueprint, Response, request

from core import keys
from core.settings import Settings
from streams.schema import SOURCES, InvalidEvent, parse_entry

PREFIX = "/api/v1/events"
READ_CHUNK = 64 * 1024
#: Envelope fields that must be JSON strings (``data`` must be an object).
TEXT_FIELDS = ("id", "type", "occurred_at")
JSON_KINDS = {
    dict: "object",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}
_ESCAPES = ((b"&", b"\\u0026"), (b"<", b"\\u003c"), (b">", b"\\u003e"))


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response whose markup characters are \\u-escaped (same JSON, never sniffable as HTML)."""
    raw = orjson.dumps(body)
    # Outside strings JSON never contains these characters, so a byte replace only touches strings.
    for char, escaped in _ESCAPES:
        raw = raw.replace(char, escaped)
    resp = Response(raw, status=status, mimetype="application/json", headers=headers)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cache-Control"] = "no-store"
    return resp


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """``{"error": message}`` with ``status``."""
    return json_response({"error": message}, status, headers)


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None when missing or malformed."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or any(c.isspace() for c in token):
        return None
    return token


def to_fields(item: dict[str, Any]) -> dict[str, str]:
    """The stream entry of one envelope: ``data`` serialised to a JSON string, the rest as given.

    Raises :class:`InvalidEvent` when an envelope field has the wrong JSON type; unknown or missing
    fields are left for :func:`parse_entry` to name, so HTTP and stream reasons read the same.
    """
    for name in TEXT_FIELDS:
        if name in item and not isinstance(item[name], str):
            raise InvalidEvent(f"{name}: must be a JSON string")
    if "data" in item and not isinstance(item["data"], dict):
        raise InvalidEvent("data: must be a JSON object")
    fields: dict[str, str] = {}
    for name, value in item.items():
        fields[name] = value if isinstance(value, str) else orjson.dumps(value).decode()
    return fields


def read_body(limit: int) -> bytes | None:
    """The request body, or None when it is longer than ``limit`` bytes (checked while reading)."""
    stream = request.stream
    chunks, size = [], 0
    while True:
        chunk = stream.read(min(READ_CHUNK, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)


def check_items(source: str, items: list[Any]) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Validate every item: (a result per item, the stream entries of the accepted ones)."""
    results: list[dict[str, Any]] = []
    accepted: list[dict[str, str]] = []
    for index, item in enumerate(items):
        event_id = item.get("id") if isinstance(item, dict) else None
        try:
            if not isinstance(item, dict):
                raise InvalidEvent("item: must be a JSON object")
            fields = to_fields(item)
            parse_entry(source, fields)
        except InvalidEvent as exc:
            results.append({"index": index, "id": event_id, "status": "rejected", "reason": exc.reason})
            continue
        accepted.append(fields)
        results.append({"index": index, "id": event_id, "status": "accepted"})
    return results, accepted


def blueprint(settings: Settings, r: redis.Redis) -> Blueprint:
    """Build the ingest blueprint; ``settings.ingest`` holds the tokens and the size limits."""
    bp = Blueprint("ingest", __name__)
    limits = settings.ingest

    def authorise(source: str) -> Response | None:
        """None when the request may post to ``source``, else the error response."""
        if source not in SOURCES:
            return error(404, f"source: unknown source {source!r} (known: {', '.join(SOURCES)})")
        expected = getattr(limits.tokens, source, "")
        if not expected:
            return error(403, f"source: {source!r} is closed (no ingest token configured)")
        token = bearer_token(request.headers.get("Authorization"))
        if token is None:
            return error(
                401,
                f"authorization: send 'Authorization: Bearer TOKEN' with the token of source {source!r}",
                {"WWW-Authenticate": 'Bearer realm="watchfloor-ingest"'},
            )
        # bytes: compare_digest refuses non-ASCII str, and a header may hold anything
        if not hmac.compare_digest(token.encode("utf-8", "surrogateescape"), expected.encode("utf-8")):
            return error(403, f"authorization: token not valid for source {source!r}")
        return None

    @bp.post(f"{PREFIX}/<source>")
    def post_events(source: str) -> Response:
        refused = authorise(source)
        if refused is not None:
            return refused
        too_big = f"body: larger than {limits.max_body_bytes} bytes (ingest.max_body_bytes)"
        length = request.content_length
        if length is not None and length > limits.max_body_bytes:
            return error(413, too_big)  # before reading a byte of it
        body = read_body(limits.max_body_bytes)
        if body is None:
            return error(413, too_big)
        try:
            items = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            return error(400, f"body: not valid JSON ({exc})")
        if not isinstance(items, list):
            return error(400, f"body: must be a JSON array of events, not a JSON {JSON_KINDS[type(items)]}")
        if len(items) > limits.max_events:
            return error(
                413, f"body: {len(items)} events; at most {limits.max_events} per request (ingest.max_events)"
            )
        results, accepted = check_items(source, items)
        if accepted:
            pipe = r.pipeline(transaction=True)
            stream = keys.inbound(source)
            for fields in accepted:
                pipe.xadd(stream, fields)
            try:
                pipe.execute()
            except redis.exceptions.RedisError:
                # MULTI/EXEC: all or nothing; a retry of the whole request is safe (the ids dedupe it).
                return error(503, "redis: unavailable; retry the whole request later", {"Retry-After": "5"})
        return json_response(
            {"accepted": len(accepted), "rejected": len(results) - len(accepted), "results": results}
        )

    @bp.route(f"{PREFIX}/<source>", methods=["GET", "PUT", "PATCH", "DELETE"])
    def wrong_method(source: str) -> Response:
        # Flask's own 405 page is HTML; this API answers JSON only.
        return error(405, f"method: {request.method} not allowed; POST a JSON array", {"Allow": "POST"})

    @bp.route(PREFIX, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    @bp.route(f"{PREFIX}/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def not_found(rest: str = "") -> Response:
        return error(404, f"path: no such endpoint; POST to {PREFIX}/<source> (known: {', '.join(SOURCES)})")

    return bp
