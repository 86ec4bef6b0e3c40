"""The clinic app's pages: each views module declares its own ``urlpatterns``."""

from django.contrib.auth import views as auth_views
from django.urls import URLPattern, path

from acuknee.clinic.views import (
    clinic_reports,
    evidence,
    health,
    intake,
    outcomes,
    patient_reports,
    patients,
    plans,
    reference,
    research,
    selfreport,
    sessions,
    voiding,
)

urlpatterns: list[URLPattern] = [
    path("login/", auth_views.LoginView.as_view(template_name="clinic/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    *patients.urlpatterns,
    *intake.urlpatterns,
    *plans.urlpatterns,
    *sessions.urlpatterns,
    *outcomes.urlpatterns,
    *voiding.urlpatterns,
    *selfreport.urlpatterns,
    *research.urlpatterns,
    *reference.urlpatterns,
    *health.urlpatterns,
    *patient_reports.urlpatterns,
    *clinic_reports.urlpatterns,
    *evidence.urlpatterns,
]
