"""What each role may do: the one table the code checks (the tests hold their own, by hand).

A permission names a kind of action, not a route: every page, action and API call declares the
one it needs (``dashboard.web.permissions``), and the interface hides what the actor's role
lacks. API keys carry a scope instead of a role: ``full`` may do what a Payments operator and a
Developer may but make API keys (never members or settings), ``read_only`` only reads.
"""

from __future__ import annotations

from enum import StrEnum

from dashboard.core.errors import Forbidden
from dashboard.domain.actor import Actor, Role
from dashboard.domain.api_keys import KeyScope

__all__ = [
    "ROLE_PERMISSIONS",
    "SCOPE_PERMISSIONS",
    "KeyScope",
    "NotPermitted",
    "Permission",
    "can",
    "role_can",
    "roles_that_can",
    "scope_can",
]


class Permission(StrEnum):
    """A kind of action in an account."""

    READ = "read"  # see payments, orders, statistics, settings, members
    TAKE_PAYMENTS = "take_payments"  # create, cancel, retry, refresh payment links; orders
    REFUND = "refund"  # give money back: refund (part of) a completed payment, retry a refund
    MANAGE_API_KEYS = "manage_api_keys"  # create and revoke API keys
    MANAGE_WEBHOOKS = "manage_webhooks"  # add, rotate the secret of, disable, delete endpoints
    MANAGE_MEMBERS = "manage_members"  # invite, change roles below Owner, remove members
    MANAGE_OWNERS = "manage_owners"  # grant, change or remove Owner; transfer ownership
    MANAGE_SETTINGS = "manage_settings"  # the account's settings
    READ_AUDIT_LOG = "read_audit_log"  # the audit log


_EVERYTHING = frozenset(Permission)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: _EVERYTHING,
    Role.ADMIN: _EVERYTHING - {Permission.MANAGE_OWNERS},
    Role.DEVELOPER: frozenset(
        {Permission.READ, Permission.MANAGE_API_KEYS, Permission.MANAGE_WEBHOOKS}
    ),
    Role.PAYMENTS_OPERATOR: frozenset(
        {Permission.READ, Permission.TAKE_PAYMENTS, Permission.REFUND}
    ),
    Role.VIEWER: frozenset({Permission.READ}),
}

SCOPE_PERMISSIONS: dict[KeyScope, frozenset[Permission]] = {
    # A key acts for systems: never members or settings. A full key may read the audit log
    # (``GET /api/v1/audit-events``), for a system that archives it, and manage the webhook
    # endpoints that systems receive events at (a read-only key may only list them).
    KeyScope.FULL: frozenset(
        {
            Permission.READ,
            Permission.TAKE_PAYMENTS,
            Permission.REFUND,
            Permission.READ_AUDIT_LOG,
            Permission.MANAGE_WEBHOOKS,
        }
    ),
    KeyScope.READ_ONLY: frozenset({Permission.READ}),
}


def role_can(role: Role, permission: Permission) -> bool:
    """Return True when a member with ``role`` may do what ``permission`` names."""
    return permission in ROLE_PERMISSIONS[role]


def scope_can(scope: KeyScope, permission: Permission) -> bool:
    """Return True when an API key with ``scope`` may do what ``permission`` names."""
    return permission in SCOPE_PERMISSIONS[scope]


def can(actor: Actor, permission: Permission) -> bool:
    """Return True when the actor may do what ``permission`` names in its account.

    A person is judged by their role, an API key by its scope (a key actor without one only
    reads: it fails closed). Providers and commands act for the system and are not limited.
    """
    if actor.api_key_id is not None:
        return scope_can(actor.key_scope or KeyScope.READ_ONLY, permission)
    return role_can(actor.role, permission)


def roles_that_can(permission: Permission) -> list[Role]:
    """Return the roles that may do what ``permission`` names, most powerful first."""
    return [role for role in Role if role_can(role, permission)]


class NotPermitted(Forbidden):
    """Raised when the actor's role (or API key's scope) does not allow an action.

    The message says who may: the roles that can, or for a key what its scope allows.
    """

    def __init__(self, actor: Actor, permission: Permission):
        super().__init__(_refusal(actor, permission))
        self.permission = permission

    def explanation(self) -> str:
        """Return why, for this actor: who may do it, or what the key's scope allows."""
        return str(self)


def _refusal(actor: Actor, permission: Permission) -> str:
    if actor.api_key_id is not None:
        scope = actor.key_scope or KeyScope.READ_ONLY
        if scope is KeyScope.READ_ONLY:
            return (
                "This API key is read-only: it can read but not create or change anything. "
                "Use a full-access key."
            )
        return "API keys cannot do this: sign in to the dashboard as a member who may."
    allowed = roles_that_can(permission)
    names = [role.label for role in allowed]
    who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    article = "an" if who[0] in "AEIOU" else "a"
    return (
        f"Only {article} {who} can do this in this account; your role here is {actor.role.label}."
    )
