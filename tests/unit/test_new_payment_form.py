"""The create-payment-link form: what a merchant may type, and the signed payment id it carries."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import render_template
from itsdangerous import TimestampSigner

from dashboard.app import create_app
from dashboard.core.signed_ids import FormExpired
from dashboard.web.payments.forms import NewPaymentLinkForm, sign_payment_id, unsign_payment_id

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
VALID = {"amount": "12.50", "currency": "GBP", "reference": "Invoice 42"}


@pytest.fixture
def app():
    """Return the app built for tests; creating it makes no DynamoDB call."""
    app = create_app(
        {"APP_ENV": "test", "SECRET_KEY": "x" * 40, "DYNAMODB_ENDPOINT": "http://127.0.0.1:1"}
    )
    app.config["WTF_CSRF_ENABLED"] = False
    return app


@pytest.fixture
def submit(app):
    """Return a function that posts the form with the given fields and validates it."""
    contexts = []

    def submit(
        data: dict[str, str], now: datetime = NOW, zone: ZoneInfo | None = None
    ) -> NewPaymentLinkForm:
        context = app.test_request_context(method="POST", data=data)
        context.push()
        contexts.append(context)
        form = NewPaymentLinkForm(now=now, zone=zone)
        form.validate()
        return form

    yield submit
    for context in reversed(contexts):
        context.pop()


def test_a_valid_form_becomes_a_request_for_a_new_link(submit):
    """Amount in minor units, currency and reference reach the service as typed."""
    form = submit(VALID)

    assert form.errors == {}
    request = form.to_request("pay-1")
    assert request.payment_id == "pay-1"
    assert request.amount_minor == 1250
    assert request.currency == "GBP"
    assert request.reference == "Invoice 42"
    assert request.payer_name is None
    assert request.payer_email is None
    assert request.expires_at is None


def test_the_optional_payer_and_expiry_are_passed_on_tidied(submit):
    """Spaces are trimmed, the email lower-cased and the expiry read as UTC."""
    form = submit(
        VALID
        | {
            "amount": "€1,250.00",
            "currency": "EUR",
            "reference": "  Order (7)/B-2  ",
            "payer_name": "  Ada Lovelace ",
            "payer_email": " Ada@Example.COM ",
            "expires_at": "2030-01-08T12:00",
        }
    )

    assert form.errors == {}
    request = form.to_request("pay-1")
    assert request.amount_minor == 125_000
    assert request.currency == "EUR"
    assert request.reference == "Order (7)/B-2"
    assert request.payer_name == "Ada Lovelace"
    assert request.payer_email == "ada@example.com"
    assert request.expires_at == datetime(2030, 1, 8, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("amount", "Enter the amount to collect."),
        ("reference", "Enter a reference the payer will recognise."),
    ],
)
def test_a_missing_required_field_says_what_to_enter(submit, missing, message):
    """The merchant is told exactly which field to fill in."""
    form = submit(VALID | {missing: ""})

    assert form.errors == {missing: [message]}


def test_an_amount_the_app_cannot_read_is_explained(submit):
    """The amount rules from the money module show up on the form."""
    form = submit(VALID | {"amount": "12.505"})

    assert form.errors == {"amount": ["GBP amounts have at most 2 digits after the point."]}


def test_the_amount_is_checked_against_the_chosen_currency(submit):
    """A pound sign on a euro link is refused."""
    assert submit(VALID | {"amount": "£12.50", "currency": "GBP"}).errors == {}
    assert "amount" in submit(VALID | {"amount": "£12.50", "currency": "EUR"}).errors


def test_a_currency_the_product_does_not_offer_is_refused(submit):
    """Only GBP and EUR links can be made."""
    form = submit(VALID | {"currency": "USD"})

    assert "currency" in form.errors


def test_a_reference_of_eighteen_characters_is_accepted_and_nineteen_is_not(submit):
    """The provider's reference limit is enforced before the provider sees it, saying both rules."""
    assert submit(VALID | {"reference": "A" * 18}).errors == {}
    assert submit(VALID | {"reference": "A" * 19}).errors == {
        "reference": [
            "Use at most 18 characters (this has 19): letters, digits, spaces and "
            "- . / ? : ( ) , ' +."
        ]
    }


