"""The signed-in header's own read, the person's accounts for the switcher, started early.

Every full page shows the account switcher, which needs one Query of the person's accounts.
A route that knows it renders a full page may start that read on the side
(``start_account_choices``) before its own reads, so the header waits for nothing; the
template's ``account_choices`` takes the result, or reads then if nobody started it. Either way
the list is read during this request: nothing is kept between requests.
"""

from __future__ import annotations

from flask import current_app, g

from dashboard.domain.accounts import Membership
from dashboard.domain.actor import Person
from dashboard.services.accounts import AccountService
from dashboard.store.dynamo import StoreUnavailable
from dashboard.web.actor import resolve_actor

_PENDING = "account_choices_read"


def _signed_in_person() -> Person | None:
    actor = resolve_actor().actor
    return actor.person if actor is not None else None


def start_account_choices() -> None:
    """Start reading the signed-in person's accounts on the side, for the header to come."""
    person = _signed_in_person()
    if person is None or _PENDING in g:
        return
    accounts: AccountService = current_app.extensions["accounts"]
    setattr(
        g,
        _PENDING,
        current_app.extensions["side_reads"].start(lambda: accounts.accounts_of(person)),
    )


def account_choices() -> list[Membership]:
    """Return the signed-in person's accounts for the header's switcher (one Query).

    With DynamoDB down the header shows no switcher rather than failing the page, which may
    be the very error page saying the store is unavailable.
    """
    person = _signed_in_person()
    if person is None:
        return []
    started = g.pop(_PENDING, None)
    accounts: AccountService = current_app.extensions["accounts"]
    try:
        return started.result() if started is not None else accounts.accounts_of(person)
    except StoreUnavailable:
        return []
