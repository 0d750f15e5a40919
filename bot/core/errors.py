"""Errors whose message is meant for the person who caused them.

The central app-command error handler shows these as a short ephemeral reply;
anything else is an unexpected error and is logged.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input or a refused action; `str(error)` says what to fix."""


class TopicNotFound(UserError):
    def __init__(self, wanted: str | None = None) -> None:
        if wanted:
            super().__init__(
                f"There is no agenda item called “{wanted}”. Pick one from the list as you type, "
                "or see /agenda list."
            )
        else:
            super().__init__(
                "This channel is not part of the consultation: use the command in an agenda "
                "item's channel or thread, or name the topic."
            )


class TopicLocked(UserError):
    def __init__(self, title: str, reason: str | None = None) -> None:
        why = f" ({reason})" if reason else ""
        super().__init__(f"“{title}” is locked{why}: it no longer takes quotes or citations.")


class NotPermitted(UserError):
    """The user lacks a role or permission; the message names it."""


class BadInput(UserError):
    pass
