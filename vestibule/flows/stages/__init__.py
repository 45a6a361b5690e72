"""Importing this package registers every stage module with the engine."""

from vestibule.flows.stages import (  # noqa: F401
    activation_link,
    email_link,
    identify,
    new_password,
    sign_up,
)
