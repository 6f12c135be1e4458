"""Routes for the Team page (Settings → Team) and invitation links. They parse and render; the
team service decides (``dashboard.services.team``).

A refused team change (the last Owner, one's own role, a role one may not give) shows the Team
page again with the reason, under the status of its kind (403, 409...), rather than an error
page that leads away from the team.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user

from dashboard.core.errors import DomainError, ErrorKind, InvalidInput
from dashboard.core.signed_ids import FormExpired
from dashboard.domain.accounts import Membership
from dashboard.domain.actor import Role
from dashboard.domain.notifications import Notice
from dashboard.domain.permissions import Permission
from dashboard.domain.team import ROLE_SUMMARIES, Invitation, TeamChangeForbidden
from dashboard.services.accounts import AccountService
from dashboard.services.invitations import (
    InvitationAlreadyCreated,
    InvitationNotForYou,
    InvitationNotUsable,
    InvitationService,
)
from dashboard.services.sessions import SESSION_ID_KEY, SessionService, session_hash
from dashboard.services.team import MemberNotFound, Team, TeamService
from dashboard.web.actor import current_actor, resolve_actor
from dashboard.web.confirm import Confirmation, confirm_page
from dashboard.web.hosts import external_url
from dashboard.web.permissions import public, requires, signed_in
from dashboard.web.request_log import secret_in_path
from dashboard.web.step_up import recent_sign_in_required
from dashboard.web.team.forms import (
    ChangeRoleForm,
    InviteMemberForm,
    invite_form,
    unsign_invitation_id,
    with_new_invitation_id,
)

bp = Blueprint("team", __name__)

# Inviting, changing a role, removing a member and transferring ownership need a sign-in no
# older than 5 minutes (``recent_sign_in_required``), after the role check: a role that may not
# gets its 403 first, not a request to sign in again.

# The catalogue's statuses (``web/errors.py``) for the refusals these pages show themselves;
# that module is not imported here, as it brings in the JSON API's blueprint.
STATUS = {
    ErrorKind.INVALID_INPUT: 422,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.FORBIDDEN: 403,
}
FORM_EXPIRED = "This form was open too long. Check the address and role and invite again."


def team_service() -> TeamService:
    """Return the app's team service."""
    return current_app.extensions["team"]


def invitation_service() -> InvitationService:
    """Return the app's invitation service."""
    return current_app.extensions["invitations"]


def _team_page(
    form: InviteMemberForm | None = None,
    status: int = 200,
    refusal: DomainError | None = None,
    created: Invitation | None = None,
    created_link: str | None = None,
) -> ResponseReturnValue:
    actor = current_actor()
    team = team_service().team_of(actor)
    if form is None:
        # Blank, also after a POST: the form just sent made its invitation.
        blank = invite_form(team.grantable_roles, blank=True)
        form = with_new_invitation_id(blank, actor.account_id)
    return (
        render_template(
            "team/index.html",
            team=team,
            form=form,
            role_form=ChangeRoleForm(formdata=None),
            refusal=refusal,
            created=created,
            created_link=created_link,
            role_summaries=ROLE_SUMMARIES,
            confirmations=_confirmations(team),
        ),
        status,
        # Never from the browser's cache: the invite form carries an id minted for one submit,
        # and the page just after inviting shows the link, once.
        {"Cache-Control": "no-store"},
    )


def _who(member: Membership) -> str:
    """Return how the Team page names a member: their email, else their name, else subject."""
    return member.email or member.name or member.person.sub


def _remove_confirmation(member: Membership, index: int = 1) -> Confirmation:
    return Confirmation(
        dialog_id=f"confirm-remove-member-{index}",
        title=f"Remove {_who(member)}?",
        consequence=(
            f"{_who(member)} loses access to this account at once. "
            "To let them back, invite them again."
        ),
        action_url=url_for("team.remove_member"),
        confirm_url=url_for("team.confirm_remove_member", member=member.person.key),
        confirm_label="Remove member",
        cancel_url=url_for("team.team_page"),
        hidden={"member": member.person.key},
    )


def _leave_confirmation(account_name: str) -> Confirmation:
    return Confirmation(
        dialog_id="confirm-leave-account",
        title=f"Leave {account_name}?",
        consequence=(
            f"You lose access to {account_name} at once. "
            "A member who manages the team can invite you again."
        ),
        action_url=url_for("team.leave_account"),
        confirm_url=url_for("team.confirm_leave_account"),
        confirm_label="Leave account",
        cancel_url=url_for("team.team_page"),
    )


