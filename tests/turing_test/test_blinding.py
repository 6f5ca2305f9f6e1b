"""Blinding: walk everything a reader can receive — pages, API responses, DICOMweb responses and
DICOM files — and fail if anything reveals truth or provenance, directly (a source UID, a vendor,
a generator name, SyntheticData, a date) or by a difference between real and synthetic items."""

from __future__ import annotations

import io
import json
import re
from collections import defaultdict

import pydicom
import pytest
from django.test import Client
from django.urls import reverse

from turing_test import services
from turing_test.models import Assignment, Item, ItemPart
from webapp.dicom.models import Instance, Series
from webapp.dicom.models import Study as DicomStudy

pytestmark = pytest.mark.django_db

UID_RE = re.compile(rb"\b\d+(?:\.\d+){4,}\b")
# Words and values that only the originals, the jobs or the admin side carry.
FORBIDDEN = [
    b"SyntheticData", b"synthetic", b"Synthetic", b"SYNTHETIC", b"generated", b"Generated", b"ACME", b"General Hospital",
    b"Scanner 9000", b"GENERIC", b"Report2Image", b"RadSynth 0.1", b"recon=B30f", b"plate=35x43", b"MRN", b"DOE^", b"ROE^",
    b"20190314", b"20180102", b"CHEST 2 VIEWS", b"CT THORAX", b"demo seed", b"demo-phantom", b"report2ct-small",
    b"medcodi-m", b"ImageComments", b"provenance", b"truth", b"generator", b"source_case",
]
STATIC_ALLOWED = ("/static/",)  # the same static files for every item (checked to be item-independent below)


def secrets_of(study) -> list[bytes]:
    """Identifiers of the originals and the jobs: none may reach a reader."""
    out: set[str] = set()
    for part in ItemPart.objects.filter(item__study=study).select_related("source_study"):
        if part.source_study_id:
            src = part.source_study
            out.add(src.study_instance_uid)
            for series in src.series.all():
                out.add(series.series_instance_uid)
                out.update(series.instances.values_list("sop_instance_uid", flat=True))
    for item in Item.objects.filter(study=study):
        out.add(item.label)
        job = (item.provenance.get("generation") or {}).get("job")
        if job:
            out.add(job)
        if item.source_case:
            out.add(item.source_case)
    return [s.encode() for s in out if s]


def check_clean(body: bytes, secrets: list[bytes], where: str, tokens: list[bytes] = ()) -> None:
    # Random per-request tokens (CSRF) and the opaque item tokens could contain a short needle by chance.
    body = re.sub(rb'(csrfmiddlewaretoken" value=|csrfToken["\']?:\s*["\'])[^"\']+', b"<csrf>", body)
    for t in tokens:
        body = body.replace(t, b"<token>")
    for needle in FORBIDDEN + secrets:
        assert needle not in body, f"{where} reveals {needle!r}"


def masked(body: bytes, tokens: list[bytes]) -> bytes:
    out = UID_RE.sub(b"<uid>", body)
    for t in tokens:
        out = out.replace(t, b"<token>")
    return out


def normalised_page(page: bytes, api_item: dict, tokens: list[bytes]) -> bytes:
    """The page minus what differs by position or per request (never by truth): tokens, UIDs,
    numbers, the report text, the CSRF token, first/last/practice navigation details."""
    out = page
    if api_item["report"]:
        report = api_item["report"]
        out = out.replace(report.encode(), b"<report>").replace(json.dumps(report)[1:-1].encode(), b"<report>")
    out = masked(out, tokens)
    out = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"<csrf>", out)
    out = re.sub(rb'"(prev|next)": (null|"<token>")', b"<nav>", out)
    out = re.sub(rb'"(practice|is_last)": (true|false)', b"<flag>", out)
    out = re.sub(rb"<span class=\"badge practice\"[^<]*</span>", b"", out)
    out = re.sub(rb"\s*(disabled)?\s*>", b">", out).replace(b"Finish", b"Next")
    return re.sub(rb"\d+", b"#", out)


