"""Citations: finding, validating and normalising the links people share.

* :func:`find_urls` — the http(s) links of a Discord message, as Discord shows them.
* :func:`validate_url` — is this a citable public web address?  If not,
  :class:`InvalidURL` says what is wrong and how to fix it.
* :func:`normalise_url` — one spelling per source, so that citations of the same page
  are counted together (idempotent; never fails on a URL that ``validate_url`` accepts).

Citations are *public sources*: something every participant can open.  So the host must
be a public name or address: a dotted hostname (``example.org``), or a public IP
address.  Refused: single-label hosts (``localhost``, ``intranet``), the special-use
names ``*.localhost``, ``*.local``, ``*.internal``, ``*.lan``, ``*.home.arpa``,
``*.example``, ``*.invalid``, ``*.test``; private, loopback, link-local and reserved IP
addresses; numeric "hostnames" that are not plain dotted-quad IPv4 (``127.1``,
``0x7f.1``), which browsers would read as an address.

A citation must also *be* what it looks like. International names are checked by the
IDNA 2008 rules (the ``idna`` package, with UTS 46 mapping), and refused when they could
pass for another site: invisible characters in the host (soft hyphen, zero-width
characters), dot look-alikes (``。``, ``․``), letters of different alphabets in one label
(``аpple.com`` with a Cyrillic ``а``; also in punycode, ``xn--pple-43d.com``), a label all in
Cyrillic or Greek letters that look Latin (``раура.com``), and bidi controls anywhere in the
address (``…/‮gnp.exe``). The reason names the punycode host, which is what a browser opens.

Spelling variants of one source count as one: ``www.`` and a trailing ``/`` are folded
away by :func:`normalise_url`; ``www.example.org`` typed without a scheme is cited as
``https://www.example.org``.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from typing import Literal
from urllib.parse import SplitResult, unquote, urlsplit

import idna
from pydantic import BaseModel, ConfigDict

from bot.core.input_checks import BIDI_CONTROLS, INVISIBLE

__all__ = [
    "MAX_URL_LENGTH",
    "TRACKING_PARAMETERS",
    "CitationCandidate",
    "InvalidURL",
    "extract_citations",
    "find_urls",
    "normalise_url",
    "validate_url",
]

MAX_URL_LENGTH = 2048

TRACKING_PARAMETERS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "yclid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "_hsenc",
        "_hsmi",
        "__hstc",
        "__hssc",
        "__hsfp",
        "hsctatracking",
        "ref_src",
        "ref_url",
        "mkt_tok",
        "_ga",
        "_gl",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "vero_conv",
        "wickedid",
        "rb_clickid",
        "s_cid",
    }
)
"""Query parameters that only track the click (plus every ``utm_*``)."""

_SPECIAL_SUFFIXES = (
    "localhost",
    "local",
    "internal",
    "lan",
    "home.arpa",
    "example",
    "invalid",
    "test",
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class InvalidURL(ValueError):
    """A URL that cannot be cited; the message says what is wrong and how to fix it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ------------------------------------------------------------------ finding

_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`", re.DOTALL)
_MASKED = re.compile(
    r"\[([^\]\n]*)\]\(\s*(<?)"
    r"(https?://[^\s<>()]*(?:\([^\s<>()]*\)[^\s<>()]*)*)"
    r">?\s*\)",
    re.I,
)
_ANGLE = re.compile(r"<(https?://[^\s<>]+)>", re.I)
_PLAIN = re.compile(r"https?://[^\s<>]+", re.I)
_TRAILING = ".,;:!?'\"*_~|`"
_PAIRS = {")": "(", "]": "[", "}": "{"}


def _trim(url: str) -> str:
    """Strip trailing punctuation that belongs to the sentence, not the URL."""
    while url:
        last = url[-1]
        if last in _TRAILING:
            url = url[:-1]
        elif last in _PAIRS and url.count(last) > url.count(_PAIRS[last]):
            url = url[:-1]
        else:
            break
    return url


