"""The panel's e-mail rule, checked by the product before the panel sees an address.

The rule under test (accounts/panel_email.py) follows pterodactyl/panel v1.11.8
app/Models/User.php ('email' => 'required|email|between:1,191|unique:users,email'), where the
bare `email` rule is egulias/email-validator 4.0.1 RFCValidation (laravel/framework v10.1.4
ValidatesAttributes::validateEmail). The upstream cases below are egulias's own
tests/EmailValidator/Validation/RFCValidationTest.php and RFCValidationDomainPartTest.php.
"""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st
from testkit import admin_form_data, superuser_client

from accounts.models import User
from accounts.panel_email import panel_email_problem

ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~"
ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"

# egulias RFCValidationTest::getInvalidEmails / getInvalidEmailsWithErrors and
# RFCValidationDomainPartTest::getInvalidEmails (the PHP '\r\n' strings are literal backslashes).
UPSTREAM_INVALID = [
    "user  name@example.com",
    "example.@example.co.uk",
    "example@example@example.co.uk",
    "(test_exampel@example.fr",
    "example(example]example@example.co.uk",
    ".example@localhost",
    "ex\\ample@localhost",
    "user name@example.com",
    "usern,ame@example.com",
    "user[na]me@example.com",
    '"""@iana.org',
    '"\\"@iana.org',
    '"test"test@iana.org',
    '"test""test"@iana.org',
    '"test"."test"@iana.org',
    '"test".test@iana.org',
    '"test"\x00@iana.org',
    "\\r\\ntest@iana.org",
    "test;123@foobar.com",
    "examp║le@symfony.com",
    "0",
    "@example.co.uk",
    "example..example@example.co.uk",
    "<example_example>@example.fr",
    '"example@localhost',
    'exa"mple@localhost',
    "comment)example@localhost",
    "exampl\ne@example.co.uk",
    "exampl\te@example.co.uk",
    "exam\rple@example.co.uk",
    "test@example.com test",
    "test_exampel@example.fr]",
    "example@local\\host",
    "example@localhost\\",
    "example@localhost.",
    "username@ example . com",
    "username@ example.com",
    "example@(fake].com",
    "example@(fake.com",
    "username@example,com",
    "test@iana/icann.org",
    "test@foo;bar.com",
    "test@example..com",
    "test@examp'le.com",
    'email.email@email."',
    "test@email>",
    "test@email<",
    "test@email{",
    "test@ ",
    "test@example.com []",
    "test@test. example.com",
    "example@toolonglocalparttoolonglocalparttoolonglocalparttoolonglocalpart.co.uk",
    "example@test.toolonglocalparttoolonglocalparttoolonglocalparttoolonglocalpart.co.uk",
    *(f"test@email{c}a.com" for c in "*!&^%$`|~{}=+_¡?#¨€£"),
    "example@",
    "example@example-.co.uk",
    "example@example-",
    "example@@example.co.uk",
    "example@example..co.uk",
    "example@.localhost",
    "example@-localhost",
    "example@comment)localhost",
    "example@exam,ple.com",
    "test@example.com'",
    "example@" + "ъ" * 64 + ".com",
    "example@" + "a4t" * 22 + ".com",
    "example@" + "a4t" * 22,
]

# egulias's valid addresses in the dot-atom form, which we accept as the panel does.
UPSTREAM_VALID_DOT_ATOM = [
    "fabien@symfony.com",
    "example@example.co.uk",
    "fabien_potencier@example.fr",
    "fab'ien@symfony.com",
    "fabien+a@symfony.com",
    "exampl=e@example.com",
    "1500111@профи-инвест.рф",
    "example@" + "ъ" * 40 + ".com",
    "example@example",  # TLD warning only
    "example@localhost",
    "withhyphen@domain-exam.com",
    "validipv4@127.0.0.0",
    "valid_long_domain@71846jnrsoj91yfhc18rkbrf90ue3onl8y46js38kae8inz0t1.5a-xdycuau.na49.le"
    ".example.com",
    "a" * 65 + "@example.com",  # LocalTooLong is a warning only
]

