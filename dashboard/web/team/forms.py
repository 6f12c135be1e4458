"""The Team page's forms: invite a member, change a member's role.

The invite form carries the new invitation's id, minted when it is shown and signed for the
account, so that sending the same form twice makes one invitation, not two.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, SelectChoice, SelectField
from wtforms.validators import ValidationError

from dashboard.core.errors import InvalidInput
from dashboard.core.ids import new_id
from dashboard.core.signed_ids import sign_new_id, unsign_new_id
from dashboard.domain.actor import Role
from dashboard.domain.team import MAX_EMAIL_LENGTH, ROLES_BY_RANK, clean_invitation_email
from dashboard.web.secret_key import secret_key

_INVITATION_ID_PURPOSE = "new-invitation-id"


def unsign_invitation_id(token: str, account_id: str) -> str:
    """Return the invitation id in a signed token, or raise FormExpired."""
    return unsign_new_id(secret_key(), token, account_id, _INVITATION_ID_PURPOSE)


def role_choices(roles: list[Role]) -> list[SelectChoice]:
    """Return a role menu's options, highest role first."""
    return [SelectChoice(role.value, role.label) for role in roles]


class InviteMemberForm(FlaskForm):
    """Who to invite (an email address) and the role they get on accepting."""

    invitation_token = HiddenField()
    email = EmailField(
        "Email",
        render_kw={
            "maxlength": MAX_EMAIL_LENGTH,
            "autocomplete": "off",
            "spellcheck": "false",
            "placeholder": "name@example.com",
        },
    )
    role = SelectField("Role", default=Role.VIEWER.value)

    def validate_email(self, field: EmailField) -> None:
        """Check the address by the same rule the service applies."""
        try:
            clean_invitation_email(field.data)
        except InvalidInput as exc:
            raise ValidationError(exc.errors["email"]) from None


class ChangeRoleForm(FlaskForm):
    """A member's new role; the service decides whether the actor may give it."""

    member = HiddenField()
    role = SelectField("Role", choices=role_choices(list(ROLES_BY_RANK)))


def invite_form(roles: list[Role], blank: bool = False) -> InviteMemberForm:
    """Return the invite form offering the roles the actor may give.

    It holds what the request sent (a submit shown again keeps its values) unless ``blank``.
    """
    form = InviteMemberForm(formdata=None) if blank else InviteMemberForm()
    form.role.choices = role_choices(roles)
    return form


def with_new_invitation_id(form: InviteMemberForm, account_id: str) -> InviteMemberForm:
    """Give the form a freshly minted invitation id, signed for the account; return the form."""
    form.invitation_token.data = sign_new_id(
        secret_key(), new_id(), account_id, _INVITATION_ID_PURPOSE
    )
    return form
