"""URL roots: pages, /api/ (DRF), /dicomweb/, /viewer/, /healthz."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token

from webapp.core import views as core_views
from webapp.core.api import MeApi

api_patterns = [
    path("me/", MeApi.as_view(), name="me"),
    path("jobs/", include("webapp.jobs.api_urls")),
    path("cases/", include("webapp.cases.api_urls")),
    path("turing/", include("turing_test.api_urls")),
    path("token/", obtain_auth_token, name="token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
]

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include((api_patterns, "api"))),
    path("dicomweb/", include("webapp.dicom.dicomweb_urls")),
    path("viewer/", include("webapp.dicom.viewer_urls")),
    path("dicom/", include("webapp.dicom.urls")),
    path("jobs/", include("webapp.jobs.urls")),
    path("cases/", include("webapp.cases.urls")),
    path("studies/", include("turing_test.urls")),
]

handler400 = "webapp.core.views.bad_request"
handler403 = "webapp.core.views.permission_denied"
handler404 = "webapp.core.views.page_not_found"
handler500 = "webapp.core.views.server_error"