# egulias accepts these (quoted strings, comments, escapes, literals, non-ASCII local parts);
# we refuse them on purpose (see the module's docstring).
UPSTREAM_VALID_WE_REFUSE = [
    "â@iana.org",
    "fab\\ ien@symfony.com",
    "example((example))@fakedfake.co.uk",
    "инфо@письмо.рф",
    '"username"@example.com',
    '"user name"@example.com',
    "müller@möller.de",
    "validipv6@[IPv6:2001:db8:1ff::a0b:dbd0]",
    "validipv4@[127.0.0.0]",
    "example@faked(fake).co.uk",
]


# Edges where we match the panel exactly, each run through egulias/email-validator 4.0.1
# RFCValidation (with doctrine/lexer 3.0.0, as the panel's composer.lock pins them) under PHP 8.2
# while writing this test: (address, the panel accepts it).
CHECKED_AGAINST_EGULIAS = [
    ("a@x." + "b" * 62, True),
    ("a@x." + "b" * 63, False),  # labels after the first count their leading dot
    ("a@" + "b" * 63, True),
    ("a@" + "b" * 64, False),
    ("a@x." + "b" * 62 + ".com", True),
    ("a@" + "ъ" * 57, True),  # the xn-- form is what counts for an IDN label
    ("a@x.-b.io", True),  # a hyphen after a dot is not refused
    ("a@b-.io", False),
    ("a@1.2.3.4", True),
    ("a@x_y.io", False),
    ("a+b=c@x.io", True),
    ("a@localhost", True),
    ("a@x.io\n", False),
    (" a@x.io", False),
    ("a@x.io ", False),
    ("A@X.IO", True),
    ("a@ß.de", True),
    ("a@xn--80ak6aa92e.com", True),
]


@pytest.mark.parametrize(("email", "panel_accepts"), CHECKED_AGAINST_EGULIAS)
def test_edges_match_the_panel(email, panel_accepts):
    assert (panel_email_problem(email) is None) is panel_accepts


@pytest.mark.parametrize("email", UPSTREAM_INVALID)
def test_what_the_panel_refuses_we_refuse(email):
    assert panel_email_problem(email)


@pytest.mark.parametrize("email", UPSTREAM_VALID_DOT_ATOM)
def test_what_the_panel_accepts_in_dot_atom_form_we_accept(email):
    assert panel_email_problem(email) is None


@pytest.mark.parametrize("email", UPSTREAM_VALID_WE_REFUSE)
def test_the_forms_we_do_not_offer_are_refused(email):
    assert panel_email_problem(email)


def test_messages_say_what_to_change():
    assert panel_email_problem("john..doe@x.com") == (
        "The part before the @ cannot have two dots in a row."
    )
    assert panel_email_problem(".john@x.com") == (
        "The part before the @ cannot start or end with a dot."
    )
    assert panel_email_problem("a" * 180 + "@example.com") == (
        "Use an e-mail address of at most 191 characters."
    )
    assert panel_email_problem("a😀@x.com") == (
        "Remove the symbol, emoji or control character from the e-mail address."
    )
    assert panel_email_problem("a@x_y.com") == (
        "Use only letters, digits, hyphens and dots after the @."
    )
    # 191 characters is the most the panel takes (between:1,191).
    assert panel_email_problem("a" * 179 + "@example.com") is None


# --- properties -------------------------------------------------------------------------------

_atoms = st.text(alphabet=ATEXT, min_size=1, max_size=12)
_locals = st.lists(_atoms, min_size=1, max_size=4).map(".".join)
_ascii_labels = st.builds(
    lambda first, middle, last: first + middle + last,
    st.sampled_from(ALNUM),
    st.text(alphabet=ALNUM + "-", max_size=20),
    st.sampled_from(ALNUM),
) | st.sampled_from(ALNUM)
_idn_labels = st.sampled_from(["письмо", "münchen", "профи-инвест", "ъ" * 40, "日本語", "рф"])
_domains = st.lists(_ascii_labels | _idn_labels, min_size=1, max_size=4).map(".".join)
# Within between:1,191 (characters) and DomainPart::DOMAIN_MAX_LENGTH (253 bytes).
_valid = st.builds(lambda local, domain: f"{local}@{domain}", _locals, _domains).filter(
    lambda e: len(e) <= 191 and len(e.split("@")[1].encode()) <= 253
)
# Symbols and controls, but not the printable ASCII ones ("+", "=", "$" ... are atext).
_symbols = st.characters(categories=["So", "Sm", "Sc", "Sk", "Cc", "Cf", "Co"]).filter(
    lambda c: not (c.isascii() and c.isprintable())
)


