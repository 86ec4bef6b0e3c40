"""The audit log's pages (for clinic admins)."""

from django.urls import URLPattern, path

from acuknee.audit import views

urlpatterns: list[URLPattern] = [
    path("", views.event_list, name="audit-events"),
    path("export.csv", views.event_export, name="audit-export"),
]
