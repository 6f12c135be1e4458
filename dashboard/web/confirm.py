"""One way to confirm an irreversible action: a dialog on the page, a confirm page without JS.

Each destructive POST has a ``GET .../confirm`` route that renders ``confirm.html`` from a
``Confirmation``; the page the action sits on renders the same ``Confirmation`` as a closed
``<dialog>`` beside a link to that route (the ``confirm_action`` macro). ``static/js/app.js``
opens the dialog instead of following the link; without JavaScript the link opens the page.
Either way the merchant reads the same words and presses the same **Confirm** button once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import render_template
from flask.typing import ResponseReturnValue


@dataclass(frozen=True)
class Confirmation:
    """What an irreversible action does, in the merchant's words, and where it posts."""

    dialog_id: str  # unique on the page that holds the dialog
    title: str  # the question: "Cancel this payment link?"
    consequence: str  # what happens: "The payer can no longer pay ..."
    action_url: str  # the POST that does it
    confirm_url: str  # the GET confirm page, for a browser without JavaScript
    confirm_label: str  # the button that does it: "Cancel link"
    cancel_url: str  # where "Keep it" goes back to on the confirm page
    hidden: dict[str, str] = field(default_factory=dict)  # extra form fields of the POST


def confirm_page(confirmation: Confirmation) -> ResponseReturnValue:
    """Render the no-JavaScript confirm page; nothing is changed by showing it."""
    return (
        render_template("confirm.html", confirmation=confirmation),
        200,
        {"Cache-Control": "no-store"},
    )
