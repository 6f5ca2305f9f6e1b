"""The viewer page picks the right viewer, embeds the bundle through the manifest, and the study list."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_ct_study_opens_three_plane_viewer(client, owner, ct_study):
    client.force_login(owner)
    response = client.get(f"/viewer/{ct_study.study_instance_uid}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-mode="ct"' in html and f'data-study-uid="{ct_study.study_instance_uid}"' in html
    assert ct_study.series.get().series_instance_uid in html and 'data-dicomweb-root="/dicomweb/"' in html
    assert "ct-viewer" in html  # script from the manifest, or the visible "not built" notice


def test_cxr_study_opens_two_up_viewer_frontal_first(client, owner, cxr_study):
    client.force_login(owner)
    html = client.get(f"/viewer/{cxr_study.study_instance_uid}/").content.decode()
    frontal, lateral = cxr_study.series.order_by("series_number")
    assert 'data-mode="cxr"' in html
    assert f'data-series-uids="{frontal.series_instance_uid},{lateral.series_instance_uid}"' in html
    assert 'data-series-labels="Frontal PA|Lateral LL"' in html


def test_viewer_needs_login_and_known_study(client, owner):
    assert client.get("/viewer/1.2.3/").status_code == 302
    client.force_login(owner)
    assert client.get("/viewer/1.2.3/").status_code == 404


def test_vite_tag_uses_manifest(monkeypatch, tmp_path):
    import json

    from webapp.dicom.templatetags import vite

    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({
        "static/viewer-src/ct-viewer.js": {"file": "assets/ct-1.js", "imports": ["_shared.js"], "isEntry": True},
        "_shared.js": {"file": "assets/shared-2.js", "css": ["assets/shared-3.css"]},
    }))
    monkeypatch.setattr(vite, "MANIFEST", manifest)
    html = vite.vite_asset("static/viewer-src/ct-viewer.js")
    assert '<link rel="stylesheet" href="/static/build/assets/shared-3.css">' in html
    assert '<link rel="modulepreload" href="/static/build/assets/shared-2.js">' in html
    assert '<script type="module" src="/static/build/assets/ct-1.js"></script>' in html
    assert "make viewer" in vite.vite_asset("static/viewer-src/missing.js")


def test_study_list_shows_visible_studies_only(client, owner, other_user, ct_study):
    client.force_login(owner)
    html = client.get("/dicom/studies/").content.decode()
    assert f"/viewer/{ct_study.study_instance_uid}/" in html and "Orientation phantom" in html
    client.force_login(other_user)
    assert f"/viewer/{ct_study.study_instance_uid}/" not in client.get("/dicom/studies/").content.decode()


def test_viewer_shows_the_report_only_to_owner_and_study_admins(client, django_user_model, tmp_path):
    """A learner who may open a study (e.g. through a teaching case) must not read its report."""
    from webapp.core.roles import EDUCATORS, READERS, STUDY_ADMINS
    from webapp.core.services import user_create_with_roles
    from webapp.dicom.models import Study
    from webapp.dicom.views import viewer_context

    owner = user_create_with_roles(username="own", password="pw", roles=(EDUCATORS,))
    learner = user_create_with_roles(username="lrn", password="pw", roles=(READERS,))
    admin = user_create_with_roles(username="adm", password="pw", roles=(STUDY_ADMINS,))
    study = Study.objects.create(study_instance_uid="1.2.3.4", owner=owner, report_impression="Secret diagnosis")

    class Request:
        def __init__(self, user):
            self.user = user

    assert viewer_context(Request(owner), study)["show_report"] is True
    assert viewer_context(Request(admin), study)["show_report"] is True
    assert viewer_context(Request(learner), study)["show_report"] is False
