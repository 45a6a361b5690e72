from django.urls import path

from vestibule.establishments import views

app_name = "establishments"

urlpatterns = [
    path("users/", views.users, name="users"),
    path("users/add/", views.user_add, name="user_add"),
    path("users/add/new/", views.user_add_new, name="user_add_new"),
    path("users/add/existing/", views.user_add_existing, name="user_add_existing"),
    path("users/<int:pk>/", views.user_manage, name="user_manage"),
    path(
        "invitations/<int:pk>/<slug:action>/",
        views.invitation_action,
        name="invitation_action",
    ),
    path("invitations/<str:key>/", views.invitation_open, name="invitation_open"),
    path("invitation/", views.invitation, name="invitation"),
    path("switch/", views.switch, name="switch"),
    path("sections/<slug:right>/", views.section, name="section"),
    path("login-email/", views.login_email, name="login_email"),
]
