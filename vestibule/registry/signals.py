"""What the registry tells the apps above it (it imports none of them)."""

from django.dispatch import Signal

# Sent by an import, inside its transaction, once its rows are written, when some members'
# `active` changed. Arguments: deactivated, activated (lists of Member ids). A receiver
# returns lines for the import's report (e.g. accounts: "disabled 2 account(s) …").
members_changed = Signal()
