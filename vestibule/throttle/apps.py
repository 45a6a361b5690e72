from django.apps import AppConfig


class ThrottleConfig(AppConfig):
    name = "vestibule.throttle"
    label = "throttle"
