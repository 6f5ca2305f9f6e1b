"""The audit log: every change to a study, its items, readers and ratings is appended here."""

from __future__ import annotations

from typing import Any

from django.db import models

from turing_test.models import AuditEvent, Study


def audit_log(
    *,
    study: Study | None,
    actor,
    action: str,
    target: models.Model | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    actor_obj = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        study=study,
        actor=actor_obj,
        action=action,
        target_type=target._meta.model_name if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        data=data or {},
    )
