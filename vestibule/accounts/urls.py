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
]
