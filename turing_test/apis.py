"""REST API under /api/turing/: readers (their own assignments only) and study admins.

Every failure is a 4xx JSON ``{"detail": ...}``: bad input 400, wrong role 403, someone else's or
unknown token 404 (indistinguishable on purpose), state conflicts (locked, closed) 409.
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from turing_test import selectors, services
from turing_test.errors import InvalidInput, NotFound, TuringError
from turing_test.exports import IDENTIFY, LAYOUTS, export_csv, export_json
from turing_test.models import Study, Task
from turing_test.responses import report_file_response
from turing_test.services.planning import PLAN_FIELDS, grid_values_parse
from turing_test.services.reading import UNSET
from turing_test.services.reporting import REPORT_FORMATS
from turing_test.task_kinds import KINDS
from webapp.core.permissions import IsStudyAdmin


class TuringApi(APIView):
    """Maps service errors to their status codes; no other exception escapes as a 500."""

    permission_classes = [IsAuthenticated]

    def handle_exception(self, exc):
        if isinstance(exc, TuringError):
            return Response({"detail": exc.message, **exc.extra}, status=exc.status_code)
        return super().handle_exception(exc)


class AdminApi(TuringApi):
    permission_classes = [IsAuthenticated, IsStudyAdmin]

    def get_study(self, pk) -> Study:
        return selectors.study_get(pk=pk)


# --- reader ----------------------------------------------------------------------------------------


class AssignmentOutputSerializer(serializers.Serializer):
    assignment = serializers.CharField(source="token")
    study_title = serializers.CharField(source="study.title")
    status = serializers.CharField()
    total = serializers.IntegerField(source="n_entries")
    answered = serializers.IntegerField(source="n_rated")


class AssignmentListApi(TuringApi):
    """The caller's reading assignments."""

    @extend_schema(responses=AssignmentOutputSerializer(many=True))
    def get(self, request):
        return Response(AssignmentOutputSerializer(selectors.reader_assignments(user=request.user), many=True).data)


class AssignmentStateApi(TuringApi):
    """Progress and the order of opaque item tokens; ``current`` is where to resume."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, token: str):
        assignment = selectors.reader_assignment_get(user=request.user, token=token)
        return Response(selectors.reader_state(assignment=assignment))


class AssignmentItemApi(TuringApi):
    """Open one item (records the position for resume) and return the blinded stimulus."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, token: str, item_token: str):
        assignment = selectors.reader_assignment_get(user=request.user, token=token)
        entry = services.assignment_item_open(assignment=assignment, reader=request.user, item_token=item_token)
        assignment.refresh_from_db()
        return Response(selectors.reader_item(assignment=assignment, entry=entry))


class _OptionalScore(serializers.IntegerField):
    def __init__(self, **kwargs):
        super().__init__(min_value=1, max_value=5, allow_null=True, required=False, **kwargs)


