from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.urls import include, path

from example_project import views

urlpatterns = [
    path("", views.home, name="home"),
    path("post/", views.compose, name="compose"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("accounts/twitter/", include("twitter_oauth.urls")),
    path("admin/", admin.site.urls),
]
