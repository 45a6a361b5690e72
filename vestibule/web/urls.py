from django.urls import path

from vestibule.web import brand, views

app_name = "web"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("portal/", views.portal_home, name="home"),
    path("help/", views.help_page, name="help"),
    path("privacy/", views.privacy, name="privacy"),
    path("brand.css", brand.brand_css, name="brand_css"),
    path("language/", views.language_switch, name="language"),
    path("cookies/accept/", views.cookie_notice_accept, name="cookies_accept"),
    path("dev/mail/", views.dev_mail_list, name="dev_mail"),
    path("dev/mail/<int:pk>/", views.dev_mail_detail, name="dev_mail_detail"),
]
