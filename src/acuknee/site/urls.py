"""URL configuration: the clinic app at the root."""

from django.urls import include, path

urlpatterns = [
    path("", include("acuknee.clinic.urls")),
]
