"""What each role may do: the one table the code checks (the tests hold their own, by hand).

A permission names a kind of action, not a route: every page, action and API call declares the
one it needs (``dashboard.web.permissions``), and the interface hides what the actor's role
lacks. API keys carry a scope instead of a role: ``full`` may do what a Payments operator and a
Developer may (never members or settings), ``read_only`` only reads.
"""

from __future__ import annotations

from enum import StrEnum

from dashboard.domain.actor import Role


class Permission(StrEnum):
    """A kind of action in an account."""

    READ = "read"  # see payments, orders, statistics, settings, members
    TAKE_PAYMENTS = "take_payments"  # create, cancel, retry, refresh payment links; orders
    MANAGE_API_KEYS = "manage_api_keys"  # create and revoke API keys (webhook endpoints, later)
    MANAGE_MEMBERS = "manage_members"  # invite, change roles below Owner, remove members
    MANAGE_OWNERS = "manage_owners"  # grant, change or remove Owner; transfer ownership
    MANAGE_SETTINGS = "manage_settings"  # the account's settings
    READ_AUDIT_LOG = "read_audit_log"  # the audit log


class KeyScope(StrEnum):
    """What an API key may do."""

    FULL = "full"
    READ_ONLY = "read_only"

    @property
    def label(self) -> str:
        """Return the scope as the settings page names it."""
        return "Full access" if self is KeyScope.FULL else "Read only"


_EVERYTHING = frozenset(Permission)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: _EVERYTHING,
    Role.ADMIN: _EVERYTHING - {Permission.MANAGE_OWNERS},
    Role.DEVELOPER: frozenset({Permission.READ, Permission.MANAGE_API_KEYS}),
    Role.PAYMENTS_OPERATOR: frozenset({Permission.READ, Permission.TAKE_PAYMENTS}),
    Role.VIEWER: frozenset({Permission.READ}),
}

SCOPE_PERMISSIONS: dict[KeyScope, frozenset[Permission]] = {
    # A key acts for systems: never members or settings. A full key may read the audit log
    # (``GET /api/v1/audit-events``), for a system that archives it.
    KeyScope.FULL: frozenset(
        {Permission.READ, Permission.TAKE_PAYMENTS, Permission.READ_AUDIT_LOG}
    ),
    KeyScope.READ_ONLY: frozenset({Permission.READ}),
}


def role_can(role: Role, permission: Permission) -> bool:
    """Return True when a member with ``role`` may do what ``permission`` names."""
    return permission in ROLE_PERMISSIONS[role]


def scope_can(scope: KeyScope, permission: Permission) -> bool:
    """Return True when an API key with ``scope`` may do what ``permission`` names."""
    return permission in SCOPE_PERMISSIONS[scope]
