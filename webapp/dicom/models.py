"""The study index: which DICOM studies exist, who owns them, and where each instance's bytes are.

Files live under MEDIA_ROOT/dicom/<StudyUID>/<SeriesUID>/<SOPUID>.dcm. What the DICOMweb views
need per request is stored here at import time (series metadata JSON, pixel-data offsets), so a
frame request is one query and one read, with no DICOM parsing.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Study(models.Model):
    class Source(models.TextChoices):
        IMPORTED = "imported", "Imported"
        GENERATED = "generated", "Generated"
        PRESENTATION = "presentation", "Presentation copy"

    study_instance_uid = models.CharField(max_length=64, unique=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="dicom_studies"
    )
    description = models.CharField(max_length=256, blank=True)
    modalities = models.CharField(max_length=64, blank=True, help_text="ModalitiesInStudy, backslash-separated")
    is_synthetic = models.BooleanField(default=False)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.IMPORTED)
    patient_name = models.CharField(max_length=256, blank=True)
    patient_id = models.CharField(max_length=64, blank=True)
    patient_birth_date = models.CharField(max_length=8, blank=True)
    patient_sex = models.CharField(max_length=16, blank=True)
    study_date = models.DateField(null=True, blank=True)
    study_time = models.CharField(max_length=16, blank=True)
    accession_number = models.CharField(max_length=16, blank=True)
    study_id = models.CharField(max_length=16, blank=True)
    referring_physician_name = models.CharField(max_length=256, blank=True)
    report_findings = models.TextField(blank=True)
    report_impression = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "id"]
        verbose_name_plural = "studies"
        indexes = [models.Index(fields=["patient_id"]), models.Index(fields=["study_date"])]

    def __str__(self) -> str:
        return f"{self.description or 'Study'} ({self.study_instance_uid})"

    @property
    def modality_list(self) -> list[str]:
        return [m for m in self.modalities.split("\\") if m]


class Series(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="series")
    series_instance_uid = models.CharField(max_length=64, unique=True)
    modality = models.CharField(max_length=16)
    series_number = models.IntegerField(null=True, blank=True)
    series_description = models.CharField(max_length=256, blank=True)
    view_position = models.CharField(max_length=16, blank=True)
    number_of_instances = models.PositiveIntegerField(default=0)
    geometry = models.JSONField(default=dict, blank=True)
    is_volume = models.BooleanField(default=False)
    not_volume_reason = models.TextField(blank=True)
    # DICOM JSON of every instance (WADO-RS metadata), with "{DICOMWEB_ROOT}" where the base URL goes.
    metadata_json = models.TextField(blank=True)

    class Meta:
        ordering = ["series_number", "id"]
        verbose_name_plural = "series"

    def __str__(self) -> str:
        return f"{self.modality} {self.series_description} ({self.series_instance_uid})"


class Instance(models.Model):
    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="instances")
    sop_instance_uid = models.CharField(max_length=64, unique=True)
    sop_class_uid = models.CharField(max_length=64)
    instance_number = models.IntegerField(null=True, blank=True)
    file_path = models.CharField(max_length=512, help_text="relative to MEDIA_ROOT")
    transfer_syntax_uid = models.CharField(max_length=64)
    position = models.FloatField(null=True, blank=True, help_text="mm along the slice normal")
    rows = models.PositiveIntegerField(default=0)
    columns = models.PositiveIntegerField(default=0)
    number_of_frames = models.PositiveIntegerField(default=1)
    # Native (uncompressed) pixel data: byte offset of the value in the file and bytes per frame.
    # Null for encapsulated (compressed) data, whose frames are found by parsing the fragments.
    pixel_data_offset = models.BigIntegerField(null=True, blank=True)
    frame_length = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["position", "instance_number", "id"]

    def __str__(self) -> str:
        return self.sop_instance_uid
