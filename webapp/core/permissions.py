"""Role checks for views and DRF endpoints; object-level checks live next to their models."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.permissions import BasePermission

from webapp.core.roles import EDUCATORS, ROLE_LABELS, STUDY_ADMINS, has_role


def role_required(*roles: str) -> Callable:
    """View decorator: anonymous users go to login, users without the role get a 403 page."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, *roles):
                needed = " or ".join(ROLE_LABELS[r] for r in roles)
                return render(
                    request, "core/forbidden.html", {"message": f"This page needs the {needed} role."}, status=403
                )
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


class HasRole(BasePermission):
    roles: tuple[str, ...] = ()
    message = "You do not have the role this endpoint needs."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and has_role(request.user, *self.roles))


class IsEducator(HasRole):
    roles = (EDUCATORS,)
    message = "This endpoint needs the Educator role."


class IsStudyAdmin(HasRole):
    roles = (STUDY_ADMINS,)
    message = "This endpoint needs the Study admin role."
