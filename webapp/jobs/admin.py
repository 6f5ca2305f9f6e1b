from django.contrib import admin

from webapp.jobs.models import GenerationJob, GenerationOutput


class GenerationOutputInline(admin.TabularInline):
    model = GenerationOutput
    extra = 0
    readonly_fields = ("index", "seed", "study", "nifti_path", "thumbnails")


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = ("public_id", "owner", "modality", "preset", "status", "progress_step", "progress_total", "created_at")
    list_filter = ("status", "modality", "preset")
    search_fields = ("findings", "impression", "public_id")
    readonly_fields = ("public_id", "timings", "warnings", "error_message", "weights_sha256", "worker_host", "attempts")
    inlines = [GenerationOutputInline]
