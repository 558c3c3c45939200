"""tenants.validators: one validator for tenant names, one for domains, on every surface."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from tenants.validators import normalize_domain, validate_domain, validate_tenant_name


@pytest.mark.parametrize("name", ["Hooli", "Pied Piper", "Zürich AG", "日本株式会社", "x" * 100])
def test_good_names(name: str) -> None:
    validate_tenant_name(name)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (None, "A tenant name is text, got NoneType."),
        (5, "A tenant name is text, got int."),
        ("", "The tenant needs a name."),
        ("   ", "The tenant needs a name."),
        ("x" * 101, f"The name {'x' * 40 + '…'!r} (101 characters) is longer than 100 characters."),
        (
            "Ev\x00il",
            "The name 'Ev\\x00il' contains U+0000, which does not print: use printable "
            "characters and ordinary spaces.",
        ),
        ("Red\x1b[31m", "contains U+001B, which does not print"),
        ("Two\nlines", "contains U+000A, which does not print"),
        ("Car\rriage", "contains U+000D, which does not print"),
        ("Tab\tbed", "contains U+0009, which does not print"),
        ("Ev\u202elive", "contains U+202E (RIGHT-TO-LEFT OVERRIDE), which does not print"),
        ("Zero\u200bwidth", "contains U+200B (ZERO WIDTH SPACE), which does not print"),
        ("No\u00a0break", "contains U+00A0 (NO-BREAK SPACE), which does not print"),
        (" Hooli", "The name ' Hooli' starts or ends with a space."),
    ],
)
def test_bad_names_are_validation_errors(name: object, message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        validate_tenant_name(name)
    (text,) = raised.value.messages
    assert message in text
    assert raised.value.code == "invalid_tenant_name"
    assert text.isprintable()


@pytest.mark.parametrize(
    "domain",
    [
        "localhost",
        "acme.localhost",
        "acme.example.com",
        "a-b.c0.io",
        "xn--bcher-kva.example",
        "127.0.0.1",
    ],
)
def test_good_domains(domain: str) -> None:
    validate_domain(domain)


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        (None, "The tenant needs a domain"),
        ("", "The tenant needs a domain"),
        ("http://acme.localhost", "give the host name alone"),
        ("acme.localhost/admin", "give the host name alone"),
        ("acme.localhost:8000", "no spaces, port or path"),
        ("ac me.localhost", "no spaces, port or path"),
        ("acme..localhost", "expected dot-separated labels"),
        ("acme.localhost.", "expected dot-separated labels"),
        ("-acme.localhost", "not starting or ending with '-'"),
        ("acme_corp.localhost", "expected dot-separated labels"),
        ("ACME.localhost", "domains are lower case ('acme.localhost')"),
        ("\u0430cme.localhost", "it contains U+0430 (CYRILLIC SMALL LETTER A)"),
        ("\uff41cme.localhost", "FULLWIDTH LATIN SMALL LETTER A"),
        ("b\u00fccher.example", "write an internationalised name in its IDNA form"),
        ("ab--cd.example", "reserved for 'xn--'"),
        ("xn--abc.example", "is not valid IDNA (punycode)"),
        ("a" * 64 + ".example", "1-63 lower-case letters"),
        (".".join(["a" * 60] * 5), "longer than 253 characters"),
        ("acme\x00.localhost", "no spaces, port or path"),
    ],
)
def test_bad_domains_are_validation_errors(domain: object, message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        validate_domain(domain)
    (text,) = raised.value.messages
    assert message in text
    assert raised.value.code == "invalid_domain"
    assert len(text) < 400 and text.isprintable()


def test_normalizing_strips_and_lowers_ascii_only() -> None:
    assert normalize_domain("  Acme.Example.COM ") == "acme.example.com"
    # The Kelvin sign lower-cases to an ASCII "k": it must stay as given, to be refused.
    assert normalize_domain("\u212acme.com") == "\u212acme.com"
    with pytest.raises(ValidationError, match="KELVIN SIGN"):
        validate_domain(normalize_domain("\u212acme.com"))
    assert normalize_domain(None) is None
