"""/api/cases/: search, author, publish, variants, quiz, export and import teaching cases.

Reads need a login; writes need the Educator role and an editable case. Every CaseError becomes
a 400 with its message; a case the caller may not see is a 404 (its existence is not leaked).
"""

from __future__ import annotations

import tempfile

from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from webapp.cases import selectors
from webapp.cases.errors import CaseError
from webapp.cases.models import Case
from webapp.cases.serializers import (
    CaseCreateInputSerializer,
    CaseFromJobInputSerializer,
    CaseImportInputSerializer,
    CaseListItemOutputSerializer,
    CaseOutputSerializer,
    CasePublishInputSerializer,
    CaseVariantsInputSerializer,
    CaseWriteFieldsSerializer,
    LibraryFilterInputSerializer,
    QuizAttemptInputSerializer,
    QuizAttemptOutputSerializer,
)
from webapp.cases.services import (
    case_create,
    case_create_from_job,
    case_delete,
    case_export_zip,
    case_import_zip,
    case_publish,
    case_unpublish,
    case_update,
    case_variants_add,
    quiz_attempt_submit,
)
from webapp.core.permissions import IsEducator


def _bad(exc: CaseError) -> ValidationError:
    return ValidationError({"detail": str(exc)})


def _readable(request, case_id) -> Case:
    case = selectors.case_get_for_reader(user=request.user, public_id=case_id)
    if case is None:
        raise NotFound("No such case, or it is not published.")
    return case


def _editable(request, case_id) -> Case:
    case = selectors.case_get_for_editor(user=request.user, public_id=case_id)
    if case is None:
        raise NotFound("No such case among the cases you may edit.")
    return case


def case_output_data(*, case: Case, user) -> dict:
    answer_visible = selectors.case_answer_visible(user=user, case=case)
    can_edit = selectors.case_can_edit(user=user, case=case)
    data = {
        "id": case.public_id,
        "title": case.title,
        "quiz_title": case.quiz_title,
        "authors": case.authors,
        "history": case.history,
        "answer_visible": answer_visible,
        "tags": selectors.case_tags_by_kind(case=case),
        "difficulty": case.difficulty,
        "visibility": case.visibility,
        "has_synthetic_images": selectors.case_has_synthetic(case=case),
        "quiz": {"type": case.quiz_type, "question": case.quiz_question, "choices": list(case.quiz_choices or [])},
        "studies": [
            {
                "study_instance_uid": panel.case_study.study.study_instance_uid,
                "synthetic": panel.synthetic,
                "label": "Synthetic image" if panel.synthetic else "Real image",
                "modalities": panel.modalities,
                "caption": panel.case_study.caption,
                "viewer_url": panel.viewer_url,
            }
            for panel in selectors.case_study_panels(case=case)
        ],
        "can_edit": can_edit,
        "url": reverse("cases:detail", args=[case.public_id]),
        "published_at": case.published_at,
        "updated_at": case.updated_at,
    }
    if answer_visible or case.findings_before_answer:
        data["findings"] = case.findings
    if answer_visible:
        data.update(
            impression=case.impression, diagnosis=case.diagnosis, diagnostic_certainty=case.diagnostic_certainty,
            differential=case.differential_list, discussion=case.discussion, teaching_points=case.teaching_point_list,
            quiz_correct_index=case.quiz_correct_index,
        )
    return data


def _case_response(case: Case, user, code=status.HTTP_200_OK) -> Response:
    fresh = selectors.case_get_for_reader(user=user, public_id=case.public_id)
    return Response(CaseOutputSerializer(case_output_data(case=fresh, user=user)).data, status=code)


class CaseListCreateApi(APIView):
    def get_permissions(self):
        return [IsEducator()] if self.request.method == "POST" else [IsAuthenticated()]

    @extend_schema(parameters=[LibraryFilterInputSerializer], responses=CaseListItemOutputSerializer(many=True))
    def get(self, request):
        filters = LibraryFilterInputSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        cases = selectors.case_library_search(user=request.user, **{k: v for k, v in filters.validated_data.items() if v})
        items = [
            {
                "id": case.public_id, "title": case.title, "difficulty": case.difficulty, "visibility": case.visibility,
                "tags": selectors.case_tags_by_kind(case=case),
                "has_synthetic_images": selectors.case_has_synthetic(case=case),
                "modalities": sorted({m for link in case.case_studies.all() for m in link.study.modality_list}),
                "url": reverse("cases:detail", args=[case.public_id]),
            }
            for case in cases[:200]
        ]
        return Response(CaseListItemOutputSerializer(items, many=True).data)

    @extend_schema(request=CaseCreateInputSerializer, responses={201: CaseOutputSerializer})
    def post(self, request):
        from webapp.dicom.models import Study
        from webapp.dicom.selectors import study_access_check

        serializer = CaseCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.service_data()
        studies = []
        for uid in data.pop("studies", []):
            study = Study.objects.filter(study_instance_uid=uid).first()
            if study is None or not study_access_check(request.user, study):
                raise ValidationError({"studies": f"no study {uid} that you may open"})
            studies.append(study)
        try:
            case = case_create(owner=request.user, studies=studies, **data)
        except CaseError as exc:
            raise _bad(exc) from None
        return _case_response(case, request.user, status.HTTP_201_CREATED)


