"""Importing this package registers every stage module with the engine."""

from vestibule.flows.stages import (  # noqa: F401
    activation_link,
    captcha,
    confirm_masked_email,
    define_security_questions,
    email_link,
    enrol_factor,
    identify,
    new_password,
    second_factor,
    security_questions,
    sign_up,
)