@settings(max_examples=1000, deadline=None)
@given(email=_valid)
def test_dot_atom_addresses_within_the_panels_limits_are_accepted(email):
    assert panel_email_problem(email) is None


_REFUSED_IN_LOCAL = ',[]<>:;"() \\\t'


def _mutate(email: str, how: str, data: st.DataObject) -> str:
    local, _, domain = email.partition("@")
    labels = domain.split(".")
    if how == "consecutive_dots":
        cut = data.draw(st.integers(0, len(local)))
        return f"{local[:cut]}..{local[cut:]}@{domain}"
    if how == "leading_dot":
        return f".{local}@{domain}"
    if how == "trailing_dot":
        return f"{local}.@{domain}"
    if how == "symbol_anywhere":
        cut = data.draw(st.integers(0, len(email)))
        return email[:cut] + data.draw(_symbols) + email[cut:]
    if how == "refused_in_local":
        cut = data.draw(st.integers(0, len(local)))
        bad = data.draw(st.sampled_from(_REFUSED_IN_LOCAL))
        return f"{local[:cut]}{bad}{local[cut:]}@{domain}"
    if how == "refused_in_domain":
        i = data.draw(st.integers(0, len(labels) - 1))
        labels[i] += data.draw(st.sampled_from("_+'!=~*&%$#/\\ ,;"))
        return f"{local}@{'.'.join(labels)}x"
    if how == "hyphen_ends_label":
        i = data.draw(st.integers(0, len(labels) - 1))
        labels[i] += "-"
        return f"{local}@{'.'.join(labels)}"
    if how == "domain_edges":
        return data.draw(
            st.sampled_from([f"{local}@.{domain}", f"{local}@-{domain}", f"{local}@{domain}."])
        )
    if how == "consecutive_dots_in_domain":
        i = data.draw(st.integers(0, len(labels) - 1))
        labels[i] += "."
        return f"{local}@{'.'.join(labels)}"
    if how == "too_long":
        return "x" * (192 - len(email) + data.draw(st.integers(0, 50))) + email
    if how == "long_label":
        i = data.draw(st.integers(0, len(labels) - 1))
        labels[i] = "a" * (64 if i == 0 else 63)
        return f"{local}@{'.'.join(labels)}"
    if how == "no_at":
        return local + domain
    if how == "two_ats":
        return f"{email}@{domain}"
    raise AssertionError(how)


_MUTATIONS = [
    "consecutive_dots",
    "leading_dot",
    "trailing_dot",
    "symbol_anywhere",
    "refused_in_local",
    "refused_in_domain",
    "hyphen_ends_label",
    "domain_edges",
    "consecutive_dots_in_domain",
    "too_long",
    "long_label",
    "no_at",
    "two_ats",
]


@settings(max_examples=1500, deadline=None)
@given(email=_valid, how=st.sampled_from(_MUTATIONS), data=st.data())
def test_each_thing_the_panel_refuses_is_refused(email, how, data):
    broken = _mutate(email, how, data)
    assert panel_email_problem(broken), (how, broken)


_SHAPE = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*@[^@]+")


@settings(max_examples=1500, deadline=None)
@given(text=st.text(max_size=250) | st.emails() | st.text(alphabet=ATEXT + ".@-", max_size=60))
def test_anything_gets_an_answer_and_what_passes_is_dot_atom(text):
    problem = panel_email_problem(text)
    assert problem is None or (isinstance(problem, str) and problem)
    if problem is None:
        assert len(text) <= 191
        assert _SHAPE.fullmatch(text)
        domain = text.split("@")[1]
        assert not domain.startswith(("-", ".")) and not domain.endswith(("-", "."))
        assert ".." not in domain and "-." not in domain


# --- sign-up ----------------------------------------------------------------------------------


