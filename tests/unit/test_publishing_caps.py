"""How many channels and categories a publish creates (the server-cap check uses it)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.core.publishing import CATEGORY_CHANNELS_MAX, channels_needed, overflow_category_name


def test_counts_the_first_category_and_each_overflow():
    assert channels_needed(0, 0, False) == 0
    assert channels_needed(1, 0, False) == 2          # the consultation's category and one channel
    assert channels_needed(50, 0, False) == 51
    assert channels_needed(51, 0, False) == 53        # "(2)" for the 51st
    assert channels_needed(3, 2, True) == 4           # 2 fit, the third opens "(2)"
    assert channels_needed(2, 2, True) == 2


@given(st.integers(0, 400), st.integers(0, 100), st.booleans())
def test_every_channel_has_a_place(new, free, has_category):
    needed = channels_needed(new, free, has_category)
    categories = needed - new
    places = (free if has_category else 0) + (categories * CATEGORY_CHANNELS_MAX)
    assert places >= new                                      # enough room…
    assert new == 0 or places - new < CATEGORY_CHANNELS_MAX or categories == 0  # …no category too many


def test_overflow_names_stay_within_discords_100_characters():
    assert overflow_category_name("Budget", 2) == "Budget (2)"
    long = "x" * 100
    assert len(overflow_category_name(long, 12)) == 100 and overflow_category_name(long, 12).endswith(" (12)")