def dataset_signature(raw: bytes) -> dict:
    """Every attribute of a DICOM file except UIDs and pixel data (slice positions included: one
    centred grid per modality means slice k sits at the same place in every copy)."""
    ds = pydicom.dcmread(io.BytesIO(raw))
    skip = {"PixelData", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID",
            "MediaStorageSOPInstanceUID", "FileMetaInformationGroupLength"}
    sig = {el.keyword or str(el.tag): str(el.value) for el in ds if el.keyword not in skip}
    sig.update({f"meta.{el.keyword}": str(el.value) for el in ds.file_meta if el.keyword not in skip})
    sig["_private_tags"] = sum(1 for el in ds if el.tag.is_private)
    # File size apart from the (random-length, fresh) UIDs: the same for every copy of a grid.
    uid_bytes = sum(len(str(el.value)) + len(str(el.value)) % 2 for el in [*ds, *ds.file_meta] if el.VR == "UI" and el.keyword in skip)
    sig["_bytes"] = len(raw) - uid_bytes
    return sig


def test_reader_receives_nothing_that_reveals_truth_or_provenance(vtt20, admin, reader_a, reader_b, inline_tasks):
    services.reader_assign(study=vtt20, reader=reader_a, actor=admin)
    services.reader_assign(study=vtt20, reader=reader_b, actor=admin)
    inline_tasks(services.study_open, study=vtt20, actor=admin)
    vtt20.refresh_from_db()
    assert vtt20.status == "open", vtt20.preparation_error
    secrets = secrets_of(vtt20)
    assignment = Assignment.objects.get(study=vtt20, reader=reader_a)
    client = Client()
    client.force_login(reader_a)
    entries = list(assignment.entries.order_by("position").select_related("item__task"))
    tokens = [e.item.token.encode() for e in entries] + [assignment.token.encode()]
    responses: list[tuple[str, bytes]] = []
    page_by_task: dict[int, dict[str, set[bytes]]] = defaultdict(lambda: defaultdict(set))
    payload_keys: set[tuple] = set()
    dicom_sigs: dict[tuple, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    qido_by_truth: dict[tuple, dict[str, set[bytes]]] = defaultdict(lambda: defaultdict(set))

    def get(path: str) -> bytes:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        disposition = response.get("Content-Disposition", "")
        check_clean(disposition.encode(), secrets, f"{path} Content-Disposition")
        responses.append((path, body))
        return body

    get(reverse("turing_test:my_assignments"))
    get(reverse("api:turing_api:assignment_list"))
    for n, entry in enumerate(entries):
        item = entry.item
        token = item.token
        page = get(reverse("turing_test:read_item", args=[assignment.token, token]))
        api_item = json.loads(get(reverse("api:turing_api:assignment_item", args=[assignment.token, token])))
        payload_keys.add(tuple(sorted(api_item)))
        # The page without tokens, UIDs, numbers and the report text: identical within a task.
        page_by_task[item.task_id][item.truth].add(normalised_page(page, api_item, tokens))
        for image in api_item["images"]:
            st, se = image["study_uid"], image["series_uid"]
            root = "/dicomweb/"
            qido = get(f"{root}studies?StudyInstanceUID={st}")
            qido_by_truth[(item.task_id, image["view"])][item.truth].add(masked(qido, tokens))
            get(f"{root}studies/{st}/series")
            instances = json.loads(get(f"{root}studies/{st}/series/{se}/instances"))
            get(f"{root}studies/{st}/series/{se}/metadata")
            for inst in instances:
                sop = inst["00080018"]["Value"][0]
                raw = get(f"{root}wado?requestType=WADO&studyUID={st}&seriesUID={se}&objectUID={sop}&contentType=application/dicom")
                sig = dataset_signature(raw)
                dicom_sigs[(item.modality, image["view"], sig.get("InstanceNumber"))][item.truth].append(sig)
                get(f"{root}studies/{st}/series/{se}/instances/{sop}/frames/1")
            get(reverse("viewer:study", args=[st]))
        services.rating_save(assignment=assignment, reader=reader_a, item_token=token, request_id=f"q{n}", score=3)
    get(reverse("api:turing_api:assignment_state", args=[assignment.token]))
    get(reverse("turing_test:read_finish", args=[assignment.token]))
    client.post(reverse("turing_test:read_finish", args=[assignment.token]))
    get(reverse("turing_test:read_thanks", args=[assignment.token]))

    # 1. nothing names an original, a vendor, a generator, a date or the truth
    for path, body in responses:
        if path.endswith("/frames/1"):
            continue  # raw pixel bytes
        check_clean(body, secrets, path, tokens)
    # 2. the JSON a reader gets has the same shape for every item
    assert len(payload_keys) == 1
    assert not {"truth", "generator", "provenance", "label", "source_case"} & set(next(iter(payload_keys)))
    # 3. pages of real and synthetic items of one task differ only in tokens, numbers and report text
    for task_id, by_truth in page_by_task.items():
        if len(by_truth) == 2:
            if by_truth["real"] != by_truth["synthetic"]:
                import difflib
                for variant in by_truth["synthetic"] ^ by_truth["real"]:
                    a, b = sorted(by_truth["real"])[0].decode(errors="replace").splitlines(), variant.decode(errors="replace").splitlines()
                    print("\n".join(difflib.unified_diff(a, b, lineterm="")))
            assert by_truth["real"] == by_truth["synthetic"], f"task {task_id}: the page differs by truth"
    # 4. every DICOM file of one modality/view has identical attributes apart from UIDs and position
    for key, by_truth in dicom_sigs.items():
        all_sigs = by_truth["real"] + by_truth["synthetic"]
        first = all_sigs[0]
        for sig in all_sigs[1:]:
            diff = {k for k in set(first) | set(sig) if first.get(k) != sig.get(k)}
            assert not diff, f"{key}: files differ in {sorted(diff)}"
    # 5. QIDO answers are identical up to UIDs
    for key, by_truth in qido_by_truth.items():
        assert len(set().union(*by_truth.values())) == 1, f"{key}: QIDO differs"


def test_reader_cannot_open_originals_or_other_copies(vtt20, admin, reader_a, role_user, inline_tasks):
    services.reader_assign(study=vtt20, reader=reader_a, actor=admin)
    inline_tasks(services.study_open, study=vtt20, actor=admin)
    outsider = role_user("outsider", "readers")
    client = Client()
    client.force_login(reader_a)
    originals = DicomStudy.objects.exclude(source="presentation")
    for study in originals[:6]:
        series = study.series.first()
        assert client.get(f"/dicomweb/studies/{study.study_instance_uid}/series").status_code in (403, 404)
        assert client.get(f"/dicomweb/studies/{study.study_instance_uid}/series/{series.series_instance_uid}/metadata").status_code in (403, 404)
        assert client.get(reverse("viewer:study", args=[study.study_instance_uid])).status_code in (403, 404)
    listed = json.loads(client.get("/dicomweb/studies").content or b"[]")
    listed_uids = {s["0020000D"]["Value"][0] for s in listed}
    assert listed_uids == set(vtt20.items.exclude(presentation_study=None).values_list("presentation_study__study_instance_uid", flat=True))
    # a reader of no study sees none of the copies
    other = Client()
    other.force_login(outsider)
    copy = DicomStudy.objects.filter(source="presentation").first()
    assert other.get(f"/dicomweb/studies/{copy.study_instance_uid}/series").status_code in (403, 404)
    assert json.loads(other.get("/dicomweb/studies").content or b"[]") == []


def test_copies_share_one_grid_per_modality(vtt20, admin, inline_tasks):
    inline_tasks(services.study_prepare, study=vtt20, actor=admin)
    grids = defaultdict(set)
    for series in Series.objects.filter(study__source="presentation"):
        inst = Instance.objects.filter(series=series).first()
        grids[series.modality].add((inst.rows, inst.columns, series.number_of_instances if series.modality == "CT" else 1,
                                    inst.transfer_syntax_uid, inst.sop_class_uid))
    assert set(grids) == {"CT", "DX"}
    assert all(len(v) == 1 for v in grids.values()), grids
    names = [Instance.objects.filter(series__study__source="presentation").values_list("file_path", flat=True)]
    for path in names[0]:
        assert re.fullmatch(r"dicom/[\d.]+/[\d.]+/[\d.]+\.dcm", path), path
