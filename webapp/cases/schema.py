"""The `case.json` record of an exported teaching case, and an explicit validator for it.

Layout of an export ZIP::

    case.json                      this record
    studies/<n>/<nnnnn>.dcm        the DICOM files of study n (1-based), listed in the record

The validator returns every problem as "<path>: <what is wrong>" so an import can say exactly
which field is off; it never raises on bad data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath

from webapp.cases.models import DiagnosticCertainty, Difficulty, QuizType, TagKind

FORMAT = "radsynth-teaching-case"
SCHEMA_VERSION = 1
TAG_KEYS = {TagKind.ORGAN_SYSTEM: "organ_system", TagKind.PATHOLOGY: "pathology", TagKind.MODALITY: "modality"}
UID_PATTERN = re.compile(r"^[0-9]+(\.[0-9]+)*$")
MAX_CHOICES = 8
FILE_NAME_PATTERN = re.compile(r"^studies/[0-9]{1,3}/[A-Za-z0-9._-]{1,128}$")

# field → (max length or None, required)
CASE_TEXT_FIELDS: dict[str, tuple[int | None, bool]] = {
    "title": (200, True),
    "quiz_title": (200, False),
    "authors": (300, False),
    "history": (None, False),
    "findings": (None, False),
    "impression": (None, False),
    "diagnosis": (300, False),
    "discussion": (None, False),
}
CASE_LIST_FIELDS = ("differential", "teaching_points")
CASE_BOOL_FIELDS = ("findings_before_answer", "answer_after_attempt")
CASE_ENUM_FIELDS = {"diagnostic_certainty": DiagnosticCertainty.values, "difficulty": Difficulty.values}
CASE_KEYS = set(CASE_TEXT_FIELDS) | set(CASE_LIST_FIELDS) | set(CASE_BOOL_FIELDS) | set(CASE_ENUM_FIELDS) | {
    "tags", "quiz",
}
STUDY_KEYS = {"folder", "study_instance_uid", "synthetic", "caption", "modalities", "description", "files"}
TOP_KEYS = {"format", "schema_version", "exported_at", "generator", "case", "studies"}


def _type_name(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _unknown(data: Mapping, allowed: set[str], path: str, errors: list[str]) -> None:
    for key in sorted(set(data) - allowed):
        errors.append(f"{path}{key}: unknown field")


def _string_list(value, path: str, errors: list[str], *, max_len: int | None = None) -> None:
    if not isinstance(value, list):
        errors.append(f"{path}: must be a list of strings, got {_type_name(value)}")
        return
    for i, item in enumerate(value):
        if not isinstance(item, str):
            errors.append(f"{path}[{i}]: must be a string, got {_type_name(item)}")
        elif max_len is not None and len(item) > max_len:
            errors.append(f"{path}[{i}]: longer than {max_len} characters")


def _validate_case(case, errors: list[str]) -> None:
    if not isinstance(case, dict):
        errors.append(f"case: must be an object, got {_type_name(case)}")
        return
    _unknown(case, CASE_KEYS, "case.", errors)
    for field, (max_len, required) in CASE_TEXT_FIELDS.items():
        if field not in case:
            if required:
                errors.append(f"case.{field}: required")
            continue
        value = case[field]
        if not isinstance(value, str):
            errors.append(f"case.{field}: must be a string, got {_type_name(value)}")
        elif required and not value.strip():
            errors.append(f"case.{field}: must not be empty")
        elif max_len is not None and len(value) > max_len:
            errors.append(f"case.{field}: longer than {max_len} characters")
    for field in CASE_LIST_FIELDS:
        if field in case:
            _string_list(case[field], f"case.{field}", errors)
    for field in CASE_BOOL_FIELDS:
        if field in case and not isinstance(case[field], bool):
            errors.append(f"case.{field}: must be true or false, got {_type_name(case[field])}")
    for field, allowed in CASE_ENUM_FIELDS.items():
        if field in case and case[field] not in allowed:
            errors.append(f"case.{field}: must be one of {', '.join(allowed)}; got {case[field]!r}")
    tags = case.get("tags", {})
    if not isinstance(tags, dict):
        errors.append(f"case.tags: must be an object, got {_type_name(tags)}")
    else:
        _unknown(tags, set(TAG_KEYS.values()), "case.tags.", errors)
        for key in TAG_KEYS.values():
            if key in tags:
                _string_list(tags[key], f"case.tags.{key}", errors, max_len=64)
    if "quiz" in case:
        _validate_quiz(case["quiz"], errors)


def _validate_quiz(quiz, errors: list[str]) -> None:
    if not isinstance(quiz, dict):
        errors.append(f"case.quiz: must be an object, got {_type_name(quiz)}")
        return
    _unknown(quiz, {"type", "question", "choices", "correct_index"}, "case.quiz.", errors)
    kind = quiz.get("type", QuizType.FREE_TEXT)
    if kind not in QuizType.values:
        errors.append(f"case.quiz.type: must be one of {', '.join(QuizType.values)}; got {kind!r}")
    question = quiz.get("question", "")
    if not isinstance(question, str) or len(question) > 300:
        errors.append("case.quiz.question: must be a string of at most 300 characters")
    choices = quiz.get("choices", [])
    _string_list(choices, "case.quiz.choices", errors, max_len=300)
    correct = quiz.get("correct_index")
    if correct is not None and not _is_int(correct):
        errors.append(f"case.quiz.correct_index: must be an integer or null, got {_type_name(correct)}")
        return
    if kind == QuizType.MULTIPLE_CHOICE and isinstance(choices, list):
        if not 2 <= len(choices) <= MAX_CHOICES:
            errors.append(f"case.quiz.choices: a multiple-choice quiz needs 2 to {MAX_CHOICES} choices")
        if correct is None or not 0 <= correct < len(choices):
            errors.append("case.quiz.correct_index: must point at one of the choices (0-based)")


def _validate_studies(studies, errors: list[str]) -> None:
    if not isinstance(studies, list):
        errors.append(f"studies: must be a list, got {_type_name(studies)}")
        return
    seen_files: set[str] = set()
    for i, study in enumerate(studies):
        path = f"studies[{i}]"
        if not isinstance(study, dict):
            errors.append(f"{path}: must be an object, got {_type_name(study)}")
            continue
        _unknown(study, STUDY_KEYS, f"{path}.", errors)
        uid = study.get("study_instance_uid")
        if not isinstance(uid, str) or len(uid) > 64 or not UID_PATTERN.match(uid):
            errors.append(f"{path}.study_instance_uid: required, a DICOM UID (digits and dots, at most 64)")
        if not isinstance(study.get("synthetic"), bool):
            errors.append(f"{path}.synthetic: required, true or false")
        for field, max_len in (("caption", 200), ("modalities", 64), ("description", 256), ("folder", 64)):
            if field in study and (not isinstance(study[field], str) or len(study[field]) > max_len):
                errors.append(f"{path}.{field}: must be a string of at most {max_len} characters")
        files = study.get("files")
        if not isinstance(files, list) or not files:
            errors.append(f"{path}.files: required, a non-empty list of file names")
            continue
        for j, name in enumerate(files):
            if not isinstance(name, str):
                errors.append(f"{path}.files[{j}]: must be a string, got {_type_name(name)}")
                continue
            problem = file_name_problem(name)
            if problem:
                errors.append(f"{path}.files[{j}]: {problem}")
            elif name in seen_files:
                errors.append(f"{path}.files[{j}]: {name!r} is listed twice")
            seen_files.add(name)


def file_name_problem(name: str) -> str | None:
    """Why a file name (in case.json or the ZIP) is unsafe, or None."""
    if "\\" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return f"{name!r} is an absolute or Windows path"
    parts = PurePosixPath(name).parts
    if ".." in parts or "." in name.split("/"):
        return f"{name!r} points outside the archive"
    if not FILE_NAME_PATTERN.match(name):
        return f"{name!r} is not of the form studies/<n>/<file name>"
    return None


def case_record_validate(data) -> list[str]:
    """Every problem of a parsed case.json; an empty list means valid."""
    errors: list[str] = []
    if not isinstance(data, dict):
        return [f"case.json: must hold an object, got {_type_name(data)}"]
    _unknown(data, TOP_KEYS, "", errors)
    if data.get("format") != FORMAT:
        errors.append(f"format: must be {FORMAT!r}; got {data.get('format')!r}")
    version = data.get("schema_version")
    if not _is_int(version):
        errors.append("schema_version: required, an integer")
    elif version != SCHEMA_VERSION:
        errors.append(f"schema_version: {version} is not supported (this server reads version {SCHEMA_VERSION})")
    if "case" not in data:
        errors.append("case: required")
    else:
        _validate_case(data["case"], errors)
    if "studies" not in data:
        errors.append("studies: required (may be an empty list)")
    else:
        _validate_studies(data["studies"], errors)
    return errors
