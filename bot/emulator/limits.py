"""Discord's documented size limits on messages, embeds, modals and autocomplete answers."""

from __future__ import annotations

import re
from typing import Any

from .errors import ApiError

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
MAX_CHOICES = 25
MAX_MODAL_INPUTS = 5
MAX_TEXT_INPUT_LENGTH = 4000
MAX_ATTACHMENT_DESCRIPTION = 1024  # an attachment's description (its alt text)
MAX_ATTACHMENTS = 10
#: Per-file upload limit of a server without boosts (the interaction's attachment_size_limit).
DEFAULT_ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
#: The largest request Discord takes when sending a message (all files together).
MAX_REQUEST_SIZE = 25 * 1024 * 1024


_SURROGATE = re.compile("[\ud800-\udfff]")


def has_lone_surrogate(value: Any) -> bool:
    """True if a string anywhere in ``value`` holds a UTF-16 surrogate code point on its own.

    Discord stores text as UTF-8, where unpaired surrogates cannot be represented: it refuses
    such a body instead of storing or returning invalid text (discord-api-docs#6561)."""
    if isinstance(value, str):
        return _SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(has_lone_surrogate(k) or has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(has_lone_surrogate(v) for v in value)
    return False


def refuse_invalid_unicode(value: Any) -> None:
    if has_lone_surrogate(value):
        raise ApiError(400, 50109, "The request body contains invalid JSON.")
MAX_GUILD_CHANNELS = 500      # channels and categories (threads do not count); else 30013
MAX_CATEGORY_CHANNELS = 50    # channels in one category; else 50035 CHANNEL_PARENT_MAX_CHANNELS


def _max(path: str, value: Any, limit: int) -> None:
    if value is not None and len(str(value)) > limit:
        raise ApiError.form(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def embed_size(embed: dict[str, Any]) -> int:
    """Characters counted toward the 6000-character limit (title, description, fields, footer, author)."""
    n = len(embed.get("title") or "") + len(embed.get("description") or "")
    for f in embed.get("fields") or []:
        n += len(f.get("name") or "") + len(f.get("value") or "")
    n += len((embed.get("footer") or {}).get("text") or "")
    n += len((embed.get("author") or {}).get("name") or "")
    return n


def validate_embeds(embeds: list[dict[str, Any]] | None) -> None:
    if not embeds:
        return
    if len(embeds) > MAX_EMBEDS:
        raise ApiError.form("embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
    total = 0
    for i, e in enumerate(embeds):
        p = f"embeds.{i}"
        _max(f"{p}.title", e.get("title"), 256)
        _max(f"{p}.description", e.get("description"), 4096)
        fields = e.get("fields") or []
        if len(fields) > 25:
            raise ApiError.form(f"{p}.fields", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        for j, f in enumerate(fields):
            for key, limit in (("name", 256), ("value", 1024)):
                v = f.get(key)
                if v is None or v == "":
                    raise ApiError.form(f"{p}.fields.{j}.{key}", "BASE_TYPE_REQUIRED",
                                        "This field is required")
                _max(f"{p}.fields.{j}.{key}", v, limit)
        _max(f"{p}.footer.text", (e.get("footer") or {}).get("text"), 2048)
        _max(f"{p}.author.name", (e.get("author") or {}).get("name"), 256)
        total += embed_size(e)
    if total > MAX_EMBED_TOTAL:
        raise ApiError.form("embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")


def validate_allowed_mentions(am: dict[str, Any] | None) -> None:
    if not am:
        return
    parse = am.get("parse") or []
    for kind in ("users", "roles"):
        if kind in parse and am.get(kind):
            raise ApiError.form(
                f"allowed_mentions.{kind}", "SET_TYPE_ALREADY_CONTAINS_VALUE",
                f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.')
        if len(am.get(kind) or []) > 100:
            raise ApiError.form(f"allowed_mentions.{kind}", "BASE_TYPE_MAX_LENGTH",
                                "Must be 100 or fewer in length.")


def validate_components(components: list[dict[str, Any]] | None) -> None:
    if not components:
        return
    if len(components) > 5 and all(c.get("type") == 1 for c in components):
        raise ApiError.form("components", "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
    for i, row in enumerate(components):
        for j, c in enumerate(row.get("components") or []):
            _max(f"components.{i}.components.{j}.custom_id", c.get("custom_id"), 100)
            _max(f"components.{i}.components.{j}.label", c.get("label"), 80)


def validate_message(payload: dict[str, Any], n_files: int, *, edit: bool = False) -> None:
    """Check a create/edit message payload the way Discord does; raise :class:`ApiError`."""
    content = payload.get("content")
    if content is not None and not isinstance(content, str):
        content = str(content)
    _max("content", content, MAX_CONTENT)
    validate_embeds(payload.get("embeds"))
    validate_allowed_mentions(payload.get("allowed_mentions"))
    validate_components(payload.get("components"))
    for i, a in enumerate(payload.get("attachments") or []):  # alt text of a file
        _max(f"attachments.{i}.description", a.get("description"), MAX_ATTACHMENT_DESCRIPTION)
    if not edit:
        empty = not (content or payload.get("embeds") or n_files or payload.get("components")
                     or payload.get("sticker_ids") or payload.get("poll")
                     or payload.get("attachments")
                     or int((payload.get("message_reference") or {}).get("type") or 0) == 1)
        if empty:  # a forward (message_reference type 1) has no content of its own
            raise ApiError(400, 50006, "Cannot send an empty message")


def validate_files(sizes: list[int], per_file: int = DEFAULT_ATTACHMENT_SIZE_LIMIT) -> None:
    """At most 10 files, each within the server's per-file limit, all within the request
    limit; Discord answers 413 / 40005 otherwise."""
    if len(sizes) > MAX_ATTACHMENTS:
        raise ApiError.form("attachments", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
    if any(n > per_file for n in sizes) or sum(sizes) > MAX_REQUEST_SIZE:
        raise ApiError(413, 40005, "Request entity too large")


def validate_choices(choices: list[dict[str, Any]] | None) -> None:
    choices = choices or []
    if len(choices) > MAX_CHOICES:
        raise ApiError.form("data.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    for i, c in enumerate(choices):
        name = c.get("name")
        if not name or len(name) > 100:
            raise ApiError.form(f"data.choices.{i}.name", "BASE_TYPE_BAD_LENGTH",
                                "Must be between 1 and 100 in length.")
        if isinstance(c.get("value"), str) and len(c["value"]) > 100:
            raise ApiError.form(f"data.choices.{i}.value", "BASE_TYPE_MAX_LENGTH",
                                "Must be 100 or fewer in length.")


def modal_inputs(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The interactive components of a modal (text inputs, selects…), unwrapping rows and labels."""
    out: list[dict[str, Any]] = []
    for c in components or []:
        if c.get("type") == 1:
            out.extend(c.get("components") or [])
        elif c.get("type") == 18:
            out.append(c.get("component") or {})
        elif c.get("type") != 10:  # text displays are not inputs
            out.append(c)
    return out


def validate_modal(data: dict[str, Any]) -> None:
    _max("data.title", data.get("title"), 45)
    _max("data.custom_id", data.get("custom_id"), 100)
    comps = data.get("components") or []
    if not 1 <= len(comps) <= MAX_MODAL_INPUTS:
        raise ApiError.form("data.components", "BASE_TYPE_BAD_LENGTH",
                            "Must be between 1 and 5 in length.")
    inputs = modal_inputs(comps)
    if len(inputs) > MAX_MODAL_INPUTS:
        raise ApiError.form("data.components", "BASE_TYPE_BAD_LENGTH",
                            "Must be between 1 and 5 in length.")
    for i, c in enumerate(inputs):
        if c.get("type") == 4:
            ml = c.get("max_length")
            if ml is not None and not 1 <= ml <= MAX_TEXT_INPUT_LENGTH:
                raise ApiError.form(f"data.components.{i}.components.0.max_length",
                                    "NUMBER_TYPE_MAX", "int value should be less than or equal to 4000.")
            _max(f"data.components.{i}.components.0.value", c.get("value"), MAX_TEXT_INPUT_LENGTH)
            _max(f"data.components.{i}.components.0.label", c.get("label"), 45)

# --- forum tags (discord-api-docs, Channel: forum tag object; Modify/Start Thread in Forum) -----

MAX_FORUM_TAGS = 20       # available_tags of one forum; else 400 50035 BASE_TYPE_MAX_LENGTH
MAX_APPLIED_TAGS = 5      # applied_tags of one post; else 400 50035 BASE_TYPE_MAX_LENGTH
MAX_TAG_NAME = 20         # a tag's name: 1..20 characters


def _bounded_list(value: Any, field: str, maximum: int) -> list[Any]:
    """A list field (missing: empty) of at most ``maximum`` entries, as Discord checks it."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ApiError.form(field, "BASE_TYPE_LIST", "Must be a list.")
    if len(value) > maximum:
        raise ApiError.form(field, "BASE_TYPE_MAX_LENGTH", f"Must be {maximum} or fewer in length.")
    return value


def validate_available_tags(tags: Any, existing: list[dict[str, Any]],
                            new_id: Any) -> list[dict[str, Any]]:
    """A forum's ``available_tags`` as Discord stores them: each tag keeps its id when it
    names one of the forum's tags and gets a new one otherwise; ``moderated`` defaults to
    false, the emoji to none. Refuses more than 20 tags and names outside 1..20 characters."""
    tags = _bounded_list(tags, "available_tags", MAX_FORUM_TAGS)
    known = {str(t["id"]) for t in existing}
    out: list[dict[str, Any]] = []
    for i, tag in enumerate(tags):
        if not isinstance(tag, dict):
            raise ApiError.form(f"available_tags.{i}", "MODEL_TYPE_CONVERT", "Must be an object.")
        name = tag.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ApiError.form(f"available_tags.{i}.name", "BASE_TYPE_REQUIRED",
                                "This field is required")
        if len(name) > MAX_TAG_NAME:
            raise ApiError.form(f"available_tags.{i}.name", "BASE_TYPE_BAD_LENGTH",
                                f"Must be between 1 and {MAX_TAG_NAME} in length.")
        tag_id = str(tag["id"]) if tag.get("id") is not None and str(tag["id"]) in known else None
        out.append({
            "id": tag_id or str(new_id()), "name": name, "moderated": bool(tag.get("moderated")),
            "emoji_id": str(tag["emoji_id"]) if tag.get("emoji_id") else None,
            "emoji_name": tag.get("emoji_name") or None,
        })
    return out


def validate_applied_tags(tags: Any, forum_tags: list[dict[str, Any]]) -> list[int]:
    """A post's ``applied_tags``: at most 5, each the id of one of its forum's tags."""
    tags = _bounded_list(tags, "applied_tags", MAX_APPLIED_TAGS)
    known = {str(t["id"]) for t in forum_tags}
    out: list[int] = []
    for i, tag_id in enumerate(tags):
        if str(tag_id) not in known:
            raise ApiError.form(f"applied_tags.{i}", "TAG_NOT_FOUND",
                                "Tag is not available in this channel.")
        if int(tag_id) not in out:
            out.append(int(tag_id))
    return out
