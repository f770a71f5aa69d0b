"""The storefront checks a customer's egg-variable choices with the same rules, and the same
words, as the panel will: for every variable of every stock egg and a spread of values, our
validator and the panel sandbox's rule engine (modelled on the panel's source) agree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from catalog.variables import rule_errors
from sandbox.panel.rules import validate

EGGS = sorted(Path("sandbox/panel/eggs").rglob("*.json"))
SAMPLES = [
    "",
    "latest",
    "1.21.1",
    "x" * 21,
    "server.jar",
    "evil.sh",
    "42",
    "-3",
    "3.5",
    "abc-def",
    "abc def",
    "https://example.com",
    "not a url",
    "true",
    "1",
    "gm_flatgrass",
    "a" * 32,
    "99999",
    "vanilla",
    "oxide",
]


def _cases() -> list[tuple[str, str, str, str]]:
    cases = []
    for path in EGGS:
        for var in json.loads(path.read_text())["variables"]:
            for value in SAMPLES:
                cases.append((path.stem, var["name"], var["rules"], value))
    return cases


@pytest.mark.parametrize(("egg", "name", "rules", "value"), _cases())
def test_same_verdict_and_words_as_the_panel(egg, name, rules, value):
    label = f"{name} variable"
    ours = rule_errors(value, rules, label)
    panel = [message for _rule, message in validate(value or None, rules, label)]
    assert ours == panel
