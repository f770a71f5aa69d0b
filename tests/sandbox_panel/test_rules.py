"""The egg-variable rule engine (panel wording, see sandbox/panel/rules.py)."""

from __future__ import annotations

import pytest

from sandbox.panel.rules import LARAVEL11_MESSAGES, php_regex, validate

JAR = r"required|regex:/^([\w\d._-]+)(\.jar)$/"


def test_required_and_null() -> None:
    assert validate(None, JAR, "Server Jar File variable") == [
        ("required", "The Server Jar File variable field is required.")
    ]
    assert validate("", "required|string", "X") == [("required", "The X field is required.")]


def test_nullable_skips_other_rules() -> None:
    assert validate(None, "nullable|string|max:20", "V") == []
    assert validate(None, "nullable|url", "V") == []


def test_string_rejects_numbers_and_reports_every_failure() -> None:
    assert validate(123, "required|string|max:20", "B") == [("string", "The B must be a string.")]
    assert validate("x" * 21, "required|string|max:20", "B") == [
        ("max", "The B may not be greater than 20 characters.")
    ]


def test_regex_php_delimiters() -> None:
    assert validate("server.jar", JAR, "J") == []
    assert validate("server.zip", JAR, "J") == [("regex", "The J format is invalid.")]
    assert php_regex("#^a$#i").search("A")
    # \w is ASCII-only without the u flag, like PCRE
    assert validate("é", r"required|regex:/^\w+$/", "J") == [("regex", "The J format is invalid.")]


def test_integer_numeric_between_accept_numeric_strings() -> None:
    assert validate("3000", "required|integer", "W") == []
    assert validate("3000.5", "required|integer", "W") == [("integer", "The W must be an integer.")]
    assert validate("30033", "required|integer|between:1025,65535", "F") == []
    assert validate("80", "required|integer|between:1025,65535", "F") == [
        ("between", "The F must be between 1025 and 65535.")
    ]
    assert validate("abc", "required|numeric", "N") == [("numeric", "The N must be a number.")]
    assert validate("200", "required|integer|max:128", "M") == [
        ("max", "The M may not be greater than 128.")
    ]


def test_string_between_counts_characters() -> None:
    assert validate("ab", "required|string|between:3,15", "V") == [
        ("between", "The V must be between 3 and 15 characters.")
    ]


def test_alpha_dash_alpha_num_size_boolean_in_digits_url() -> None:
    assert validate("gm_flat-grass", "required|string|alpha_dash", "M") == []
    assert validate("gm flat", "required|string|alpha_dash", "M") == [
        ("alpha_dash", "The M may only contain letters, numbers, and dashes.")
    ]
    assert validate("abc!", "alpha_num", "A") == [
        ("alpha_num", "The A may only contain letters and numbers.")
    ]
    assert validate("a" * 31, "required|string|alpha_num|size:32", "S") == [
        ("size", "The S must be 32 characters.")
    ]
    assert validate("1", "required|boolean", "B") == []
    assert validate("yes", "required|boolean", "B") == [
        ("boolean", "The B field must be true or false.")
    ]
    assert validate("oxide", "required|in:vanilla,oxide,carbon", "F") == []
    assert validate("paper", "required|in:vanilla,oxide,carbon", "F") == [
        ("in", "The selected F is invalid.")
    ]
    assert validate("123456", "required|numeric|digits_between:1,5", "U") == [
        ("digits_between", "The U must be between 1 and 5 digits.")
    ]
    assert validate("12", "digits:3", "D") == [("digits", "The D must be 3 digits.")]
    assert validate("http://pterodactyl.io", "nullable|url", "U") == []
    assert validate("not a url", "nullable|url", "U") == [("url", "The U format is invalid.")]


def test_array_rule() -> None:
    assert validate([1], "array", "A") == []
    assert validate("x", "array", "A") == [("array", "The A must be an array.")]


def test_present_and_sometimes() -> None:
    assert validate(None, "present", "P", present=False) == [
        ("present", "The P field must be present.")
    ]
    assert validate(None, "present|nullable|integer", "P", present=True) == []
    assert validate(None, "sometimes|string", "S", present=False) == []


def test_laravel11_wording_is_available() -> None:
    assert validate("x" * 21, "string|max:20", "B", messages=LARAVEL11_MESSAGES) == [
        ("max", "The B field must not be greater than 20 characters.")
    ]


@pytest.mark.parametrize(
    "rules",
    [
        "required|string|max:9",
        "required|string|in:recommended,latest",
        "nullable|regex:/^[0-9\\.\\-]+$/",
        "required|alpha_num|between:1,6",
        "required|regex:/^([a-zA-Z0-9.\\-_]+)$/",
    ],
)
def test_stock_egg_rules_parse(rules: str) -> None:
    validate("1.2", rules, "V")
