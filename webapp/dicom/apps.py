from django.apps import AppConfig


class DicomConfig(AppConfig):
    name = "webapp.dicom"
    label = "dicom"