@pytest.mark.parametrize(
    ("reference", "refused"),
    [("Invoice <42>", "< >"), ("Invoice_42", "_"), ("Invoice #42", "#"), ("Café 42", "é")],
)
def test_a_reference_with_characters_the_provider_refuses_is_rejected(submit, reference, refused):
    """Only the provider's safe characters may reach a payer's bank statement; the error names
    the limit, what is allowed and what was not."""
    form = submit(VALID | {"reference": reference})

    assert form.errors == {
        "reference": [
            "Use letters, digits, spaces and - . / ? : ( ) , ' + only, up to 18 characters "
            f"(not {refused})."
        ]
    }


def test_a_long_reference_is_never_cut_short(submit):
    """What the browser's maxlength used to do silently: 26 characters are refused, not cut."""
    form = submit(VALID | {"reference": "Invoice #42 & more stuff!!"})

    assert form.errors["reference"] == [
        "Use at most 18 characters (this has 26): letters, digits, spaces and - . / ? : ( ) , ' +."
    ]


def test_the_reference_field_has_no_maxlength_and_shows_a_count(app):
    """A maxlength would cut a pasted reference without a word; a count says how long it is."""
    with app.test_request_context():
        form = NewPaymentLinkForm()
        form.reference.data = "Invoice 42"
        page = render_template(
            "payments/new.html", form=form, reference_rule="rule", reference_max=18
        )

    reference = re.search(r"<input[^>]*name=\"reference\"[^>]*>", page)
    assert reference
    assert "maxlength" not in reference.group(0)
    assert 'aria-describedby="reference-hint reference-count"' in reference.group(0)
    assert '<small id="reference-count" class="char-count" data-count-of="reference"' in page
    assert ">10 / 18</small>" in page


def test_an_invalid_payer_email_is_rejected(submit):
    """A typo in the payer's address is caught on the form."""
    form = submit(VALID | {"payer_email": "ada-at-example.com"})

    assert form.errors == {"payer_email": ["Enter an email address such as name@example.com."]}


def test_an_expiry_in_the_past_is_rejected(submit):
    """A link that is already expired cannot be created."""
    form = submit(VALID | {"expires_at": "2030-01-01T11:59"})

    assert form.errors == {"expires_at": ["Choose a time in the future."]}


def test_an_expiry_of_exactly_now_is_rejected(submit):
    """The expiry must be after the moment of creating the link."""
    form = submit(VALID | {"expires_at": "2030-01-01T12:00"})

    assert form.errors == {"expires_at": ["Choose a time in the future."]}


