from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from webapp.core.roles import user_roles


class MeOutputSerializer(serializers.Serializer):
    username = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())


class MeApi(APIView):
    """Who the caller is and which roles they hold."""

    @extend_schema(responses=MeOutputSerializer)
    def get(self, request):
        data = {"username": request.user.get_username(), "roles": sorted(user_roles(request.user))}
        return Response(MeOutputSerializer(data).data)
