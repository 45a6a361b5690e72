"""Version 1 of the management API: one NinjaAPI, one router per domain."""

from ninja import NinjaAPI

from vestibule.api import accounts, coverage, events, members

api = NinjaAPI(
    title="Vestibule management API",
    version="1",
    urls_namespace="api-v1",
    description="The organisation's systems keep the registry, accounts and audit in step.",
)
api.add_router("/members", members.router)
api.add_router("/accounts", accounts.router)
api.add_router("/coverage", coverage.router)
api.add_router("/events", events.router)