def _find(text: str) -> list[tuple[str, str | None, bool]]:
    """(url, label, embed suppressed) in order of appearance."""
    text = _CODE.sub(lambda m: " " * len(m.group()), text)
    found: list[tuple[int, str, str | None, bool]] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return not any(start < e and s < end for s, e in taken)

    for m in _MASKED.finditer(text):
        found.append((m.start(), m.group(3), m.group(1).strip() or None, m.group(2) == "<"))
        taken.append(m.span())
    for m in _ANGLE.finditer(text):
        if free(*m.span()):
            found.append((m.start(), _trim(m.group(1)), None, True))
            taken.append(m.span())
    for m in _PLAIN.finditer(text):
        if free(*m.span()):
            found.append((m.start(), _trim(m.group()), None, False))
    found.sort(key=lambda f: f[0])
    return [(u, label, sup) for _, u, label, sup in found if len(u) > len("https://")]


def find_urls(text: str) -> list[str]:
    """The http(s) URLs of a Discord message, in order, each once.

    Finds plain links, ``<…>`` links (embed suppressed) and masked links
    ``[text](url)``; strips sentence punctuation after a link (``.``, ``,``, ``!``…, and
    ``)``/``]`` that close nothing inside the link).  Links inside code (`` `…` `` or
    fenced blocks) are ignored: Discord does not make them clickable either.
    """
    out: list[str] = []
    for url, _, _ in _find(text):
        if url not in out:
            out.append(url)
    return out


# ------------------------------------------------------------------ validation


_SPECIAL_V4 = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
    "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3",
)]


def _special_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Explicit deny of every non-global range (``is_global`` alone lets 192.0.0.0/24 by)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.is_site_local or ip.ipv4_mapped or ip.sixtofour or ip.teredo:
            return True
        if int(ip) >> 32 == 0:  # IPv4-compatible ::a.b.c.d (deprecated), and :: / ::1
            return True
    else:
        if any(ip in net for net in _SPECIAL_V4):
            return True
    return not ip.is_global or ip.is_multicast or ip.is_reserved


