"""Citation links: finding, validating, normalising (bot/core/links.py)."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.core.links import (
    MAX_URL_LENGTH,
    InvalidURL,
    extract_citations,
    find_urls,
    normalise_url,
    validate_url,
)

# --------------------------------------------------------------------------- validate

VALID = [
    "https://www.gov.uk/government/publications/london-conference-on-cyberspace",
    "http://example.org",
    "https://EXAMPLE.org/Path?q=1#frag",
    "https://bücher.de/straße",
    "https://xn--bcher-kva.de/",
    "https://example.org:8443/x",
    "https://8.8.8.8/dns",
    "http://[2001:4860:4860::8888]/",
    "https://en.wikipedia.org/wiki/Convention_on_Cybercrime_(Budapest)",
    "  <https://example.org/with-spaces-around>  ",
    "https://example.org/%7Euser/a%zz",
    "https://my_site.blogspot.com/post",
    "https://example.org./trailing-dot",
]


@pytest.mark.parametrize("url", VALID)
def test_valid_urls(url: str) -> None:
    assert validate_url(url) == url.strip().strip("<>")


INVALID = [
    ("", "no URL given"),
    ("   ", "no URL given"),
    ("example.org/page", "must start with https:// or http://"),
    ("javascript:alert(1)", "'javascript:' links cannot be cited"),
    ("data:text/html,<b>x</b>", "'data:' links cannot be cited"),
    ("file:///etc/passwd", "'file:' links cannot be cited"),
    ("ftp://ftp.example.org/file", "'ftp:' links cannot be cited"),
    ("mailto:someone@example.org", "'mailto:' links cannot be cited"),
    ("https:/example.org", "has no host"),
    ("https://", "has no host"),
    ("http://:80/", "has no host"),
    ("https://user:secret@example.org/", "user name or password"),
    ("https://user@example.org/", "user name or password"),
    ("https://exa mple.org/", "spaces or control characters"),
    ("https://example.org/a\tb", "spaces or control characters"),
    ("https://example.org/\x00", "spaces or control characters"),
    ("https://example.org/a\u0085b", "spaces or control characters"),
    ("https://example.org/" + "a" * MAX_URL_LENGTH, "the limit is 2048"),
    ("http://localhost:8000/", "'localhost' is not a public host name"),
    ("http://intranet/page", "'intranet' is not a public host name"),
    ("http://printer.local/", "local or reserved name"),
    ("http://app.localhost/", "local or reserved name"),
    ("http://10.1.2.3/", "private or reserved address"),
    ("http://192.168.0.1/admin", "private or reserved address"),
    ("http://127.0.0.1/", "private or reserved address"),
    ("http://169.254.169.254/latest/meta-data", "private or reserved address"),
    ("http://[::1]/", "private or reserved address"),
    ("http://[fe80::1]/", "private or reserved address"),
    ("http://192.0.0.8/", "private or reserved address"),
    ("http://[::127.0.0.1]/", "private or reserved address"),
    ("http://[::ffff:127.0.0.1]/", "private or reserved address"),
    ("http://[fec0::1]/", "private or reserved address"),
    ("http://127.1/", "not a valid public host name"),
    ("http://0x7f.0.0.1/", "not a valid public host name"),
    ("http://2130706433/", "not a public host name"),
    ("https://example.org:99999/", "malformed"),
    ("https://example.org:0/", "port 0"),
    ("https://example.org:abc/", "malformed"),
    ("https://exa_mple..org/", "empty part"),
    ("https://-bad-.org/", "characters a host name cannot have"),
    ("https://example.org\\@evil.com/", "backslash"),
    ("https://[not-an-ip]/", "malformed"),
    ("https://" + "a" * 64 + ".org/", "too long"),
]


@pytest.mark.parametrize(("url", "message"), INVALID)
def test_invalid_urls_explain_what_to_fix(url: str, message: str) -> None:
    with pytest.raises(InvalidURL) as err:
        validate_url(url)
    assert message in str(err.value)
    assert err.value.reason == str(err.value)
    assert isinstance(err.value, ValueError)


# --------------------------------------------------------------------------- normalise


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://Example.ORG", "https://example.org/"),
        ("https://example.org:443/a", "https://example.org/a"),
        ("http://example.org:80/a", "http://example.org/a"),
        ("http://example.org:443/a", "http://example.org:443/a"),
        ("https://example.org:08443/a", "https://example.org:8443/a"),
        ("https://example.org/a#section-2", "https://example.org/a"),
        ("https://example.org/a?", "https://example.org/a"),
        ("https://example.org/a?#x", "https://example.org/a"),
        (
            "https://example.org/a?utm_source=tw&b=2&fbclid=x&a=1&UTM_Medium=y&gclid=z",
            "https://example.org/a?b=2&a=1",
        ),
        (
            "https://example.org/?mc_cid=1&mc_eid=2&igshid=3&yclid=4&_hsenc=5&_hsmi=6"
            "&ref_src=7&dclid=8&msclkid=9",
            "https://example.org/",
        ),
        ("https://example.org/?utm%5Fsource=x&q=1", "https://example.org/?q=1"),
        ("https://example.org/?z=1&a=2&z=3", "https://example.org/?z=1&a=2&z=3"),
        ("https://example.org/?a=1&&b=2&", "https://example.org/?a=1&b=2"),
        ("https://example.org/%7euser/%2fx", "https://example.org/~user/%2Fx"),
        ("https://example.org/%41%42c", "https://example.org/ABc"),
        ("https://example.org/a%zzb%", "https://example.org/a%25zzb%25"),
        ("https://example.org/a/./b/../c", "https://example.org/a/c"),
        ("https://example.org/a/%2E%2E/b", "https://example.org/b"),
        ("https://bücher.de/Straße?q=ä", "https://xn--bcher-kva.de/Stra%C3%9Fe?q=%C3%A4"),
        ("https://BÜCHER.de/", "https://xn--bcher-kva.de/"),
        ("https://example.org./x", "https://example.org/x"),
        ("https://example.org/a b".replace(" ", "%20"), "https://example.org/a%20b"),
        ("https://example.org/{x}|^", "https://example.org/%7Bx%7D%7C%5E"),
        ("https://example.org/wiki/A_(b)", "https://example.org/wiki/A_(b)"),
        ("http://[2001:4860:4860:0::8888]:80/", "http://[2001:4860:4860::8888]/"),
        ("<https://example.org/x>", "https://example.org/x"),
        ("https://example.org/?q=a+b&r=%e2%82%ac", "https://example.org/?q=a+b&r=%E2%82%AC"),
    ],
)
def test_normalise_url(url: str, expected: str) -> None:
    validate_url(url)
    assert normalise_url(url) == expected
    assert normalise_url(expected) == expected


def test_same_source_same_normal_form() -> None:
    forms = [
        "https://www.gov.uk/guidance?utm_source=newsletter",
        "HTTPS://WWW.GOV.UK:443/guidance#top",
        "<https://www.gov.uk/guidance>",
        "https://www.gov.uk/%67uidance?fbclid=abc",
    ]
    assert {normalise_url(u) for u in forms} == {"https://gov.uk/guidance"}


def test_www_and_trailing_slash_variants_are_one_source() -> None:
    forms = ["https://example.org/report", "https://example.org/report/",
             "https://www.example.org/report", "https://WWW.example.org/report//",
             validate_url("www.example.org/report/")]
    assert {normalise_url(u) for u in forms} == {"https://example.org/report"}
    assert normalise_url("https://www.example.org/") == "https://example.org/"
    assert normalise_url("https://www.com/") == "https://www.com/"  # www is the name here


def test_www_without_scheme_is_cited_as_https() -> None:
    assert validate_url("www.example.org") == "https://www.example.org"
    assert validate_url(" WWW.example.org/a?b=1 ") == "https://WWW.example.org/a?b=1"


SPOOFS = [
    ("http://192.0.0.8/", "private or reserved address"),
    ("http://[::127.0.0.1]/", "private or reserved address"),
    ("http://[fec0::1]/", "private or reserved address"),
    ("https://site.test/", "local or reserved name"),
    ("https://site.example/", "local or reserved name"),
    ("https://site.invalid/", "local or reserved name"),
    ("https://site.localhost/", "local or reserved name"),
    ("https://exa\u00admple.org/", "invisible character (soft hyphen"),
    ("https://exa\u200bmple.org/", "invisible character (zero width space"),
    ("https://example.org\u200d/", "invisible character"),
    ("https://\u0430pple.com/", "mixes Cyrillic and Latin"),  # Cyrillic а
    ("https://\u0440\u0430\u0443\u0440\u0430l.com/", "mixes Cyrillic and Latin"),  # раураl
    ("https://xn--pple-43d.com/", "mixes Cyrillic and Latin"),  # аpple in punycode
    ("https://xn--l-7sba6dbr.com/", "mixes Cyrillic and Latin"),  # раураl in punycode
    ("https://\u0440\u0430\u0443\u0440\u0430.com/", "look like the Latin 'paypa'"),
    ("https://g\u03bfogle.com/", "mixes Greek and Latin"),  # Greek ο
    ("https://example\u3002org/", "where a dot belongs"),
    ("https://example\u2024org/", "where a dot belongs"),
    ("https://example\uff0eorg/", "where a dot belongs"),
    ("https://example.org/\u202egnp.exe", "text-direction control (U+202E)"),
    ("https://example.org/a?q=\u2067x", "text-direction control"),
    ("https://xn--zz.com/", "not valid punycode"),
    ("https://example\u00b7org/", "not a valid international domain name"),  # a middle dot
]


@pytest.mark.parametrize(("url", "message"), SPOOFS)
def test_spoofed_addresses_are_refused_with_a_reason(url: str, message: str) -> None:
    with pytest.raises(InvalidURL) as err:
        validate_url(url)
    assert message in str(err.value)
    assert extract_citations(f"see {url}") == []  # a message's link is skipped, not cited


def test_homograph_reason_names_the_punycode_host() -> None:
    with pytest.raises(InvalidURL) as err:
        validate_url("https://\u0430pple.com/")
    assert "xn--pple-43d.com" in str(err.value)


@pytest.mark.parametrize("url", ["https://münchen.de/", "https://日本語.jp/", "https://пример.рф/",
                                 "https://xn--e1afmkfd.xn--p1ai/", "https://ελλάδα.gr/",
                                 "https://東京タワー.jp/", "https://straße.de/",
                                 "https://col·legi.cat/"])
def test_honest_international_names_are_accepted(url: str) -> None:
    assert validate_url(url) == url
    assert normalise_url(url).isascii()


# --------------------------------------------------------------------------- properties

_hosts = st.one_of(
    st.sampled_from(
        [
            "example.org",
            "EXAMPLE.org",
            "www.gov.uk",
            "bücher.de",
            "MÜNCHEN.de",
            "xn--bcher-kva.de",
            "8.8.8.8",
            "[2001:db8::1]",
            "[2606:4700:4700::1111]",
            "a-b.c_d.example.net",
            "example.org.",
            "ｅｘａｍｐｌｅ.com",
            "straße.de",
        ]
    ),
    st.builds(
        lambda labels, tld: ".".join(labels + [tld]),
        st.lists(
            st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?", fullmatch=True),
            min_size=1,
            max_size=3,
        ),
        st.sampled_from(["org", "com", "uk", "xn--p1ai", "museum"]),
    ),
)
_chars = st.lists(
    st.one_of(
        st.sampled_from(list("abcXYZ019-._~%/?&=+;:@!$'()*,[]{}|^`\"#")),
        st.sampled_from(["%2F", "%7e", "%41", "%zz", "%2", "%", "é", "€", "😀", "utm_source=1"]),
        st.characters(codec="utf-8", exclude_categories=["Cc", "Cs", "Zs", "Zl", "Zp"]),
    ),
    max_size=40,
).map("".join)


@st.composite
def candidate_urls(draw) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "hTTps"]))
    host = draw(_hosts)
    port = draw(st.sampled_from(["", ":80", ":443", ":8080", ":0443", ":", ":65535"]))
    path = draw(_chars)
    query = draw(
        st.lists(
            st.one_of(
                st.sampled_from(["utm_source=x", "fbclid=1", "a=1", "b", "", "q=%e2%82%ac"]),
                _chars,
            ),
            max_size=4,
        )
    )
    fragment = draw(st.sampled_from(["", "#", "#frag", "#a?b=c"]))
    url = f"{scheme}://{host}{port}"
    if path:
        url += "/" + path
    if query:
        url += "?" + "&".join(query)
    return url + fragment


def _accepted(url: str) -> str:
    try:
        return validate_url(url)
    except InvalidURL:
        assume(False)
        raise


@settings(max_examples=400)
@given(candidate_urls())
def test_property_normalise_is_idempotent_on_accepted_urls(url: str) -> None:
    valid = _accepted(url)
    once = normalise_url(valid)
    assert normalise_url(once) == once
    assert once.startswith(("http://", "https://"))
    assert "#" not in once
    if len(once) <= MAX_URL_LENGTH:
        validate_url(once)  # the normal form is itself citable


@settings(max_examples=400)
@given(st.text(max_size=80))
def test_property_validate_only_raises_invalid_url(text: str) -> None:
    try:
        valid = validate_url(text)
    except InvalidURL:
        return
    once = normalise_url(valid)
    assert normalise_url(once) == once


@settings(max_examples=300)
@given(
    st.lists(
        st.sampled_from([*"htps:/.exampl.org[]()<>*_ ,!?\n`|", "https://", "](", "example.org"]),
        max_size=30,
    ).map("".join)
)
def test_property_find_urls_never_crashes_and_finds_http_only(text: str) -> None:
    for url in find_urls(text):
        assert url.lower().startswith(("http://", "https://"))
        assert not url.endswith((".", ",", "!", "?", "*", "_", "|"))
        assert " " not in url and "\n" not in url
    for citation in extract_citations(text):
        assert normalise_url(citation.normalised_url) == citation.normalised_url


# --------------------------------------------------------------------------- find


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("see https://example.org/a.", ["https://example.org/a"]),
        (
            "see https://example.org/a, and http://example.com!",
            ["https://example.org/a", "http://example.com"],
        ),
        ("(see https://example.org/page)", ["https://example.org/page"]),
        ("https://en.wikipedia.org/wiki/Foo_(bar)", ["https://en.wikipedia.org/wiki/Foo_(bar)"]),
        ("(https://en.wikipedia.org/wiki/Foo_(bar)).", ["https://en.wikipedia.org/wiki/Foo_(bar)"]),
        ("no embed: <https://example.org/x?y=1>", ["https://example.org/x?y=1"]),
        ("[the report](https://example.org/report.pdf) says", ["https://example.org/report.pdf"]),
        ("[wiki](https://en.wikipedia.org/wiki/A_(b)) ok", ["https://en.wikipedia.org/wiki/A_(b)"]),
        ("[no embed](<https://example.org/q>)", ["https://example.org/q"]),
        (
            "**https://example.org/bold** and ||https://example.org/spoiler||",
            ["https://example.org/bold", "https://example.org/spoiler"],
        ),
        ("'https://example.org/quoted'", ["https://example.org/quoted"]),
        ("twice https://example.org/x https://example.org/x", ["https://example.org/x"]),
        ("`https://example.org/code` and ```\nhttps://example.org/block\n``` only", []),
        ("HTTPS://EXAMPLE.ORG/UP", ["HTTPS://EXAMPLE.ORG/UP"]),
        ("ftp://example.org and javascript:alert(1) and www.example.org", []),
        ("https://", []),
        ("text https://example.org/a?b=1&c=2#frag; more", ["https://example.org/a?b=1&c=2#frag"]),
        ("> quoted https://example.org/q\nreply", ["https://example.org/q"]),
    ],
)
def test_find_urls(message: str, expected: list[str]) -> None:
    assert find_urls(message) == expected


def test_extract_citations_validates_normalises_and_deduplicates() -> None:
    message = (
        "Compare [the treaty](https://www.coe.int/en/web/cybercrime?utm_source=x) with "
        "<https://WWW.COE.INT/en/web/cybercrime#top>, see also http://localhost:8000/admin "
        "and https://www.gov.uk/guidance."
    )
    citations = extract_citations(message)
    assert [c.normalised_url for c in citations] == [
        "https://coe.int/en/web/cybercrime",
        "https://gov.uk/guidance",
    ]
    first, second = citations
    assert first.label == "the treaty"
    assert first.url == "https://www.coe.int/en/web/cybercrime?utm_source=x"
    assert not first.embed_suppressed
    assert second.label is None
    assert second.source == "message"
