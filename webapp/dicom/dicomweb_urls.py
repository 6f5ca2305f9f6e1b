"""/dicomweb/ routes (namespace "dicomweb"). UIDs are validated in the views, so a malformed one is a 400."""

from django.urls import path

from webapp.dicom import dicomweb as views
from webapp.dicom.dicomweb_uri import wado_uri

app_name = "dicomweb"

ST = "studies/<str:study_uid>"
SE = f"{ST}/series/<str:series_uid>"
IN = f"{SE}/instances/<str:sop_uid>"

urlpatterns = [
    path("", views.root, name="root"),
    path("wado", wado_uri, name="wado_uri"),
    path("studies", views.search_studies, name="studies"),
    path("series", views.search_series, name="all_series"),
    path("instances", views.search_instances, name="all_instances"),
    path(ST, views.retrieve_study, name="study"),
    path(f"{ST}/metadata", views.study_metadata, name="study_metadata"),
    path(f"{ST}/series", views.search_series, name="study_series"),
    path(f"{ST}/instances", views.search_instances, name="study_instances"),
    path(SE, views.retrieve_series, name="series"),
    path(f"{SE}/metadata", views.series_metadata, name="series_metadata"),
    path(f"{SE}/instances", views.search_instances, name="series_instances"),
    path(IN, views.retrieve_instance, name="instance"),
    path(f"{IN}/metadata", views.instance_metadata, name="instance_metadata"),
    path(f"{IN}/frames/<str:frames>", views.instance_frames, name="frames"),
]