def _host_problem(host: str) -> str | None:
    """Why ``host`` (already lower-case ASCII, no brackets) is not a public host."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None:
        if _special_ip(ip):
            return (
                f"{host} is a private or reserved address; cite a public web address "
                "that every participant can open"
            )
        return None
    if "." not in host:
        return (
            f"'{host}' is not a public host name; use the full address of the page, "
            "like https://example.org/page"
        )
    labels = host.split(".")
    if any(not label for label in labels):
        return f"the host name '{host}' has an empty part (two dots in a row?)"
    if len(host) > 253 or any(len(label) > 63 for label in labels):
        return f"the host name '{host}' is too long"
    for label in labels:
        if not re.fullmatch(r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?", label):
            return f"the host name '{host}' contains characters a host name cannot have"
    tld = labels[-1]
    if tld.isdigit() or not re.fullmatch(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}", tld):
        return (
            f"'{host}' is not a valid public host name; use the full address of the page, "
            "like https://example.org/page"
        )
    if any(host == s or host.endswith("." + s) for s in _SPECIAL_SUFFIXES):
        return (
            f"'{host}' is a local or reserved name that other participants cannot open; "
            "cite a public web address"
        )
    return None


#: Characters that look like "." but are not one (browsers map some of them to "."). The
#: middle dots (· in Catalan "l·l", ・ in Japanese) are left to IDNA 2008's context rules.
DOT_LOOKALIKES = frozenset("\u3002\uff0e\uff61\u2024\ufe52\u0701\u0702\ua4f8\u2e31\u2027")

#: Cyrillic and Greek letters that look like Latin ones (a subset of Unicode's confusables).
_LATIN_LOOKALIKES = {
    "а": "a", "в": "b", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i",
    "ј": "j", "ѕ": "s", "ԁ": "d", "һ": "h", "ӏ": "l", "ԛ": "q", "ԝ": "w", "к": "k", "м": "m",
    "н": "h", "т": "t", "ь": "b", "ѵ": "v", "ү": "y",
    "α": "a", "ο": "o", "ρ": "p", "ν": "v", "ι": "i", "κ": "k", "υ": "u", "χ": "x", "τ": "t",
    "ε": "e", "η": "n", "ω": "w",
}

# Unicode's "highly restrictive" level (UTS 39): one script per label, or Latin with the
# scripts written together in Chinese, Japanese and Korean.
_ALLOWED_MIXES = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)
_SCRIPT_ALIASES = {"CJK": "HAN", "IDEOGRAPHIC": "HAN", "KATAKANA-HIRAGANA": "HIRAGANA"}


def _script(ch: str) -> str | None:
    """The script of a letter (from its Unicode name), or None for digits, '-' and marks."""
    if ch.isascii() and not ch.isalpha():
        return None
    if unicodedata.category(ch)[0] in "MNPSZ":
        return None
    name = unicodedata.name(ch, "")
    word = name.split(" ", 1)[0] if name else "UNKNOWN"
    return _SCRIPT_ALIASES.get(word, word)


def _spoof_problem(label: str, ascii_host: str, shown: str, tld_scripts: set[str]) -> str | None:
    """Why a unicode host label could pass for another site, or None."""
    scripts = {s for s in map(_script, label) if s}
    if len(scripts) > 1 and not any(scripts <= mix for mix in _ALLOWED_MIXES):
        names = " and ".join(sorted(s.title() for s in scripts))
        return (f"the host '{shown}' mixes {names} letters, so it can pass for another site "
                f"(a browser opens {ascii_host}); cite the address typed in one alphabet")
    if len(scripts) == 1 and scripts <= {"CYRILLIC", "GREEK"} and scripts != tld_scripts:
        letters = [c for c in label if _script(c)]
        if letters and all(c in _LATIN_LOOKALIKES for c in letters):
            looks = "".join(_LATIN_LOOKALIKES.get(c, c) for c in label)
            return (f"the host '{shown}' is written in {scripts.pop().title()} letters that look "
                    f"like the Latin '{looks}' (a browser opens {ascii_host}); cite the real "
                    "address of the source")
    return None


def _unicode_host_problem(raw: str) -> str | None:
    """Invisible characters and dot look-alikes in the host as typed."""
    for ch in raw:
        if ch in INVISIBLE:
            name = unicodedata.name(ch, f"U+{ord(ch):04X}").lower()
            return (f"the host name contains an invisible character ({name}, U+{ord(ch):04X}) "
                    "that can make one address look like another; type the address again")
        if ch in DOT_LOOKALIKES:
            return (f"the host name uses '{ch}' (U+{ord(ch):04X}) where a dot belongs; "
                    "write it with a plain '.'")
    return None


def _encode_host(host: str) -> str:
    """Lower-case, IDNA 2008-encoded (punycode) host; raises ``InvalidURL``.

    Refuses hosts that could pass for another site (see the module docstring)."""
    if problem := _unicode_host_problem(host):
        raise InvalidURL(problem)
    host = host.lower()
    if host.endswith(".") and not host.endswith(".."):
        host = host[:-1]
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True, transitional=False).decode("ascii").lower()
        except (idna.IDNAError, UnicodeError, ValueError) as exc:
            raise InvalidURL(
                f"the host name '{host}' is not a valid international domain name ({exc})"
            ) from exc
    if "xn--" not in host:
        return host
    labels = host.split(".")
    decoded: list[str] = []
    for label in labels:
        try:
            decoded.append(idna.decode(label) if label.startswith("xn--") else label)
        except (idna.IDNAError, UnicodeError, ValueError) as exc:
            raise InvalidURL(
                f"the host name '{host}' has a label ({label}) that is not valid punycode"
            ) from exc
    unicode_host = ".".join(decoded)
    tld_scripts = {s for s in map(_script, decoded[-1]) if s}
    for label, text in zip(labels, decoded, strict=True):
        if label.startswith("xn--"):
            problem = _spoof_problem(text, host, unicode_host, tld_scripts)
            if problem:
                raise InvalidURL(problem)
    return host


def _split(url: str) -> tuple[SplitResult, str, int | None]:
    """urlsplit + checked host and port; raises ``InvalidURL``."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidURL(
            f"the address is malformed ({exc}); copy it again from the browser's address bar"
        ) from exc
    if "@" in parts.netloc:
        raise InvalidURL(
            "the address contains a user name or password (user:pass@…); "
            "remove it and cite the public address"
        )
    raw_host = parts.hostname
    if not raw_host:
        raise InvalidURL("the address has no host; write it as https://example.org/page")
    if "%" in raw_host:
        raise InvalidURL(f"the host name '{raw_host}' contains '%'; check the address")
    if port == 0:
        raise InvalidURL("port 0 is not a valid port; remove ':0' from the address")
    if parts.netloc.startswith("[") or ":" in raw_host:
        try:
            host = ipaddress.IPv6Address(raw_host.split("%")[0]).compressed
        except ValueError as exc:
            raise InvalidURL(f"'{raw_host}' is not a valid IPv6 address") from exc
    else:
        host = _encode_host(raw_host)
    return parts, host, port


