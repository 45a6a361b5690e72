from django.urls import path

from vestibule.flows import views

app_name = "flows"

urlpatterns = [
    path("activation/resend/", views.activation_resend, name="activation_resend"),
    path("<slug:name>/", views.flow_view, name="flow"),
    path("<slug:name>/start/", views.flow_start, name="start"),
    path("<slug:name>/resume/<str:key>/", views.flow_resume, name="resume"),
    path("<slug:name>/asset/<slug:what>/", views.flow_asset, name="asset"),
]
