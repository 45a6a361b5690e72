from django.apps import AppConfig

from vestibule.scheduling import Job


class AuditConfig(AppConfig):
    name = "vestibule.audit"
    label = "audit"
    verbose_name = "Audit"
    jobs = (Job("audit-retention", "vestibule.audit.services.events_purge", every=3600),)