def validate_url(raw: str) -> str:
    """Check that ``raw`` is a citable public http(s) URL; return it stripped.

    Raises :class:`InvalidURL` with a message that says what is wrong and how to fix
    it: empty; longer than 2,048 characters; spaces or control characters inside;
    no ``http://``/``https://`` (other schemes such as ``javascript:``, ``data:``,
    ``file:``, ``ftp:`` are refused); credentials (``user:pass@``); a backslash; a
    malformed port; no host, or a host that is not public (see the module docstring).
    Surrounding whitespace and ``<…>`` (Discord's no-embed form) are removed, and
    ``https://`` is added to an address typed as ``www.…``. Hosts that could pass for
    another site are refused (see the module docstring).
    """
    url = raw.strip()
    if url.startswith("<") and url.endswith(">"):
        url = url[1:-1].strip()
    if not url:
        raise InvalidURL("no URL given; paste the full address, like https://example.org/page")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidURL(
            f"the URL is {len(url)} characters long; the limit is {MAX_URL_LENGTH}. "
            "Cite a shorter address for the same page (without tracking parameters)"
        )
    if any(ch.isspace() or ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in url):
        raise InvalidURL(
            "the URL contains spaces or control characters; "
            "copy it again from the browser's address bar (or encode spaces as %20)"
        )
    if bidi := next((ch for ch in url if ch in BIDI_CONTROLS), None):
        raise InvalidURL(
            f"the URL contains a text-direction control (U+{ord(bidi):04X}) that makes it read "
            "differently from where it leads (e.g. 'gnp.exe' shown as 'exe.png'); "
            "copy it again from the browser's address bar"
        )
    if url[:4].lower() == "www.":  # typed without the scheme: the web page it names
        url = "https://" + url
    m = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", url)
    scheme = m.group(1).lower() if m else ""
    if scheme not in ("http", "https"):
        if not m or "." in scheme or scheme.isdigit() or scheme == "localhost":
            raise InvalidURL(
                "the URL must start with https:// or http:// "
                f"(did you mean https://{url.lstrip('/')} ?)"
            )
        raise InvalidURL(
            f"'{scheme}:' links cannot be cited; only web pages (https:// or http://) can"
        )
    if not url[len(scheme) + 1 :].startswith("//"):
        raise InvalidURL(f"the address has no host; write it as {scheme}://example.org/page")
    if "\\" in url:
        raise InvalidURL("the URL contains a backslash (\\); use / or copy the address again")
    _, host, _ = _split(url)
    problem = _host_problem(host)
    if problem:
        raise InvalidURL(problem)
    return url


