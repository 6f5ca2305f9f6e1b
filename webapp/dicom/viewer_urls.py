from django.urls import path

from webapp.dicom import views

app_name = "viewer"

urlpatterns = [
    path("<str:study_uid>/", views.viewer, name="study"),
]
