"""The clinic app's pages: each views module declares its own ``urlpatterns``."""

from django.contrib.auth import views as auth_views
from django.urls import URLPattern, path

from acuknee.clinic.access import public_view
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

# Signing in and out is for anyone (django-axes locks repeated failures; see docs/security.md).
_login = public_view(reason="the sign-in page")(
    auth_views.LoginView.as_view(
        template_name="clinic/login.html", redirect_authenticated_user=True
    )
)
_logout = public_view(reason="signing out (POST) ends whatever session there is")(
    auth_views.LogoutView.as_view()
)

urlpatterns: list[URLPattern] = [
    path("login/", _login, name="login"),
    path("logout/", _logout, name="logout"),
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