def test_an_expiry_thirty_days_ahead_is_accepted_and_a_minute_more_is_not(submit):
    """A link can stay open for at most 30 days."""
    thirty_days = (NOW + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    one_minute_more = (NOW + timedelta(days=30, minutes=1)).strftime("%Y-%m-%dT%H:%M")

    assert submit(VALID | {"expires_at": thirty_days}).errors == {}
    assert submit(VALID | {"expires_at": one_minute_more}).errors == {
        "expires_at": ["A link can stay open for at most 30 days."]
    }


def test_the_expiry_is_read_in_the_accounts_zone(submit):
    """12:00 typed in Paris in January is 11:00 UTC."""
    form = submit(VALID | {"expires_at": "2030-01-08T12:00"}, zone=ZoneInfo("Europe/Paris"))
    assert form.errors == {}
    assert form.to_request("01932c4e-7b1a-7c3d-9e4f-0a1b2c3d4e5f").expires_at == datetime(
        2030, 1, 8, 11, 0, tzinfo=UTC
    )


def test_an_expiry_the_clocks_skip_is_refused_saying_why(submit):
    """01:30 on 31 March 2030 does not exist in London: the clocks go from 01:00 to 02:00."""
    form = submit(VALID | {"expires_at": "2030-03-31T01:30"}, now=NOW + timedelta(days=80))
    assert form.errors == {
        "expires_at": [
            "01:30 on 31 Mar 2030 does not exist in Europe/London: the clocks skip it. "
            "Choose a time after the change."
        ]
    }


def test_an_expiry_the_clocks_pass_twice_is_the_earlier(submit):
    """01:30 on 27 October 2030 happens twice in London: the earlier is 00:30 UTC (BST)."""
    form = submit(VALID | {"expires_at": "2030-10-27T01:30"}, now=NOW + timedelta(days=290))
    assert form.errors == {}
    assert form.to_request("01932c4e-7b1a-7c3d-9e4f-0a1b2c3d4e5f").expires_at == datetime(
        2030, 10, 27, 0, 30, tzinfo=UTC
    )


def test_the_expiry_is_judged_against_the_time_the_form_is_given(submit):
    """The same expiry is valid or not depending on when the merchant submits."""
    expiry = {"expires_at": "2030-01-05T12:00"}

    assert submit(VALID | expiry, now=NOW).errors == {}
    assert "expires_at" in submit(VALID | expiry, now=NOW + timedelta(days=5)).errors


# The payment id carried by the form


def test_a_signed_payment_id_comes_back_for_the_same_merchant(app):
    """The id minted when the form was shown is the one used when it is submitted."""
    with app.app_context():
        token = sign_payment_id("pay-1", "merchant-1")

        assert unsign_payment_id(token, "merchant-1") == "pay-1"


def test_a_payment_id_signed_for_another_merchant_is_refused(app):
    """One merchant's form cannot create a payment under another merchant's id."""
    with app.app_context():
        token = sign_payment_id("pay-1", "merchant-1")

        with pytest.raises(FormExpired):
            unsign_payment_id(token, "merchant-2")


def test_a_tampered_payment_id_is_refused(app):
    """Changing the signed content, or sending nothing, invalidates the hidden field."""
    with app.app_context():
        token = sign_payment_id("pay-1", "merchant-1")
        # The payload comes first; the last characters of a signature can be padding bits.
        tampered = ("f" if token[0] != "f" else "g") + token[1:]

        with pytest.raises(FormExpired):
            unsign_payment_id(tampered, "merchant-1")
        with pytest.raises(FormExpired):
            unsign_payment_id("", "merchant-1")


def test_a_payment_id_signed_by_another_app_is_refused(app):
    """A token made with a different secret key is not trusted."""
    other = create_app(
        {"APP_ENV": "test", "SECRET_KEY": "y" * 40, "DYNAMODB_ENDPOINT": "http://127.0.0.1:1"}
    )
    with other.app_context():
        token = sign_payment_id("pay-1", "merchant-1")

    with app.app_context(), pytest.raises(FormExpired):
        unsign_payment_id(token, "merchant-1")


def test_a_form_left_open_for_more_than_a_day_gets_a_new_payment_id(app, monkeypatch):
    """A day-old tab is told the form expired instead of creating a payment."""
    signed_at = int(NOW.timestamp())
    with app.app_context():
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: signed_at)
        token = sign_payment_id("pay-1", "merchant-1")

        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: signed_at + 23 * 3600)
        assert unsign_payment_id(token, "merchant-1") == "pay-1"

        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: signed_at + 25 * 3600)
        with pytest.raises(FormExpired):
            unsign_payment_id(token, "merchant-1")


def test_a_payer_name_of_sixty_characters_is_accepted_and_sixty_one_is_not(submit):
    """Every word of the name is searchable; the bound keeps its index items in one write."""
    assert submit(VALID | {"payer_name": "N" * 60}).errors == {}
    assert submit(VALID | {"payer_name": "N" * 61}).errors == {
        "payer_name": ["Use at most 60 characters."]
    }