def _revoke_invitation_confirmation(invitation: Invitation, index: int = 1) -> Confirmation:
    return Confirmation(
        dialog_id=f"confirm-revoke-invitation-{index}",
        title=f"Revoke the invitation for {invitation.email}?",
        consequence=(
            f"The invitation's link stops working at once: {invitation.email} can no longer "
            "join with it. You can invite them again."
        ),
        action_url=url_for("team.revoke_invitation", invitation_id=invitation.invitation_id),
        confirm_url=url_for(
            "team.confirm_revoke_invitation", invitation_id=invitation.invitation_id
        ),
        confirm_label="Revoke invitation",
        cancel_url=url_for("team.team_page"),
    )


def _transfer_confirmation(member: Membership, index: int = 1) -> Confirmation:
    return Confirmation(
        dialog_id=f"confirm-transfer-{index}",
        title=f"Make {_who(member)} the Owner?",
        consequence=(
            f"{_who(member)} becomes an Owner of this account and you become an Admin: you keep "
            "managing members, settings and keys, but no longer Owners. Only an Owner can "
            "give ownership back."
        ),
        action_url=url_for("team.transfer_ownership"),
        confirm_url=url_for("team.confirm_transfer_ownership", member=member.person.key),
        confirm_label="Transfer ownership",
        cancel_url=url_for("team.team_page"),
        hidden={"member": member.person.key},
    )


def _confirmations(team: Team) -> dict[str, Confirmation]:
    """Return the dialog of each irreversible action the Team page offers, by what it acts on."""
    confirmations: dict[str, Confirmation] = {}
    for index, row in enumerate(team.members, start=1):
        if row.removable:
            confirmations[f"remove:{row.membership.person.key}"] = _remove_confirmation(
                row.membership, index
            )
        if row.is_you and team.can_leave:
            confirmations["leave"] = _leave_confirmation(row.membership.account_name)
    for index, invitation in enumerate(team.invitations, start=1):
        confirmations[f"revoke:{invitation.invitation_id}"] = _revoke_invitation_confirmation(
            invitation, index
        )
    for index, member in enumerate(team.transfer_candidates, start=1):
        confirmations[f"transfer:{member.person.key}"] = _transfer_confirmation(member, index)
    return confirmations


def _refused(exc: DomainError) -> ResponseReturnValue:
    if exc.kind not in STATUS:
        raise exc  # the store is down, say: the error catalogue's page
    return _team_page(status=STATUS[exc.kind], refusal=exc)


@bp.get("/settings/team")
@requires(Permission.READ)
def team_page() -> ResponseReturnValue:
    """Show the account's members, its pending invitations and what the actor may change."""
    return _team_page()


@bp.post("/settings/team/invitations")
@requires(Permission.MANAGE_MEMBERS)
@recent_sign_in_required(
    return_to="team.team_page"
)  # inviting a member: a sign-in within 5 minutes
def invite_member() -> ResponseReturnValue:
    """Invite someone by email with a role; show the invitation's link, this once.

    The form carries the invitation id minted when it was shown: sent again (a reload of the
    page that shows the link), it finds that invitation made and says so, never a second one.
    """
    actor = current_actor()
    team = team_service().team_of(actor)
    form = invite_form(team.grantable_roles)
    try:
        invitation_id = unsign_invitation_id(form.invitation_token.data or "", actor.account_id)
    except FormExpired:
        flash(FORM_EXPIRED, "warning")
        return _team_page(with_new_invitation_id(form, actor.account_id), 422)
    if not form.validate():
        return _team_page(form, 422)
    try:
        invitation, token = invitation_service().invite(
            actor, invitation_id, form.email.data, Role(form.role.data)
        )
    except InvalidInput as exc:
        form.email.errors = [exc.errors.get("email", exc.explanation())]
        return _team_page(form, 422)
    except InvitationAlreadyCreated as exc:
        flash(exc.explanation(), "warning")
        blank = invite_form(team.grantable_roles, blank=True)
        return _team_page(with_new_invitation_id(blank, actor.account_id), 409)
    except TeamChangeForbidden as exc:
        return _refused(exc)
    # Rendered, not redirected: a redirect would have to carry the link in the session cookie.
    link = external_url("team.show_invitation", token=token)
    return _team_page(created=invitation, created_link=link)


@bp.get("/settings/team/invitations/<invitation_id>/revoke/confirm")
@requires(Permission.MANAGE_MEMBERS)
def confirm_revoke_invitation(invitation_id: str) -> ResponseReturnValue:
    """Ask before revoking an invitation (the page without JavaScript; the dialog says the same)."""
    team = team_service().team_of(current_actor())
    found = [i for i in team.invitations if i.invitation_id == invitation_id]
    if not found:
        abort(404)
    return confirm_page(_revoke_invitation_confirmation(found[0]))


