from django.apps import AppConfig


class FlowsConfig(AppConfig):
    name = "vestibule.flows"
    label = "flows"

    def ready(self) -> None:
        from vestibule.config import ProfileError, get_profile
        from vestibule.flows import stages  # noqa: F401  (registers every stage)
        from vestibule.flows.engine import stage_names_check

        # A profile naming a stage no module provides stops start-up, like any wrong key.
        profile = get_profile()
        unknown = stage_names_check(profile.flows)
        if unknown:
            raise ProfileError(f"{profile.source}: {unknown[0]}")
