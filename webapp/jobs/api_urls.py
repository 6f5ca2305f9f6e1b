from django.urls import path

from webapp.jobs import api

app_name = "jobs-api"
urlpatterns = [
    path("", api.JobListCreateApi.as_view(), name="list"),
    path("<uuid:job_id>/", api.JobDetailApi.as_view(), name="detail"),
    path("<uuid:job_id>/cancel/", api.JobCancelApi.as_view(), name="cancel"),
    path("<uuid:job_id>/variants/", api.JobVariantsApi.as_view(), name="variants"),
]