class RatingSaveApi(TuringApi):
    """Autosave one answer: omitted fields stay as they were; a repeated ``request_id`` is a no-op."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "RatingSaveInput"

        request_id = serializers.CharField(max_length=64)
        score = _OptionalScore()
        forced_choice = serializers.CharField(max_length=16, required=False, allow_blank=True, allow_null=True, help_text="real, synthetic or empty")
        confidence = _OptionalScore()
        client_ms_delta = serializers.IntegerField(min_value=0, max_value=24 * 3600 * 1000, required=False, default=0)

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "RatingSaveOutput"

        score = serializers.IntegerField(allow_null=True)
        forced_choice = serializers.CharField(allow_blank=True)
        confidence = serializers.IntegerField(allow_null=True)
        revision = serializers.IntegerField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def put(self, request, token: str, item_token: str):
        assignment = selectors.reader_assignment_get(user=request.user, token=token)
        if not isinstance(request.data, dict):
            raise InvalidInput("Send a JSON object.")
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        rating, replayed = services.rating_save(
            assignment=assignment,
            reader=request.user,
            item_token=item_token,
            request_id=data["request_id"],
            score=data["score"] if "score" in data else UNSET,
            forced_choice=data["forced_choice"] if "forced_choice" in data else UNSET,
            confidence=data["confidence"] if "confidence" in data else UNSET,
            client_ms_delta=data.get("client_ms_delta", 0),
        )
        body = dict(self.OutputSerializer(rating).data)
        body["replayed"] = replayed
        return Response(body, status=status.HTTP_200_OK)

    post = put


class AssignmentSubmitApi(TuringApi):
    """Submit and lock (every item must be answered)."""

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request, token: str):
        assignment = selectors.reader_assignment_get(user=request.user, token=token)
        assignment = services.assignment_submit(assignment=assignment, reader=request.user)
        return Response({"status": assignment.status, "submitted_at": assignment.submitted_at})


# --- study admin -----------------------------------------------------------------------------------


class StudyOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Study
        fields = [
            "id", "title", "instructions", "status", "seed", "allow_back", "forced_choice", "shuffle_tasks",
            "created_at", "opened_at", "closed_at", "preparation_done", "preparation_total", "preparation_error",
        ]


class StudyListApi(AdminApi):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "StudyListInput"

        title = serializers.CharField(max_length=200)
        instructions = serializers.CharField(required=False, allow_blank=True, default="")
        allow_back = serializers.BooleanField(required=False, default=True)
        forced_choice = serializers.BooleanField(required=False, default=False)
        shuffle_tasks = serializers.BooleanField(required=False, default=True)
        seed = serializers.IntegerField(required=False, min_value=0, max_value=2**63 - 1)

    @extend_schema(responses=StudyOutputSerializer(many=True))
    def get(self, request):
        return Response(StudyOutputSerializer(selectors.study_list(), many=True).data)

    @extend_schema(request=InputSerializer, responses=StudyOutputSerializer)
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        study = services.study_create(created_by=request.user, **serializer.validated_data)
        return Response(StudyOutputSerializer(study).data, status=status.HTTP_201_CREATED)


class StudyDetailApi(AdminApi):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk: int):
        study = self.get_study(pk)
        body = dict(StudyOutputSerializer(study).data)
        body["tasks"] = [
            {
                "id": row["task"].pk, "kind": row["task"].kind, "modality": row["task"].modality, "title": row["task"].title,
                "n_real": row["n_real"], "n_synthetic": row["n_synthetic"], "n_practice": row["n_practice"], "warning": row["warning"],
            }
            for row in selectors.task_balance(study=study)
        ]
        body["blinding_audit"] = study.blinding_audit
        return Response(body)


class TaskCreateApi(AdminApi):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TaskCreateInput"

        # Plain strings (checked by task_create): choice enums would collide in the OpenAPI schema.
        kind = serializers.CharField(max_length=32, help_text=f"one of {', '.join(KINDS)}")
        modality = serializers.CharField(max_length=8, required=False, allow_blank=True, default="", help_text="ct, cxr or empty")
        title = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
        question = serializers.CharField(required=False, allow_blank=True, default="")
        anchors = serializers.ListField(child=serializers.CharField(max_length=300), min_length=5, max_length=5, required=False)

    @extend_schema(request=InputSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request, pk: int):
        study = self.get_study(pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task = services.task_create(study=study, actor=request.user, **serializer.validated_data)
        return Response({"id": task.pk, "key": task.key, "title": task.title}, status=status.HTTP_201_CREATED)


class ItemAddApi(AdminApi):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ItemAddInput"

        image_study_uid = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)
        image_series_uid = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)
        report_study_uid = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)
        reference_study_uid = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)
        reference_series_uid = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)
        findings = serializers.CharField(required=False, allow_blank=True, max_length=20000)
        impression = serializers.CharField(required=False, allow_blank=True, max_length=20000)
        report_synthetic = serializers.BooleanField(required=False, default=False)
        generator = serializers.CharField(required=False, allow_blank=True, default="", max_length=128)
        is_practice = serializers.BooleanField(required=False, default=False)
        source_case = serializers.CharField(required=False, allow_blank=True, default="", max_length=128)

    @extend_schema(request=InputSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request, pk: int):
        from turing_test.sources import study_by_uid

        task = Task.objects.filter(pk=pk).select_related("study").first()
        if task is None:
            raise NotFound("No such task.")
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        d = serializer.validated_data

        def lookup(uid: str, what: str):
            if not uid:
                return None
            study = study_by_uid(uid)
            if study is None:
                raise InvalidInput(f"No {what} with StudyInstanceUID {uid}.")
            return study

        report = None
        if "findings" in d or "impression" in d:
            report = {"findings": d.get("findings", ""), "impression": d.get("impression", "")}
        item = services.item_add(
            task=task,
            actor=request.user,
            image_study=lookup(d["image_study_uid"], "image study"),
            image_series_uid=d["image_series_uid"],
            report_study=lookup(d["report_study_uid"], "report study"),
            report=report,
            report_synthetic=d["report_synthetic"],
            reference_study=lookup(d["reference_study_uid"], "reference study"),
            reference_series_uid=d["reference_series_uid"],
            generator=d["generator"],
            is_practice=d["is_practice"],
            source_case=d["source_case"],
        )
        return Response({"id": item.pk, "token": item.token, "truth": item.truth}, status=status.HTTP_201_CREATED)


class ReaderAssignApi(AdminApi):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ReaderAssignInput"

        username = serializers.CharField(max_length=150)

    @extend_schema(request=InputSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request, pk: int):
        from django.contrib.auth import get_user_model

        study = self.get_study(pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = get_user_model().objects.filter(username=serializer.validated_data["username"]).first()
        if user is None:
            raise InvalidInput("No account with that user name.")
        assignment = services.reader_assign(study=study, reader=user, actor=request.user)
        return Response({"pseudonym": assignment.pseudonym, "reader": user.get_username()}, status=status.HTTP_201_CREATED)


class InvitationCreateApi(AdminApi):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "InvitationCreateInput"

        label = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
        days = serializers.IntegerField(required=False, default=14, min_value=1, max_value=365)

    @extend_schema(request=InputSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request, pk: int):
        from django.urls import reverse

        study = self.get_study(pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invitation, token = services.invitation_create(study=study, actor=request.user, **serializer.validated_data)
        url = request.build_absolute_uri(reverse("turing_test:invitation", args=[token]))
        return Response({"id": invitation.pk, "url": url, "expires_at": invitation.expires_at}, status=status.HTTP_201_CREATED)


class StudyPrepareApi(AdminApi):
    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request, pk: int):
        study = services.study_prepare(study=self.get_study(pk), actor=request.user)
        return Response(StudyOutputSerializer(study).data, status=status.HTTP_202_ACCEPTED)


class StudyOpenApi(AdminApi):
    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request, pk: int):
        study = services.study_open(study=self.get_study(pk), actor=request.user)
        code = status.HTTP_200_OK if study.status == Study.Status.OPEN else status.HTTP_202_ACCEPTED
        return Response(StudyOutputSerializer(study).data, status=code)


class StudyCloseApi(AdminApi):
    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request, pk: int):
        study = services.study_close(study=self.get_study(pk), actor=request.user)
        return Response(StudyOutputSerializer(study).data)


class StudyProgressApi(AdminApi):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk: int):
        progress = selectors.study_progress(study=self.get_study(pk))
        readers = [{k: v for k, v in row.items() if k != "assignment"} for row in progress["readers"]]
        return Response({**progress, "readers": readers})


def _export_params(request) -> tuple[str, str, int | None]:
    layout = request.query_params.get("layout", "mrmc")
    identify = request.query_params.get("identify", "pseudonym")
    task = request.query_params.get("task")
    if layout not in LAYOUTS:
        raise InvalidInput(f"layout must be one of {', '.join(LAYOUTS)}.")
    if identify not in IDENTIFY:
        raise InvalidInput(f"identify must be one of {', '.join(IDENTIFY)}.")
    if task not in (None, ""):
        try:
            task_id = int(task)
        except ValueError:
            raise InvalidInput("task must be a task id.") from None
        return layout, identify, task_id
    return layout, identify, None


class StudyExportCsvApi(AdminApi):
    """Long CSV (see turing_test/exports.py for the coding: truth 1 = real, 0 = synthetic)."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk: int):
        study = self.get_study(pk)
        layout, identify, task_id = _export_params(request)
        if task_id is not None and not study.tasks.filter(pk=task_id).exists():
            raise InvalidInput("That task is not part of this study.")
        body = export_csv(study=study, layout=layout, identify=identify, task_id=task_id)
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="study-{study.pk}-ratings.csv"'
        response["X-RadSynth-Coding"] = "truth: 1=real 0=synthetic; modality: generator (real rows per generator)"
        return response


