"""The clinic app's pages: each views module declares its own ``urlpatterns``."""

from django.contrib.auth import views as auth_views
from django.urls import URLPattern, path

from acuknee.accounts.access import admits, public_view
from acuknee.pages.views import (
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
    schedule,
    selfreport,
    sessions,
    voiding,
    worklist,
)


class _LoginView(auth_views.LoginView):
    """Sign-in that goes to ``next`` only when the user's role may open it, else to the role's
    landing page (``home``): a researcher who opened the site root lands on the research pages,
    not on a 403."""

    def get_redirect_url(self) -> str:
        wanted = str(super().get_redirect_url())
        return wanted if wanted and admits(self.request.user, wanted) else ""


# Signing in and out is for anyone (django-axes locks repeated failures; see docs/security.md).
_login = public_view(reason="the sign-in page")(
    _LoginView.as_view(template_name="pages/login.html", redirect_authenticated_user=True)
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
    *schedule.urlpatterns,
    *outcomes.urlpatterns,
    *voiding.urlpatterns,
    *selfreport.urlpatterns,
    *research.urlpatterns,
    *reference.urlpatterns,
    *health.urlpatterns,
    *patient_reports.urlpatterns,
    *clinic_reports.urlpatterns,
    *evidence.urlpatterns,
    *worklist.urlpatterns,
]
