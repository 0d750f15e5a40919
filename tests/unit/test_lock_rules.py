"""The overwrites a lock writes (pure rules of bot.core.moderation)."""

from bot.core.moderation import (
    BOT_KEEP_ALLOW,
    CREATE_PRIVATE_THREADS,
    CREATE_PUBLIC_THREADS,
    KEEP_ALLOW,
    LOCK_DENY,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    Overwrite,
    is_locked,
    locked_overwrites,
    written_bits,
)

EVERYONE, BOT, MODS, HELPERS = 1, 2, 3, 4
VIEW_CHANNEL, ADD_REACTIONS = 1 << 10, 1 << 6


def test_a_lock_sets_no_permission_outside_what_it_needs():
    locked = locked_overwrites({}, EVERYONE, {BOT: ("member", BOT_KEEP_ALLOW),
                                              MODS: ("role", KEEP_ALLOW)})
    assert is_locked(locked, EVERYONE)
    assert locked[EVERYONE].deny == SEND_MESSAGES | SEND_MESSAGES_IN_THREADS | CREATE_PUBLIC_THREADS
    # Nothing a bot invited with the README's integer lacks (Create Private Threads).
    assert not written_bits(locked) & CREATE_PRIVATE_THREADS
    assert written_bits(locked) == LOCK_DENY


def test_the_bot_keeps_what_publishing_a_sub_item_needs_and_moderators_keep_posting():
    locked = locked_overwrites({}, EVERYONE, {BOT: ("member", BOT_KEEP_ALLOW),
                                              MODS: ("role", KEEP_ALLOW)})
    assert locked[BOT] == Overwrite(type="member", allow=LOCK_DENY)
    assert locked[BOT].allow & CREATE_PUBLIC_THREADS and locked[BOT].allow & SEND_MESSAGES
    assert locked[MODS] == Overwrite(type="role", allow=SEND_MESSAGES | SEND_MESSAGES_IN_THREADS)


def test_existing_overwrites_are_kept_and_their_posting_allows_dropped():
    current = {EVERYONE: Overwrite(type="role", deny=ADD_REACTIONS),
               HELPERS: Overwrite(type="role", allow=SEND_MESSAGES | VIEW_CHANNEL),
               BOT: Overwrite(type="member", deny=SEND_MESSAGES)}
    locked = locked_overwrites(current, EVERYONE, {BOT: ("member", BOT_KEEP_ALLOW)})
    assert locked[EVERYONE].deny == ADD_REACTIONS | LOCK_DENY
    assert locked[HELPERS] == Overwrite(type="role", allow=VIEW_CHANNEL, deny=LOCK_DENY)
    assert locked[BOT] == Overwrite(type="member", allow=BOT_KEEP_ALLOW)  # its own deny lifted
    assert written_bits(locked) == LOCK_DENY | ADD_REACTIONS | VIEW_CHANNEL
