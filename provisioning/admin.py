from django.contrib import admin
from unfold.admin import ModelAdmin

from provisioning.models import ProvisioningAttempt


@admin.register(ProvisioningAttempt)
class ProvisioningAttemptAdmin(ModelAdmin):
    list_display = ["order", "number", "outcome", "step", "panel_status", "started_at"]
    list_filter = ["outcome", "step"]

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        return [f.name for f in ProvisioningAttempt._meta.fields]
