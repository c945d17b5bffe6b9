"""``include("twitter_oauth.urls")``: login, connect, callback and disconnect."""

from django.urls import path

from twitter_oauth import views

app_name = "twitter_oauth"

urlpatterns = [
    path("login/", views.login, name="login"),
    path("connect/", views.connect, name="connect"),
    path("callback/", views.callback, name="callback"),
    path("<int:pk>/disconnect/", views.disconnect, name="disconnect"),
]
