"""What the registry tells the apps above it (it imports none of them)."""

import dataclasses

from django.dispatch import Signal

# Sent by an import, inside each batch's transaction, once the batch's rows are written,
# when some members' `active` changed. Arguments: deactivated, activated (lists of Member
# ids). A receiver returns items for the import's report: lines, or Tallies (e.g. accounts:
# "disabled {n} account(s) …"), which add up over the batches of one import.
members_changed = Signal()


@dataclasses.dataclass(frozen=True)
class Tally:
    """A report line that adds up over an import's batches; `text` holds "{n}"."""

    text: str
    n: int
