"""Importing this package registers every stage module with the engine."""

from vestibule.flows.stages import (  # noqa: F401
    activation_link,
    captcha,
    confirm_masked_email,
    define_security_questions,
    email_link,
    identify,
    new_password,
    security_questions,
    sign_up,
)
