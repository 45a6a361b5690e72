"""Scheduled work: each app lists its periodic jobs in its AppConfig; `vestibule worker`
runs them all, so no domain app imports upward to be scheduled.

    class NotificationsConfig(AppConfig):
        jobs = (Job("outbox", "vestibule.notifications.services.messages_send_round", 5),)

A job's function takes no argument and returns how many things it did (for the log line):
an int, a tuple of ints (added up), or None for nothing to say.
It is named by its dotted path, so declaring it imports nothing at start-up.
"""

import dataclasses
from collections.abc import Callable

from django.apps import apps
from django.utils.module_loading import import_string


@dataclasses.dataclass(frozen=True)
class Job:
    name: str
    function: str  # dotted path of a function () -> int
    every: float  # seconds between two runs

    def callable(self) -> Callable[[], int]:
        return import_string(self.function)


def jobs() -> list[Job]:
    """Every app's jobs, in INSTALLED_APPS order."""
    return [job for config in apps.get_app_configs() for job in getattr(config, "jobs", ())]