# ------------------------------------------------------------------ normalisation

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_KEEP = _UNRESERVED | frozenset(":/?#[]@!$&'()*+,;=")
_HEX = frozenset("0123456789abcdefABCDEF")


def _norm_encoding(text: str) -> str:
    """Canonical percent-encoding: upper-case hex, unreserved characters decoded,
    characters that must be encoded (non-ASCII, quotes, braces…) encoded as UTF-8, and a
    ``%`` that starts no escape encoded as ``%25``."""
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "%":
            if i + 2 < n and text[i + 1] in _HEX and text[i + 2] in _HEX:
                byte = int(text[i + 1 : i + 3], 16)
                c = chr(byte)
                out.append(c if c in _UNRESERVED else f"%{byte:02X}")
                i += 3
                continue
            out.append("%25")
        elif ch in _KEEP:
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
        i += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4: resolve ``.`` and ``..`` segments."""
    if "." not in path:
        return path
    segments = path.split("/")
    out: list[str] = []
    for seg in segments[1:]:
        if seg == ".":
            continue
        if seg == "..":
            if out:
                out.pop()
            continue
        out.append(seg)
    if segments[-1] in (".", ".."):
        out.append("")
    return "/" + "/".join(out)


def _is_tracking(name: str) -> bool:
    key = unquote(name).lower()
    return key.startswith("utm_") or key in TRACKING_PARAMETERS


def normalise_url(url: str) -> str:
    """One canonical spelling of a (validated) URL, for counting citations together.

    Lower-case scheme and host (unicode hosts IDNA-encoded), no ``www.``, no trailing
    ``/`` (``/`` for an empty path), no default port, no fragment, no tracking parameters (``utm_*``, ``fbclid``, ``gclid``… see
    :data:`TRACKING_PARAMETERS`; the other parameters keep their order), ``/`` for an
    empty path, dot segments resolved, percent-encoding canonical, no empty ``?``.
    Idempotent: ``normalise_url(normalise_url(u)) == normalise_url(u)``.
    """
    url = url.strip()
    if url.startswith("<") and url.endswith(">"):
        url = url[1:-1].strip()
    parts, host, port = _split(url)
    scheme = parts.scheme.lower()
    if ":" in host:
        host = f"[{host}]"
    else:
        while host.startswith("www.") and host.count(".") >= 2:  # www.example.org is example.org
            host = host[4:]
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    path = _remove_dot_segments(_norm_encoding(parts.path or "/")) or "/"
    if not path.startswith("/"):
        path = "/" + path
    path = path.rstrip("/") or "/"  # /report/ is /report
    params = [
        _norm_encoding(p) for p in parts.query.split("&") if p and not _is_tracking(p.split("=")[0])
    ]
    query = "&".join(params)
    return f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "")


# ------------------------------------------------------------------ citations


class CitationCandidate(BaseModel):
    """A link found in a message, ready to be recorded as a citation."""

    model_config = ConfigDict(frozen=True)

    url: str
    """As written (trimmed of surrounding punctuation)."""
    normalised_url: str
    label: str | None = None
    """The text of a masked link ``[label](url)``."""
    embed_suppressed: bool = False
    source: Literal["message", "command"] = "message"


def extract_citations(text: str) -> list[CitationCandidate]:
    """Citable links of a message: found, validated, normalised, each source once.

    Links that :func:`validate_url` refuses (private hosts, other schemes…) are
    skipped silently: a message is not an error.
    """
    out: list[CitationCandidate] = []
    seen: set[str] = set()
    for url, label, suppressed in _find(text):
        try:
            valid = validate_url(url)
            norm = normalise_url(valid)
        except InvalidURL:
            continue
        if norm in seen:
            continue
        seen.add(norm)
        out.append(
            CitationCandidate(
                url=valid, normalised_url=norm, label=label, embed_suppressed=suppressed
            )
        )
    return out
