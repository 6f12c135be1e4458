"""The Team page (Settings → Team) and invitation links: members, roles, invitations."""
