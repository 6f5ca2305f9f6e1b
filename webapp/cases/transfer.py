"""Teaching case ZIP export and import (see schema.py for the layout of the archive).

Export writes `case.json` and every DICOM file of every study; files of synthetic studies carry
SyntheticData = YES (set on the way out if a file lacks it). Import checks the whole archive
before it writes anything (names, case.json schema, listed vs present files, DICOM headers), then
indexes the studies through `webapp.dicom.services.study_import` and creates the case in one
transaction; on any error the rows roll back and the DICOM files it copied are removed.
"""

from __future__ import annotations

import io
import json
import logging
import re
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import pydicom
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from pydicom.errors import InvalidDicomError

from webapp.cases.errors import CaseError, CaseImportError
from webapp.cases.models import Case
from webapp.cases.schema import FORMAT, SCHEMA_VERSION, TAG_KEYS, case_record_validate

log = logging.getLogger(__name__)

MAX_ENTRIES = 20000
MAX_TOTAL_BYTES = 4 * 1024**3
MAX_JSON_BYTES = 2 * 1024**2
MAX_LISTED_IN_MESSAGE = 5


# --- export -------------------------------------------------------------------------------------


def case_record(*, case: Case) -> dict:
    """The `case` part of case.json."""
    tags: dict[str, list[str]] = {key: [] for key in TAG_KEYS.values()}
    for tag in case.tags.all().order_by("name"):
        tags[TAG_KEYS[tag.kind]].append(tag.name)
    return {
        "title": case.title,
        "quiz_title": case.quiz_title,
        "authors": case.authors,
        "history": case.history,
        "findings": case.findings,
        "impression": case.impression,
        "findings_before_answer": case.findings_before_answer,
        "diagnosis": case.diagnosis,
        "diagnostic_certainty": case.diagnostic_certainty,
        "differential": case.differential_list,
        "discussion": case.discussion,
        "teaching_points": case.teaching_point_list,
        "answer_after_attempt": case.answer_after_attempt,
        "difficulty": case.difficulty,
        "tags": tags,
        "quiz": {
            "type": case.quiz_type,
            "question": case.quiz_question,
            "choices": list(case.quiz_choices or []),
            "correct_index": case.quiz_correct_index,
        },
    }


def _synthetic_bytes(path: Path) -> bytes | None:
    """The file re-encoded with SyntheticData = YES, or None when it already says so."""
    header = pydicom.dcmread(path, stop_before_pixels=True)
    if str(header.get("SyntheticData", "")).upper() == "YES":
        return None
    dataset = pydicom.dcmread(path)
    dataset.SyntheticData = "YES"
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def case_export_zip(*, case: Case, destination: BinaryIO | str | Path) -> dict:
    """Write the case as a ZIP to ``destination``; returns the case.json record."""
    from webapp.dicom.models import Instance

    media_root = Path(settings.MEDIA_ROOT)
    record = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "exported_at": timezone.now().isoformat(),
        "generator": "RadSynth",
        "case": case_record(case=case),
        "studies": [],
    }
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for number, link in enumerate(case.case_studies.select_related("study").order_by("position", "id"), start=1):
            study = link.study
            instances = Instance.objects.filter(series__study=study).order_by(
                "series__series_number", "series_id", "position", "instance_number", "id"
            )
            files = []
            for index, instance in enumerate(instances, start=1):
                name = f"studies/{number}/{index:05d}.dcm"
                source = media_root / instance.file_path
                payload = _synthetic_bytes(source) if study.is_synthetic else None
                if payload is None:
                    archive.write(source, name)
                else:
                    archive.writestr(name, payload)
                files.append(name)
            record["studies"].append({
                "folder": f"studies/{number}",
                "study_instance_uid": study.study_instance_uid,
                "synthetic": study.is_synthetic,
                "caption": link.caption,
                "modalities": study.modalities,
                "description": study.description,
                "files": files,
            })
        archive.writestr("case.json", json.dumps(record, indent=2, ensure_ascii=False))
    return record


