from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from generation.request import (
    DEFAULT_GUIDANCE,
    DEFAULT_STEPS,
    GUIDANCE_RANGE,
    SAMPLES_RANGE,
    STEPS_RANGE,
)
from webapp.jobs.models import GenerationJob, GenerationOutput, Modality


class JobCreateInputSerializer(serializers.Serializer):
    findings = serializers.CharField(allow_blank=True, required=False, default="", max_length=20000, trim_whitespace=True)
    impression = serializers.CharField(allow_blank=True, required=False, default="", max_length=20000, trim_whitespace=True)
    indication = serializers.CharField(allow_blank=True, required=False, default="", max_length=5000)
    modality = serializers.ChoiceField(choices=Modality.choices, default=Modality.CT)
    preset = serializers.CharField(default="demo", max_length=64)
    seed = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=2**31 - 1)
    guidance_scale = serializers.FloatField(default=DEFAULT_GUIDANCE, min_value=GUIDANCE_RANGE[0], max_value=GUIDANCE_RANGE[1])
    num_inference_steps = serializers.IntegerField(default=DEFAULT_STEPS, min_value=STEPS_RANGE[0], max_value=STEPS_RANGE[1])
    num_samples = serializers.IntegerField(default=1, min_value=SAMPLES_RANGE[0], max_value=SAMPLES_RANGE[1])
    spacing_mm = serializers.ListField(
        child=serializers.FloatField(min_value=0.2, max_value=20.0), min_length=3, max_length=3, required=False, allow_null=True
    )

    input_study_uid = serializers.CharField(required=False, allow_blank=True, max_length=64,
                                            help_text="StudyInstanceUID of indexed radiographs that prompt a CXR job")
    with_report = serializers.BooleanField(default=False)

    def validate(self, attrs):
        has_text = attrs.get("findings", "").strip() or attrs.get("impression", "").strip()
        if not has_text and not attrs.get("input_study_uid"):
            raise serializers.ValidationError("findings and impression are both empty; write at least one of them.")
        return attrs


class SampleOutputSerializer(serializers.ModelSerializer):
    study_instance_uid = serializers.CharField(source="study.study_instance_uid", default=None)
    viewer_url = serializers.SerializerMethodField()
    thumbnails = serializers.SerializerMethodField()

    class Meta:
        model = GenerationOutput
        fields = ["index", "seed", "study_instance_uid", "viewer_url", "thumbnails", "report", "coherence"]

    def get_viewer_url(self, obj) -> str | None:
        return f"/viewer/{obj.study.study_instance_uid}/" if obj.study_id else None

    def get_thumbnails(self, obj) -> dict:
        return {
            plane: reverse("jobs:thumbnail", kwargs={"job_id": obj.job.public_id, "index": obj.index, "plane": plane})
            for plane in (obj.thumbnails or {})
        }


class JobOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    owner = serializers.CharField(source="owner.username")
    progress = serializers.FloatField(source="progress_fraction")
    outputs = SampleOutputSerializer(many=True)

    class Meta:
        model = GenerationJob
        fields = [
            "id", "owner", "modality", "findings", "impression", "indication", "preset", "seed", "guidance_scale",
            "num_inference_steps", "num_samples", "spacing_mm", "with_report", "batch", "batch_label", "status", "stage",
            "progress", "progress_step", "progress_total", "cancel_requested", "attempts", "worker_host",
            "timings", "warnings", "error_message", "model_version", "weights_sha256", "device",
            "peak_memory_bytes", "created_at", "started_at", "finished_at", "outputs",
        ]


class JobVariantsInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["new-seed", "guidance-sweep"])
