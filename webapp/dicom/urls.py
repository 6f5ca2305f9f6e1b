from django.urls import path

from webapp.dicom import views

app_name = "dicom"

urlpatterns = [
    path("studies/", views.study_list, name="study_list"),
]
