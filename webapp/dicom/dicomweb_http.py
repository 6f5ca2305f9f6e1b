"""HTTP plumbing shared by the DICOMweb views: authentication, DICOM-style errors, multipart bodies."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from functools import wraps

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from webapp.dicom.ingest import is_valid_uid

DICOM_JSON = "application/dicom+json"


class DicomWebError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_response(status: int, message: str) -> HttpResponse:
    """A DICOM JSON dataset with Status (0000,0900) and ErrorComment (0000,0902), plus `detail`."""
    body = {
        "00000900": {"vr": "US", "Value": [status]},
        "00000902": {"vr": "LO", "Value": [message[:64]]},
        "detail": message,
    }
    return HttpResponse(json.dumps(body), status=status, content_type=DICOM_JSON)


def json_response(data: object | str, *, status: int = 200, warning: str | None = None) -> HttpResponse:
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    response = HttpResponse(text, status=status, content_type=DICOM_JSON)
    if warning:
        response["Warning"] = f'299 radsynth "{warning}"'
    return response


def require_uid(value: str, what: str) -> str:
    if not is_valid_uid(value):
        raise DicomWebError(400, f"{what} {value!r} is not a valid DICOM UID")
    return value


def _authenticate(request: HttpRequest):
    if request.user.is_authenticated:
        return request.user
    try:
        result = TokenAuthentication().authenticate(request)
    except AuthenticationFailed as exc:
        raise DicomWebError(401, str(exc.detail)) from exc
    return result[0] if result else None


def dicomweb_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """GET only; session or `Authorization: Token …`; exceptions become DICOM-style JSON errors."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method not in {"GET", "HEAD"}:
            response = error_response(405, "DICOMweb here is read-only: use GET")
            response["Allow"] = "GET, HEAD"
            return response
        try:
            user = _authenticate(request)
            if user is None:
                response = error_response(401, "Authentication required: log in or send Authorization: Token …")
                response["WWW-Authenticate"] = 'Token realm="dicomweb"'
                return response
            request.user = user
            return view(request, *args, **kwargs)
        except DicomWebError as exc:
            return error_response(exc.status, exc.message)
        except ObjectDoesNotExist as exc:
            what = getattr(getattr(exc, "model", None), "__name__", None) or str(exc).split(" ")[0] or "Object"
            return error_response(404, f"{what} not found")
        except PermissionDenied as exc:
            return error_response(403, str(exc) or "You may not open this study.")

    return wrapped


def new_boundary() -> str:
    return f"radsynth-{uuid.uuid4().hex}"


def multipart_parts(parts: Iterable[tuple[str, bytes]], boundary: str) -> Iterator[bytes]:
    """Yield a multipart/related body: one (content type, payload) per part."""
    for content_type, payload in parts:
        yield f"--{boundary}\r\nContent-Type: {content_type}\r\n\r\n".encode("ascii")
        yield payload
        yield b"\r\n"
    yield f"--{boundary}--\r\n".encode("ascii")


def multipart_content_type(part_type: str, boundary: str) -> str:
    return f'multipart/related; type="{part_type}"; boundary={boundary}'
