from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "vestibule.audit"
    label = "audit"
    verbose_name = "Audit"
