"""Checks on short text people type: names, titles, numbers.

Pure functions; each problem check returns a message saying what to fix, or None.
"""

from __future__ import annotations

import unicodedata

__all__ = [
    "BIDI_CONTROLS",
    "INVISIBLE",
    "ascii_int",
    "display_text_problem",
]

#: Characters that reorder the text around them (an override can make "gnp.exe" read "exe.png").
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)

#: Characters that show nothing: zero-width spaces and joiners, soft hyphen, fillers.
INVISIBLE = frozenset(
    "\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180e\u180f"
    "\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u3164\uffa0"
)


def ascii_int(text: str) -> int | None:
    """The number written with ASCII digits 0-9 only, or None.

    ``str.isdigit()`` is true for "²", "①" and "¹²" (which ``int()`` refuses) and for "４"
    and "٣" (which ``int()`` silently reads as 4 and 3); neither is an id someone typed.
    """
    if text and text.isascii() and text.isdigit():
        return int(text)
    return None


def _visible(ch: str) -> bool:
    if ch.isspace() or ch in INVISIBLE or ch in BIDI_CONTROLS:
        return False
    return unicodedata.category(ch) not in ("Cc", "Cf", "Cn", "Co", "Cs", "Zl", "Zp", "Mn", "Me")


def display_text_problem(text: str, what: str) -> str | None:
    """Why ``text`` cannot be shown as a one-line name or title, or None.

    Refused: blank text, text of only invisible characters (zero-width spaces, joiners,
    soft hyphens, fillers), control characters (line breaks, tabs…), and the bidi controls
    that reorder what is shown.
    """
    if not any(_visible(ch) for ch in text):
        return (f"The {what} is blank or made only of invisible characters; "
                "type some letters or digits.")
    for ch in text:
        if ch in BIDI_CONTROLS:
            return (f"The {what} contains a text-direction control (U+{ord(ch):04X}) that "
                    "reorders how it is shown; remove it.")
        cat = unicodedata.category(ch)
        if cat == "Cc" or cat in ("Zl", "Zp"):
            kind = "a line break" if ch in "\n\r\u2028\u2029\x85" else (
                "a tab" if ch == "\t" else f"a control character (U+{ord(ch):04X})")
            return f"The {what} contains {kind}; keep it to one line of plain text."
        if cat in ("Cs", "Co", "Cn"):
            return (f"The {what} contains a character that cannot be shown (U+{ord(ch):04X}); "
                    "remove it.")
    return None