# --- import -------------------------------------------------------------------------------------


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_LISTED_IN_MESSAGE])
    more = len(names) - MAX_LISTED_IN_MESSAGE
    return shown + (f" and {more} more" if more > 0 else "")


def _skippable(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return "__MACOSX" in parts or (parts and parts[-1].startswith(".")) or name.lower().endswith(
        ("thumbs.db", "desktop.ini")
    )


def _check_member_names(members: list[zipfile.ZipInfo]) -> None:
    if len(members) > MAX_ENTRIES:
        raise CaseImportError(f"the ZIP holds {len(members)} entries; at most {MAX_ENTRIES} are accepted")
    if sum(m.file_size for m in members) > MAX_TOTAL_BYTES:
        raise CaseImportError(f"the ZIP unpacks to more than {MAX_TOTAL_BYTES >> 30} GiB")
    for member in members:
        name = member.filename
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
            raise CaseImportError(f"refused ZIP entry {name!r}: absolute paths are not allowed")
        if ".." in parts:
            raise CaseImportError(f"refused ZIP entry {name!r}: it points outside the archive")
        if (member.external_attr >> 16) & 0o170000 == 0o120000:
            raise CaseImportError(f"refused ZIP entry {name!r}: symbolic links are not allowed")


def _read_record(archive: zipfile.ZipFile, files: dict[str, zipfile.ZipInfo]) -> dict:
    info = files.get("case.json")
    if info is None:
        raise CaseImportError("the ZIP has no case.json at its top level; is this a RadSynth case export?")
    if info.file_size > MAX_JSON_BYTES:
        raise CaseImportError("case.json is larger than 2 MiB")
    try:
        data = json.loads(archive.read(info).decode("utf-8"))
    except UnicodeDecodeError:
        raise CaseImportError("case.json is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise CaseImportError(f"case.json is not valid JSON: {exc}") from None
    errors = case_record_validate(data)
    if errors:
        more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
        raise CaseImportError(
            f"case.json does not match schema version {SCHEMA_VERSION}: " + "; ".join(errors[:10]) + more
        )
    return data


def _check_listed_files(record: dict, files: dict[str, zipfile.ZipInfo]) -> None:
    listed = [name for study in record["studies"] for name in study["files"]]
    missing = [name for name in listed if name not in files]
    if missing:
        raise CaseImportError(f"case.json lists {len(missing)} file(s) the ZIP does not hold: {_names(missing)}")
    unlisted = sorted(set(files) - set(listed) - {"case.json"})
    if unlisted:
        raise CaseImportError(f"the ZIP holds {len(unlisted)} file(s) case.json does not list: {_names(unlisted)}")


def _extract_and_check(archive, files, record: dict, scratch: Path) -> list[list[Path]]:
    """Unpack each study into its own folder and check every file's DICOM header."""
    studies = []
    for i, entry in enumerate(record["studies"]):
        folder = scratch / f"study-{i}"
        folder.mkdir()
        paths = []
        for j, name in enumerate(entry["files"]):
            target = folder / f"{j:05d}.dcm"
            with archive.open(files[name]) as src, open(target, "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
            try:
                header = pydicom.dcmread(target, stop_before_pixels=True)
            except (InvalidDicomError, EOFError, OSError, ValueError, TypeError, AttributeError) as exc:
                raise CaseImportError(f"{name} is not a DICOM file ({exc})") from None
            uid = str(header.get("StudyInstanceUID", "") or "")
            if uid != entry["study_instance_uid"]:
                raise CaseImportError(
                    f"{name} belongs to study {uid or '(none)'}, but case.json puts it in "
                    f"studies[{i}] ({entry['study_instance_uid']})"
                )
            if entry["synthetic"] and str(header.get("SyntheticData", "")).upper() != "YES":
                raise CaseImportError(
                    f"{name}: studies[{i}] is declared synthetic but the file lacks SyntheticData = YES"
                )
            paths.append(target)
        studies.append(paths)
    return studies


def _case_fields(record: dict) -> dict:
    case = record["case"]
    quiz = case.get("quiz", {})
    tags = case.get("tags", {})
    fields = {
        key: case[key]
        for key in ("quiz_title", "authors", "history", "findings", "impression", "diagnosis", "discussion",
                    "diagnostic_certainty", "difficulty", "findings_before_answer", "answer_after_attempt")
        if key in case
    }
    fields["differential"] = "\n".join(case.get("differential", []))
    fields["teaching_points"] = "\n".join(case.get("teaching_points", []))
    fields["tags"] = {kind: list(tags.get(key, [])) for kind, key in TAG_KEYS.items()}
    fields["quiz_type"] = quiz.get("type", "free-text")
    if "question" in quiz:
        fields["quiz_question"] = quiz["question"]
    fields["quiz_choices"] = list(quiz.get("choices", []))
    fields["quiz_correct_index"] = quiz.get("correct_index")
    return fields


def _remove_files(paths: list[Path]) -> None:
    dicom_root = Path(settings.MEDIA_ROOT) / "dicom"
    folders = set()
    for path in paths:
        path.unlink(missing_ok=True)
        folders.update(p for p in path.parents if dicom_root in p.parents)
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        try:
            folder.rmdir()  # only when empty
        except OSError:
            pass


def case_import_zip(*, source: BinaryIO | str | Path, owner) -> Case:
    """Create a draft case owned by ``owner`` from an export ZIP; all or nothing.

    A study whose StudyInstanceUID is already indexed is reused when ``owner`` may read it
    (re-importing on the same server), otherwise the import is refused.
    """
    from webapp.cases.services import case_create, case_study_attach
    from webapp.dicom.models import Instance, Study
    from webapp.dicom.selectors import study_access_check
    from webapp.dicom.services import ImportRejected, study_import

    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise CaseImportError("the upload is not a readable ZIP archive") from None
    media_root = Path(settings.MEDIA_ROOT)
    created_files: list[Path] = []
    with archive, tempfile.TemporaryDirectory(prefix="radsynth-case-import-") as scratch:
        members = archive.infolist()
        _check_member_names(members)
        files = {m.filename: m for m in members if not m.is_dir() and not _skippable(m.filename)}
        record = _read_record(archive, files)
        _check_listed_files(record, files)
        study_paths = _extract_and_check(archive, files, record, Path(scratch))
        fields = _case_fields(record)
        try:
            with transaction.atomic():
                studies = []
                for i, (entry, paths) in enumerate(zip(record["studies"], study_paths, strict=True)):
                    existing = Study.objects.filter(study_instance_uid=entry["study_instance_uid"]).first()
                    if existing is not None:
                        if not study_access_check(owner, existing):
                            raise CaseImportError(
                                f"studies[{i}]: study {existing.study_instance_uid} is already on this server "
                                "and you may not use it"
                            )
                        studies.append((existing, entry))
                        continue
                    try:
                        # No report on the study: the viewer shows it, and the case's quiz hides it.
                        study = study_import(paths_or_zip=paths, owner=owner)
                    except ImportRejected as exc:
                        raise CaseImportError(f"studies[{i}]: {exc}") from None
                    created_files.extend(
                        media_root / p
                        for p in Instance.objects.filter(series__study=study).values_list("file_path", flat=True)
                    )
                    studies.append((study, entry))
                try:
                    case = case_create(owner=owner, title=record["case"]["title"], **fields)
                except CaseError as exc:
                    raise CaseImportError(f"case.json: {exc}") from None
                for study, entry in studies:
                    case_study_attach(case=case, study=study, caption=entry.get("caption", ""))
        except BaseException:
            _remove_files(created_files)
            raise
    log.info("imported case %s with %d studies for %s", case.public_id, len(studies), owner)
    return case
