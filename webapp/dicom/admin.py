from django.contrib import admin

from webapp.dicom.models import Series, Study


class SeriesInline(admin.TabularInline):
    model = Series
    fields = ("series_instance_uid", "modality", "series_description", "number_of_instances", "is_volume", "not_volume_reason")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ("study_instance_uid", "description", "modalities", "source", "is_synthetic", "owner", "created")
    list_filter = ("source", "is_synthetic")
    search_fields = ("study_instance_uid", "description", "patient_id")
    inlines = [SeriesInline]