@bp.post("/settings/team/invitations/<invitation_id>/revoke")
@requires(Permission.MANAGE_MEMBERS)
def revoke_invitation(invitation_id: str) -> ResponseReturnValue:
    """Revoke a pending invitation: its link stops working at once."""
    try:
        invitation = invitation_service().revoke_invitation(current_actor(), invitation_id)
    except (InvitationNotUsable, TeamChangeForbidden) as exc:
        return _refused(exc)
    flash(f"The invitation for {invitation.email} is revoked; its link no longer works.", "success")
    return redirect(url_for("team.team_page"), 303)


@bp.post("/settings/team/members/role")
@requires(Permission.MANAGE_MEMBERS)
@recent_sign_in_required(
    return_to="team.team_page"
)  # changing a member's role: a sign-in within 5 minutes
def change_role() -> ResponseReturnValue:
    """Give a member another role, from their next request on."""
    form = ChangeRoleForm()
    if not form.validate():
        return _refused(InvalidInput({"role": "Choose one of the roles."}))
    try:
        member = team_service().change_role(
            current_actor(), form.member.data or "", Role(form.role.data)
        )
    except DomainError as exc:
        return _refused(exc)
    flash(f"{_name(member.email)} is now {_article(member.role)}.", "success")
    return redirect(url_for("team.team_page"), 303)


@bp.get("/settings/team/members/remove/confirm")
@requires(Permission.MANAGE_MEMBERS)
@recent_sign_in_required()  # asked here, before the question, as well as on the POST
def confirm_remove_member() -> ResponseReturnValue:
    """Ask before removing a member (the page without JavaScript; the dialog says the same)."""
    team = team_service().team_of(current_actor())
    key = request.args.get("member", "")
    found = [r.membership for r in team.members if r.removable and r.membership.person.key == key]
    if not found:
        abort(404)
    return confirm_page(_remove_confirmation(found[0]))


@bp.post("/settings/team/members/remove")
@requires(Permission.MANAGE_MEMBERS)
@recent_sign_in_required(
    return_to="team.team_page"
)  # removing a member: a sign-in within 5 minutes
def remove_member() -> ResponseReturnValue:
    """Remove a member: their next request no longer sees the account."""
    try:
        member = team_service().remove_member(current_actor(), request.form.get("member", ""))
    except DomainError as exc:
        return _refused(exc)
    flash(f"{_name(member.email)} is no longer a member of this account.", "success")
    return redirect(url_for("team.team_page"), 303)


@bp.get("/settings/team/transfer/confirm")
@requires(Permission.MANAGE_OWNERS)
@recent_sign_in_required()  # asked here, before the question, as well as on the POST
def confirm_transfer_ownership() -> ResponseReturnValue:
    """Ask before transferring ownership to the member chosen (the page without JavaScript)."""
    team = team_service().team_of(current_actor())
    key = request.args.get("member", "")
    found = [m for m in team.transfer_candidates if m.person.key == key]
    if not found:
        abort(404)
    return confirm_page(_transfer_confirmation(found[0]))


@bp.post("/settings/team/transfer")
@requires(Permission.MANAGE_OWNERS)
@recent_sign_in_required(
    return_to="team.team_page"
)  # transferring ownership: a sign-in within 5 minutes
def transfer_ownership() -> ResponseReturnValue:
    """Make another member the Owner and the acting Owner an Admin."""
    try:
        member = team_service().transfer_ownership(current_actor(), request.form.get("member", ""))
    except DomainError as exc:
        return _refused(exc)
    flash(f"{_name(member.email)} is now an Owner, and you are an Admin.", "success")
    return redirect(url_for("team.team_page"), 303)


@bp.get("/settings/team/leave/confirm")
@signed_in  # any member may leave (the service keeps the last Owner)
def confirm_leave_account() -> ResponseReturnValue:
    """Ask before leaving the account (the page without JavaScript; the dialog says the same)."""
    team = team_service().team_of(current_actor())
    you = [row.membership for row in team.members if row.is_you]
    if not team.can_leave or not you:
        flash("The last Owner cannot leave: make another member an Owner first.", "error")
        return redirect(url_for("team.team_page"), 303)
    return confirm_page(_leave_confirmation(you[0].account_name))