class CaseDetailApi(APIView):
    def get_permissions(self):
        return [IsAuthenticated()] if self.request.method == "GET" else [IsEducator()]

    @extend_schema(responses=CaseOutputSerializer)
    def get(self, request, case_id):
        case = _readable(request, case_id)
        return Response(CaseOutputSerializer(case_output_data(case=case, user=request.user)).data)

    @extend_schema(request=CaseWriteFieldsSerializer, responses=CaseOutputSerializer)
    def patch(self, request, case_id):
        case = _editable(request, case_id)
        serializer = CaseWriteFieldsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            case_update(case=case, data=serializer.service_data())
        except CaseError as exc:
            raise _bad(exc) from None
        return _case_response(case, request.user)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, case_id):
        case = _editable(request, case_id)
        if case.owner_id != request.user.pk and not request.user.is_superuser:
            raise PermissionDenied("Only the owner deletes a case.")
        case_delete(case=case)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CaseCreateFromJobApi(APIView):
    permission_classes = [IsEducator]

    @extend_schema(request=CaseFromJobInputSerializer, responses={201: CaseOutputSerializer, 200: CaseOutputSerializer})
    def post(self, request):
        from webapp.jobs.selectors import job_get_for_user

        serializer = CaseFromJobInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = job_get_for_user(user=request.user, public_id=serializer.validated_data["job"])
        if job is None:
            raise NotFound("No such generation job.")
        try:
            case, created = case_create_from_job(job=job, by=request.user)
        except CaseError as exc:
            raise _bad(exc) from None
        return _case_response(case, request.user, status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class CasePublishApi(APIView):
    permission_classes = [IsEducator]

    @extend_schema(request=CasePublishInputSerializer, responses=CaseOutputSerializer)
    def post(self, request, case_id):
        case = _editable(request, case_id)
        serializer = CasePublishInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        visibility = serializer.validated_data["visibility"]
        try:
            if visibility == "draft":
                case_unpublish(case=case)
            else:
                case_publish(case=case, visibility=visibility)
        except CaseError as exc:
            raise _bad(exc) from None
        return _case_response(case, request.user)


class CaseVariantsAddApi(APIView):
    permission_classes = [IsEducator]

    @extend_schema(request=CaseVariantsInputSerializer, responses={202: None})
    def post(self, request, case_id):
        case = _editable(request, case_id)
        serializer = CaseVariantsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            jobs = case_variants_add(case=case, by=request.user, **serializer.validated_data)
        except CaseError as exc:
            raise _bad(exc) from None
        return Response({"jobs": [str(job.public_id) for job in jobs]}, status=status.HTTP_202_ACCEPTED)


def _attempt_data(attempt, *, user, with_reveal: bool) -> dict:
    data = {
        "id": attempt.pk, "case": attempt.case.public_id, "case_title": attempt.case.quiz_title or "Quiz case",
        "answer": attempt.answer, "choice_index": attempt.choice_index, "correct": attempt.correct,
        "created_at": attempt.created_at,
    }
    if with_reveal:
        case = selectors.case_get_for_reader(user=user, public_id=attempt.case.public_id)
        data["reveal"] = case_output_data(case=case, user=user)
    return data


class QuizAttemptSubmitApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=QuizAttemptInputSerializer, responses={201: QuizAttemptOutputSerializer})
    def post(self, request, case_id):
        case = _readable(request, case_id)
        serializer = QuizAttemptInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            attempt = quiz_attempt_submit(case=case, learner=request.user, **serializer.validated_data)
        except CaseError as exc:
            raise _bad(exc) from None
        data = _attempt_data(attempt, user=request.user, with_reveal=True)
        return Response(QuizAttemptOutputSerializer(data).data, status=status.HTTP_201_CREATED)


class QuizAttemptListApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=QuizAttemptOutputSerializer(many=True))
    def get(self, request):
        attempts = selectors.quiz_attempts_for(learner=request.user)[:500]
        data = [_attempt_data(a, user=request.user, with_reveal=False) for a in attempts]
        return Response(QuizAttemptOutputSerializer(data, many=True).data)


class CaseExportApi(APIView):
    permission_classes = [IsEducator]

    @extend_schema(responses={(200, "application/zip"): bytes}, parameters=[OpenApiParameter("case_id", str, "path")])
    def get(self, request, case_id):
        case = _editable(request, case_id)
        spool = tempfile.TemporaryFile()
        case_export_zip(case=case, destination=spool)
        spool.seek(0)
        return FileResponse(
            spool, as_attachment=True, filename=f"radsynth-case-{str(case.public_id)[:8]}.zip",
            content_type="application/zip",
        )


class CaseImportApi(APIView):
    permission_classes = [IsEducator]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": CaseImportInputSerializer}, responses={201: CaseOutputSerializer})
    def post(self, request):
        serializer = CaseImportInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            case = case_import_zip(source=serializer.validated_data["file"], owner=request.user)
        except CaseError as exc:
            raise ValidationError({"detail": f"Nothing was imported: {exc}"}) from None
        return _case_response(case, request.user, status.HTTP_201_CREATED)
