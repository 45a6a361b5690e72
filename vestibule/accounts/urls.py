from django.urls import path

from vestibule.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.sign_in, name="login"),
    path("logout/", views.sign_out, name="logout"),
    path("logout/everywhere/", views.sign_out_everywhere, name="logout_everywhere"),
    path("login/forgotten-identifier/", views.forgotten_identifier, name="forgotten_identifier"),
    path("account/", views.account, name="account"),
    path("account/password/", views.password_change, name="password_change"),
    path("account/security-questions/", views.security_questions, name="security_questions"),
    path("account/email/", views.email_change, name="email_change"),
    path("account/email/confirm/", views.email_change_confirm_page, name="email_change_confirm"),
    path("account/email/confirm/<str:key>/", views.email_change_link, name="email_change_link"),
    path("account/sessions/", views.sessions, name="sessions"),
    path(
        "account/sessions/others/end/", views.sessions_end_others_view, name="sessions_end_others"
    ),
    path("account/sessions/<int:record_id>/end/", views.session_end_view, name="session_end"),
]
