"""The audit log's pages (for clinic admins)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
