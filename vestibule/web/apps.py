from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "vestibule.web"
    label = "web"

    def ready(self) -> None:
        from vestibule.config import get_profile

        # Validate the profile at start-up: a wrong profile stops here, not at the first page.
        get_profile()
