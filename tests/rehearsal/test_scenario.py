"""Scenario files: the London scenario is valid and deterministic; broken ones are explained."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.agenda import load_agenda
from bot.rehearsal.runner import DEFAULT_AGENDA, DEFAULT_SCENARIO
from bot.rehearsal.scenario import React, Say, ScenarioInvalid, load_scenario

AGENDA = load_agenda(DEFAULT_AGENDA)


def test_the_london_scenario_is_valid_and_plays_the_same_every_time():
    scenario = load_scenario(DEFAULT_SCENARIO, AGENDA)
    first, second = scenario.timeline(), load_scenario(DEFAULT_SCENARIO, AGENDA).timeline()
    assert first == second
    says = [s for s in first if isinstance(s, Say)]
    on_item_4 = [s for s in says if s.where == "tackling-cyber-crime"]
    assert 40 <= len(on_item_4) <= 80
    assert len({s.user for s in says}) >= 25
    assert {s.do for s in first} >= {"say", "quote", "cite", "react", "edit", "delete",
                                     "thread", "lock", "hide", "command"}
    for s in first:
        if isinstance(s, React):
            author = next(x.user for x in says if x.label == s.to) if s.to in {
                x.label for x in says} else None
            assert author not in s.users  # nobody reacts to their own comment


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> str:
    with pytest.raises(ScenarioInvalid) as caught:
        load_scenario(write(tmp_path, text), AGENDA)
    return caught.value.format()


def test_every_problem_is_reported_with_its_place(tmp_path):
    text = problems(tmp_path, """
[scenario]
title = "broken"

[participants]
amara = "Amara"

[[discussions]]
name = "d"
item = "no-such-item"
comments = ["hello"]
agree = [3, 1]

[[steps]]
do = "say"
user = "nobody"
in = "tackling-cyber-crime"
text = "hi"

[[steps]]
do = "edit"
to = "missing-label"
text = "x"

[[steps]]
do = "say"
user = "pat"
in = "tackling-cyber-crim"
text = "typo in the place"
colour = "red"
""")
    assert ("line 8, [[discussions]] #1: `agree`: must be [min, max] with "
            "0 <= min <= max <= 20") in text
    assert "line 25, [[steps]] #3 (do = \"say\"): `colour` is not a known field" in text


def test_references_are_checked_against_the_agenda_and_earlier_steps(tmp_path):
    text = problems(tmp_path, """
[scenario]
title = "broken"

[participants]
amara = "Amara"

[[discussions]]
name = "d"
item = "no-such-item"
comments = ["hello"]

[[steps]]
do = "say"
user = "nobody"
in = "tackling-cyber-crime"
text = "hi"

[[steps]]
do = "edit"
to = "missing-label"
text = "x"

[[steps]]
do = "say"
user = "pat"
in = "tackling-cyber-crim"
text = "typo in the place"
""")
    assert "line 8, [[discussions]] #1: item 'no-such-item' is not in the agenda" in text
    assert "line 13, [[steps]] #1 (do = \"say\"): unknown user 'nobody'" in text
    assert "line 19, [[steps]] #2 (do = \"edit\"): no earlier step or discussion comment " \
           "is labelled 'missing-label'" in text
    assert "line 24, [[steps]] #3 (do = \"say\"): `in` = 'tackling-cyber-crim' is neither" in text


def test_a_file_that_is_not_toml(tmp_path):
    text = problems(tmp_path, "[scenario\ntitle = 'x'\n")
    assert "not valid TOML" in text
