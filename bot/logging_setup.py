"""Logging for the CLI, with a filter that keeps secrets and participants' words out of it.

Always redacted, at every level: the bot token (given, and anything shaped like one),
interaction tokens (in payloads, and in the webhook and callback URLs discord.py logs at
DEBUG: `/webhooks/{id}/{token}`, `/interactions/{id}/{token}/callback`). An interaction
token is a webhook credential, valid for 15 minutes.

Message content (and the other text participants type: embed text, option and modal
values) is hidden unless `LOG_CONTENT=1`: discord.py's DEBUG logs carry every gateway
payload and every REST body.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"
HIDDEN = "[content hidden]"  # LOG_CONTENT=1 shows it

# Discord bot tokens: three base64url parts separated by dots.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}")
# Interaction tokens start with base64("interaction:").
_INTERACTION_TOKEN = re.compile(r"aW50ZXJhY3Rpb246[A-Za-z0-9_.\-=+/]*")
# The token in webhook / interaction URLs.
_URL_TOKEN = re.compile(r"(/(?:webhooks|interactions)/\d+/)([^/\s?'\"]+)")
# A quoted string, in JSON or in a Python repr: '…' or "…" with backslash escapes.
_STR = r"""(?:'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*")"""


def _keyed(keys: str) -> re.Pattern[str]:
    return re.compile(rf"""(?P<key>(?P<q>['"])(?:{keys})(?P=q)\s*:\s*){_STR}""")


_TOKEN_FIELD = _keyed("token")
# What participants type: messages, embeds (/quote, /cite posts), option and modal values.
_CONTENT_FIELDS = _keyed("content|description|value|text|title")


class RedactSecrets(logging.Filter):
    """Replace secrets with [redacted] and, without `log_content`, participants' text."""

    def __init__(self, secrets: list[str], *, log_content: bool = False) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]
        self.log_content = log_content

    def clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        text = _TOKEN_SHAPE.sub(REDACTED, text)
        text = _URL_TOKEN.sub(rf"\1{REDACTED}", text)
        text = _TOKEN_FIELD.sub(rf"\g<key>'{REDACTED}'", text)
        text = _INTERACTION_TOKEN.sub(REDACTED, text)
        if not self.log_content:
            text = _CONTENT_FIELDS.sub(rf"\g<key>'{HIDDEN}'", text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.clean(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.clean(record.exc_text)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def configure_logging(level: str, secrets: list[str] | None = None, *,
                      log_content: bool = False) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")
    )
    handler.addFilter(RedactSecrets(secrets or [], log_content=log_content))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiosqlite's DEBUG lines carry every SQL parameter (comment text included), as tuples
    # no pattern can take apart: they are shown only with LOG_CONTENT=1.
    logging.getLogger("aiosqlite").setLevel(logging.DEBUG if log_content else logging.INFO)
