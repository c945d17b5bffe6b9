from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path


def page(request):
    return HttpResponse(f"page for {request.user}")


urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/twitter/", include("twitter_oauth.urls")),
    path("signin/", page, name="signin"),
    path("home/", page, name="home"),
]
