"""Reminder lead times in agenda files, and which reminder is due (bot.core.reminders)."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.agenda import AgendaInvalid, load_agenda
from bot.core.reminders import due_reminder, parse_lead

ITEM = '[[items]]\ntitle = "A"\nsummation = "s"\n'


def test_lead_times_inherit_from_the_consultation_and_refuse_nonsense() -> None:
    spec = load_agenda('[consultation]\ntitle = "T"\nreminders = ["2d"]\n' + ITEM +
                       '[[items]]\ntitle = "B"\nsummation = "s"\nreminders = []\n')
    a, b = spec.items
    assert spec.reminder_leads(a, None) == [172800]
    assert spec.reminder_leads(b, None) == []
    with pytest.raises(AgendaInvalid) as err:
        load_agenda('[consultation]\ntitle = "T"\n' + ITEM + 'reminders = ["soon", "1h"]\n')
    assert "'soon' is not a lead time" in str(err.value) and "line" in str(err.value)
    assert parse_lead("90m") == 5400
    with pytest.raises(ValueError):
        parse_lead("0h")


def test_only_the_nearest_due_reminder_is_sent_after_downtime() -> None:
    closes = datetime(2026, 12, 31, 17, tzinfo=UTC)
    leads = [86400, 3600]
    assert due_reminder(closes, leads, closes - timedelta(hours=25), set()) == (None, [])
    assert due_reminder(closes, leads, closes - timedelta(hours=23), set()) == (86400, [])
    assert due_reminder(closes, leads, closes - timedelta(minutes=30), set()) == (3600, [86400])
    assert due_reminder(closes, leads, closes - timedelta(minutes=30), {3600, 86400}) == (None, [])
    assert due_reminder(closes, leads, closes, set()) == (None, [])
