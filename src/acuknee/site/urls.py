"""URL configuration: the clinic app at the root, the REST API under /api/v1."""

from django.urls import include, path

from acuknee.api import web

urlpatterns = [
    path("api/v1/", include("acuknee.api.urls")),
    *web.urlpatterns,
    path("", include("acuknee.clinic.urls")),
]