def _signup(email: str):
    client = Client(enforce_csrf_checks=True)
    page = client.get("/accounts/signup/")
    assert page.status_code == 200
    token = page.cookies["csrftoken"].value
    return client.post(
        "/accounts/signup/",
        {
            "email": email,
            "password1": "a-long-pass-phrase-9",
            "password2": "a-long-pass-phrase-9",
            "csrfmiddlewaretoken": token,
        },
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("email", "reason"),
    [
        # Each passes Django's own EmailValidator; the panel refuses it.
        ("a" * 180 + "@example.com", "Use an e-mail address of at most 191 characters."),
        ('"john..doe"@example.com', "Use only letters a-z, digits, dots and"),
        ("pay@x\u20ac.com", "Remove the symbol, emoji or control character"),
        ("a@[127.0.0.1]", "Use only letters, digits, hyphens and dots after the @."),
        ("a@x." + "b" * 63, "A part of the domain is too long."),
    ],
)
def test_signup_refuses_an_address_the_panel_would_refuse(email, reason):
    response = _signup(email)

    assert response.status_code == 200
    assert "Our game panel cannot use this e-mail address." in response.content.decode()
    assert reason.replace("'", "&#x27;") in response.content.decode()
    assert User.objects.count() == 0
    assert EmailAddress.objects.count() == 0


@pytest.mark.django_db
def test_signup_with_a_short_address_goes_through():
    response = _signup("A@x.io")

    assert response.status_code == 302
    user = User.objects.get()
    assert user.email == "a@x.io"
    assert EmailAddress.objects.get().email == "a@x.io"


# --- the operator console (Customers > Users) --------------------------------------------------


@pytest.fixture
def staff() -> Client:
    return superuser_client()


@pytest.mark.django_db
def test_console_add_refuses_an_address_the_panel_would_refuse(staff):
    data = admin_form_data(staff, "/admin/accounts/user/add/")
    data.update(
        email="a" * 180 + "@example.com",
        password1="a-long-pass-phrase-9",
        password2="a-long-pass-phrase-9",
        usable_password="true",
    )

    response = staff.post("/admin/accounts/user/add/", data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "email": [
            "Our game panel cannot use this e-mail address. Use an e-mail address of at most "
            "191 characters."
        ]
    }
    assert list(User.objects.values_list("email", flat=True)) == ["ops@example.com"]


@pytest.mark.django_db
def test_console_change_checks_a_new_address_only(staff):
    # Django's own check accepts this old address; the panel does not.
    customer = User.objects.create_user('"bea..x"@example.com', "pw-for-tests-1")
    url = f"/admin/accounts/user/{customer.pk}/change/"

    data = admin_form_data(staff, url)
    data["email"] = "a@[127.0.0.1]"
    response = staff.post(url, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "email": [
            "Our game panel cannot use this e-mail address. Use only letters, digits, hyphens "
            "and dots after the @."
        ]
    }
    customer.refresh_from_db()
    assert customer.email == '"bea..x"@example.com'

    # Editing something else is not blocked by the old address...
    data = admin_form_data(staff, url)
    data["first_name"] = "Bea"
    response = staff.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    customer.refresh_from_db()
    assert (customer.first_name, customer.email) == ("Bea", '"bea..x"@example.com')

    # ...and the fix the provisioning error asks for goes through.
    data = admin_form_data(staff, url)
    data["email"] = "bea@example.com"
    assert staff.post(url, data).status_code == 302
    customer.refresh_from_db()
    assert customer.email == "bea@example.com"


@pytest.mark.django_db
def test_adding_an_address_the_panel_would_refuse_is_refused():
    user = User.objects.create_user("bea@example.com", "pw-for-tests-1")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    page = client.get("/accounts/email/")
    assert page.status_code == 200

    response = client.post(
        "/accounts/email/",
        {
            "email": "pay@x\u20ac.com",
            "action_add": "",
            "csrfmiddlewaretoken": page.cookies["csrftoken"].value,
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "email": [
            "Our game panel cannot use this e-mail address. Remove the symbol, emoji or control "
            "character from the e-mail address."
        ]
    }
    assert list(EmailAddress.objects.values_list("email", flat=True)) == ["bea@example.com"]
