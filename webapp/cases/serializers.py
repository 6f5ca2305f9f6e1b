"""Input and output serializers of /api/cases/ (shapes only; meaning is checked in services)."""

from __future__ import annotations

from rest_framework import serializers

from webapp.cases.models import DiagnosticCertainty, Difficulty, QuizType, Visibility
from webapp.cases.services import MAX_VARIANT_SEEDS


class TagsSerializer(serializers.Serializer):
    organ_system = serializers.ListField(child=serializers.CharField(max_length=64), required=False, source="organ-system")
    pathology = serializers.ListField(child=serializers.CharField(max_length=64), required=False)
    modality = serializers.ListField(child=serializers.CharField(max_length=64), required=False)


class CaseWriteFieldsSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    quiz_title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    authors = serializers.CharField(max_length=300, required=False, allow_blank=True)
    history = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    findings = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    impression = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    findings_before_answer = serializers.BooleanField(required=False)
    diagnosis = serializers.CharField(max_length=300, required=False, allow_blank=True)
    diagnostic_certainty = serializers.ChoiceField(choices=DiagnosticCertainty.choices, required=False)
    differential = serializers.ListField(child=serializers.CharField(max_length=300), required=False)
    discussion = serializers.CharField(required=False, allow_blank=True, max_length=50000)
    teaching_points = serializers.ListField(child=serializers.CharField(max_length=1000), required=False)
    answer_after_attempt = serializers.BooleanField(required=False)
    difficulty = serializers.ChoiceField(choices=Difficulty.choices, required=False)
    tags = TagsSerializer(required=False)
    quiz_type = serializers.ChoiceField(choices=QuizType.choices, required=False)
    quiz_question = serializers.CharField(max_length=300, required=False)
    quiz_choices = serializers.ListField(child=serializers.CharField(max_length=300), required=False, max_length=8)
    quiz_correct_index = serializers.IntegerField(min_value=0, required=False, allow_null=True)

    def service_data(self) -> dict:
        data = dict(self.validated_data)
        for field in ("differential", "teaching_points"):
            if field in data:
                data[field] = "\n".join(data[field])
        if "tags" in data:
            data["tags"] = {kind: list(names) for kind, names in data["tags"].items()}
        return data


class CaseCreateInputSerializer(CaseWriteFieldsSerializer):
    title = serializers.CharField(max_length=200)
    studies = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False,
        help_text="StudyInstanceUIDs of studies you may open.",
    )


class CaseFromJobInputSerializer(serializers.Serializer):
    job = serializers.UUIDField(help_text="public id of a succeeded generation job")


class CasePublishInputSerializer(serializers.Serializer):
    visibility = serializers.ChoiceField(choices=Visibility.choices, default=Visibility.PUBLISHED)


class CaseVariantsInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["new-seed", "guidance-sweep"])
    count = serializers.IntegerField(min_value=1, max_value=MAX_VARIANT_SEEDS, default=2)


class LibraryFilterInputSerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=200)
    tag = serializers.SlugField(required=False, allow_blank=True, max_length=80)
    modality = serializers.RegexField(r"^[A-Za-z ]*$", required=False, allow_blank=True, max_length=16)
    difficulty = serializers.ChoiceField(choices=Difficulty.choices, required=False, allow_blank=True)
    realness = serializers.ChoiceField(choices=["real", "synthetic"], required=False, allow_blank=True)
    mine = serializers.BooleanField(required=False, default=False)


class QuizAttemptInputSerializer(serializers.Serializer):
    answer = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    choice_index = serializers.IntegerField(required=False, allow_null=True, min_value=0)


class CaseImportInputSerializer(serializers.Serializer):
    file = serializers.FileField()


class CaseStudyOutputSerializer(serializers.Serializer):
    study_instance_uid = serializers.CharField()
    synthetic = serializers.BooleanField()
    label = serializers.CharField(help_text="'Synthetic image' for generated studies, else 'Real image'")
    modalities = serializers.CharField()
    caption = serializers.CharField()
    viewer_url = serializers.CharField()


class QuizOutputSerializer(serializers.Serializer):
    type = serializers.CharField()
    question = serializers.CharField()
    choices = serializers.ListField(child=serializers.CharField())


class CaseOutputSerializer(serializers.Serializer):
    """Answer fields (impression, diagnosis, …) are absent until the caller may see them."""

    id = serializers.UUIDField()
    title = serializers.CharField()
    quiz_title = serializers.CharField()
    authors = serializers.CharField()
    history = serializers.CharField()
    findings = serializers.CharField(required=False)
    impression = serializers.CharField(required=False)
    diagnosis = serializers.CharField(required=False)
    diagnostic_certainty = serializers.CharField(required=False)
    differential = serializers.ListField(child=serializers.CharField(), required=False)
    discussion = serializers.CharField(required=False)
    teaching_points = serializers.ListField(child=serializers.CharField(), required=False)
    answer_visible = serializers.BooleanField()
    tags = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    difficulty = serializers.CharField()
    visibility = serializers.CharField()
    has_synthetic_images = serializers.BooleanField()
    quiz = QuizOutputSerializer()
    quiz_correct_index = serializers.IntegerField(required=False, allow_null=True)
    studies = CaseStudyOutputSerializer(many=True)
    can_edit = serializers.BooleanField()
    url = serializers.CharField()
    published_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()


class CaseListItemOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()
    difficulty = serializers.CharField()
    visibility = serializers.CharField()
    tags = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    has_synthetic_images = serializers.BooleanField()
    modalities = serializers.ListField(child=serializers.CharField())
    url = serializers.CharField()


class QuizAttemptOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    case = serializers.UUIDField()
    case_title = serializers.CharField()
    answer = serializers.CharField()
    choice_index = serializers.IntegerField(allow_null=True)
    correct = serializers.BooleanField(allow_null=True)
    created_at = serializers.DateTimeField()
    reveal = CaseOutputSerializer(required=False)