@bp.post("/settings/team/leave")
@signed_in  # any member may leave (the service keeps the last Owner)
def leave_account() -> ResponseReturnValue:
    """Leave the account; the session moves to another account of the person's, or ends."""
    try:
        left = team_service().leave(current_actor())
    except DomainError as exc:
        return _refused(exc)
    flash(f"You left {left.account_name}.", "success")
    return redirect(url_for("payments.list_payments"), 303)


# -- invitation links -------------------------------------------------------------------------


@bp.get("/invitations/<token>")
@public  # the token is the key: whoever holds it may see the invitation
@secret_in_path("token")  # whoever holds the token may see, and if invited, accept
def show_invitation(token: str) -> ResponseReturnValue:
    """Show an invitation: to whom, which account and role; signed in, whether one may accept.

    Only the POST accepts: mail scanners and link previews follow links.
    """
    invitation = invitation_service().invitation_for_link(token)
    reason = _why_not(invitation)
    return _invitation_page(token, invitation, reason)


@bp.post("/invitations/<token>")
@signed_in  # a person not yet a member of the account: their role there comes from accepting
@secret_in_path("token")
def accept_invitation(token: str) -> ResponseReturnValue:
    """Accept an invitation: join its account with its role and start working in it."""
    actor = current_actor()
    try:
        membership = invitation_service().accept(
            actor, token, current_user.email, current_user.email_verified, current_user.name
        )
    except (InvitationNotUsable, InvitationNotForYou) as exc:
        invitation = invitation_service().invitation_for_link(token)
        return _invitation_page(token, invitation, exc, STATUS[exc.kind])
    assert actor.person is not None, "accept refuses a caller who is not a person"
    accounts: AccountService = current_app.extensions["accounts"]
    accounts.switch(actor.person, membership.account_id)
    sessions: SessionService = current_app.extensions["sessions"]
    sessions.switch_account(session_hash(session[SESSION_ID_KEY]), membership.account_id)
    flash(
        f"Welcome to {membership.account_name}: you joined as {_article(membership.role)}.",
        "success",
    )
    return redirect(url_for("payments.list_payments"), 303)


def _why_not(invitation: Invitation) -> DomainError | None:
    """Return why the signed-in person may not accept (None if they may, or nobody signed in)."""
    actor = resolve_actor().actor
    if actor is None or actor.person is None:
        # Signed out, only the invitation's own state is known.
        try:
            invitation_service().check_usable(invitation)
        except InvitationNotUsable as exc:
            return exc
        return None
    try:
        invitation_service().check_can_accept(
            invitation, actor.person, current_user.email, current_user.email_verified
        )
    except (InvitationNotUsable, InvitationNotForYou) as exc:
        return exc
    return None


def _invitation_page(
    token: str, invitation: Invitation, reason: DomainError | None, status: int = 200
) -> ResponseReturnValue:
    return (
        render_template(
            "team/invitation.html",
            token=token,
            invitation=invitation,
            reason=reason,
            signed_in=resolve_actor().actor is not None,
            role_summaries=ROLE_SUMMARIES,
        ),
        status,
        # The page's address is the invitation's secret: never kept by a cache.
        {"Cache-Control": "no-store"},
    )


def _name(email: str | None) -> str:
    return email or "The member"


def _article(role: Role) -> str:
    """Return the role with its article: "an Owner", "a Viewer"."""
    article = "an" if role.label[0] in "AEIOU" else "a"
    return f"{article} {role.label}"


# -- the member's own notifications (Settings → Notifications) --------------------------------


@bp.get("/settings/notifications")
@signed_in
def notifications_page() -> ResponseReturnValue:
    """Show what the signed-in member is emailed about in this account, to change it."""
    available, chosen = _notices_or_403()
    return render_template("team/notifications.html", available=available, chosen=chosen)


@bp.post("/settings/notifications")
@signed_in
def save_notifications() -> ResponseReturnValue:
    """Store the member's own choices; each member sets theirs, whatever their role."""
    try:
        team_service().set_notices(current_actor(), request.form.getlist("notices"))
    except ValueError:
        abort(400)  # a value no page offers
    except DomainError as exc:
        flash(exc.explanation(), "warning")
        available, chosen = _notices_or_403()
        page = render_template("team/notifications.html", available=available, chosen=chosen)
        return page, STATUS.get(exc.kind, 409)
    flash("Notifications saved.", "success")
    return redirect(url_for("team.notifications_page"), 303)


def _notices_or_403() -> tuple[list[Notice], frozenset[Notice]]:
    try:
        return team_service().notices_of(current_actor())
    except MemberNotFound:
        abort(403)  # signed in without a membership here (an account made before members)
