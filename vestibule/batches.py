"""Work on many rows a batch at a time, each batch its own short transaction.

A purge of a year of audit events, or an import of a million members, in one statement or
one transaction would hold the table's writers back for its whole length (on SQLite, every
writer: sign-ins record events). In batches, a sign-in waits for one batch at most.
"""

from collections.abc import Iterable, Iterator
from typing import TypeVar

from django.db.models import QuerySet

BATCH = 5000
T = TypeVar("T")


def in_batches(items: Iterable[T], size: int | None = None) -> Iterator[list[T]]:
    """`items` as lists of at most `size` (BATCH), in order."""
    size = size or BATCH
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def delete_in_batches(queryset: QuerySet, size: int | None = None) -> int:
    """Delete the rows of `queryset`, `size` (BATCH) at a time, each batch in its own
    transaction (Django's delete() opens one); the number of `queryset.model` rows deleted."""
    size = size or BATCH
    model = queryset.model
    label = model._meta.label
    deleted = 0
    while True:
        keys = list(queryset.order_by().values_list("pk", flat=True)[:size])
        if not keys:
            return deleted
        deleted += model._base_manager.filter(pk__in=keys).delete()[1].get(label, 0)