class StudyExportJsonApi(AdminApi):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk: int):
        study = self.get_study(pk)
        _, identify, _ = _export_params(request)
        response = Response(export_json(study=study, identify=identify))
        response["Content-Disposition"] = f'attachment; filename="study-{study.pk}.json"'
        return response


class _ReportNegotiation(DefaultContentNegotiation):
    """``?format=`` names the report's file type here, not a DRF renderer (DRF would answer 404 for
    ``format=pdf``); the report is an HttpResponse and everything else (errors) is JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class StudyReportApi(AdminApi):
    """The study report: Table 7 summary, agreement, discrimination (AUC, MRMC), forced choice and
    figures, in one format. Readers are their study pseudonyms (R01, ...) unless ``reader_names=1``.
    A study that is still open gives a report labelled preliminary (header ``X-RadSynth-Report``)."""

    renderer_classes = [JSONRenderer]
    content_negotiation_class = _ReportNegotiation

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "StudyReportInput"

        # a plain string: the service answers 400 with the allowed list for anything else
        format = serializers.CharField(required=False, default="html", help_text=f"one of {', '.join(REPORT_FORMATS)}")
        reader_names = serializers.BooleanField(required=False, default=False, help_text="1 = account names instead of pseudonyms")

    @extend_schema(
        parameters=[InputSerializer],
        responses={
            (200, "text/html"): OpenApiTypes.STR,
            (200, "application/pdf"): OpenApiTypes.BINARY,
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiTypes.BINARY,
            400: OpenApiResponse(description="unknown format (the body lists the allowed ones) or bad reader_names"),
            409: OpenApiResponse(description="the study has no ratings to report yet"),
        },
    )
    def get(self, request, pk: int):
        study = self.get_study(pk)
        serializer = self.InputSerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        report = services.study_report_file(
            study=study, fmt=serializer.validated_data["format"], reader_names=serializer.validated_data["reader_names"]
        )
        return report_file_response(report)


class _GridField(serializers.CharField):
    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        try:
            return grid_values_parse(text, field=self.field_name)
        except InvalidInput as exc:
            raise serializers.ValidationError(exc.message) from None


def _plan_field(name: str) -> serializers.Field:
    spec = PLAN_FIELDS[name]
    field_class = serializers.IntegerField if spec.integer else serializers.FloatField
    return field_class(required=False, default=spec.default, min_value=spec.low, max_value=spec.high, help_text=spec.help)


class StudyPlanApi(AdminApi):
    """Sample-size planner: expected 95% CI half-widths of the reader-averaged AUC and of ICC(2,1)
    for ``readers`` x ``items_per_class`` (real = synthetic), and over a readers x items grid.
    ``study_design`` is the study's current size (readers, smallest class) for comparison."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "StudyPlanInput"

        readers = _plan_field("readers")
        items_per_class = _plan_field("items_per_class")
        auc = _plan_field("auc")
        icc = _plan_field("icc")
        reader_sd = _plan_field("reader_sd")
        reader_correlation = _plan_field("reader_correlation")
        reader_share = _plan_field("reader_share")
        grid_readers = _GridField(required=False, default=None, allow_null=True, help_text="comma-separated, e.g. 3,5,10")
        grid_items_per_class = _GridField(required=False, default=None, allow_null=True, help_text="comma-separated, e.g. 25,50,100")

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "StudyPlanOutput"

        readers = serializers.IntegerField()
        items_per_class = serializers.IntegerField()
        n_items = serializers.IntegerField()
        confidence = serializers.FloatField()
        assumptions = serializers.DictField()
        auc = serializers.DictField(help_text="halfwidth, se, df, n_pos, n_neg, single_reader_se")
        icc2 = serializers.DictField(allow_null=True, help_text="halfwidth (mean), halfwidth_p90, n_sim, seed; null with 1 reader")
        notes = serializers.DictField()
        grid = serializers.DictField(help_text="readers, items_per_class and rows of cells (auc_halfwidth, icc2_halfwidth)")
        study_design = serializers.DictField(allow_null=True)

    @extend_schema(parameters=[InputSerializer], responses=OutputSerializer)
    def get(self, request, pk: int):
        study = self.get_study(pk)
        serializer = self.InputSerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        plan = services.sample_size_plan(**serializer.validated_data)
        return Response(self.OutputSerializer({**plan, "study_design": selectors.study_design(study=study)}).data)
