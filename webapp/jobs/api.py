"""/api/jobs/: create, list, get, cancel generation jobs and make variants."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from webapp.core.permissions import IsEducator
from webapp.dicom.models import Study
from webapp.dicom.selectors import study_get_for_user
from webapp.jobs.selectors import job_get_for_user, jobs_visible_to
from webapp.jobs.serializers import (
    JobCreateInputSerializer,
    JobOutputSerializer,
    JobVariantsInputSerializer,
)
from webapp.jobs.services import JobError, job_cancel, job_create, job_variants_create


def _job_or_404(request, job_id):
    job = job_get_for_user(user=request.user, public_id=job_id)
    if job is None:
        raise NotFound("No such job.")
    return job


class JobListCreateApi(APIView):
    permission_classes = [IsEducator]

    @extend_schema(responses=JobOutputSerializer(many=True))
    def get(self, request):
        jobs = jobs_visible_to(user=request.user)
        status_filter = request.query_params.get("status")
        if status_filter:
            jobs = jobs.filter(status=status_filter)
        limit = request.query_params.get("limit", "50")
        if not limit.isdigit() or int(limit) < 1:
            raise ValidationError({"limit": "must be a positive integer"})
        jobs = jobs[: min(int(limit), 200)]
        return Response(JobOutputSerializer(jobs, many=True).data)

    @extend_schema(request=JobCreateInputSerializer, responses={201: JobOutputSerializer})
    def post(self, request):
        serializer = JobCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if data.get("spacing_mm"):
            data["spacing_mm"] = tuple(data["spacing_mm"])
        uid = data.pop("input_study_uid", "")
        if uid:
            try:
                data["input_study"] = study_get_for_user(user=request.user, study_uid=uid)
            except (Study.DoesNotExist, PermissionDenied):
                raise ValidationError({"input_study_uid": f"no study {uid} that you may read"}) from None
        try:
            job = job_create(owner=request.user, **data)
        except JobError as exc:
            raise ValidationError({"detail": str(exc)}) from None
        return Response(JobOutputSerializer(job).data, status=status.HTTP_201_CREATED)


class JobDetailApi(APIView):
    permission_classes = [IsEducator]

    @extend_schema(responses=JobOutputSerializer)
    def get(self, request, job_id):
        return Response(JobOutputSerializer(_job_or_404(request, job_id)).data)


class JobCancelApi(APIView):
    permission_classes = [IsEducator]

    @extend_schema(request=None, responses=JobOutputSerializer)
    def post(self, request, job_id):
        job = _job_or_404(request, job_id)
        try:
            job = job_cancel(job=job)
        except JobError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(JobOutputSerializer(job).data)


class JobVariantsApi(APIView):
    permission_classes = [IsEducator]

    @extend_schema(request=JobVariantsInputSerializer, responses={201: JobOutputSerializer(many=True)})
    def post(self, request, job_id):
        job = _job_or_404(request, job_id)
        serializer = JobVariantsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            jobs = job_variants_create(job=job, owner=request.user, kind=serializer.validated_data["kind"])
        except JobError as exc:
            raise ValidationError({"detail": str(exc)}) from None
        return Response(JobOutputSerializer(jobs, many=True).data, status=status.HTTP_201_CREATED)
