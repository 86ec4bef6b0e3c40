"""URL configuration: the clinic app at the root, the REST API under /api/v1, FHIR under /fhir."""

from django.urls import include, path

from acuknee.api import bulk_export, fhir_api, web

urlpatterns = [
    path("api/v1/", include("acuknee.api.urls")),
    path("fhir/", include(bulk_export.urlpatterns)),  # $export before the read/search catch-all
    path("fhir/", include(fhir_api.urlpatterns)),
    *web.urlpatterns,
    path("audit/", include("acuknee.audit.urls")),
    path("account/", include("acuknee.accounts.urls")),
    path("", include("acuknee.pages.urls")),
]

# A 400 that does not re-read the body that caused it (see acuknee/site/errors.py).
handler400 = "acuknee.site.errors.bad_request"
# 403 and 404 pages that keep the navigation and say where to go (acuknee/site/errors.py).
handler403 = "acuknee.site.errors.permission_denied"
handler404 = "acuknee.site.errors.page_not_found"
