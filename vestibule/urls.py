from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("vestibule.web.urls")),
    path("", include("vestibule.accounts.urls")),
    path("flow/", include("vestibule.flows.urls")),
    path("establishments/", include("vestibule.establishments.urls")),
    path("coverage/", include("vestibule.coverage.urls")),
    path("admin/", admin.site.urls),
]

handler403 = "vestibule.web.views.permission_denied"
handler404 = "vestibule.web.views.page_not_found"
handler500 = "vestibule.web.views.server_error"
