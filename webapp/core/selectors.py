"""Reads for the home dashboard: what each role can do next."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse

from webapp.core.roles import EDUCATORS, READERS, ROLE_LABELS, STUDY_ADMINS, user_roles

# Entry points per role: (title, URL name, description). URL names that are not installed yet
# are skipped, so the dashboard never links to a page that does not exist.
ENTRY_POINTS = {
    READERS: [
        ("My reading assignments", "turing_test:my_assignments", "Rate images and reports, blinded."),
        ("Teaching case library", "cases:library", "Learn from published cases; take them as quizzes."),
    ],
    EDUCATORS: [
        ("New report → synthetic study", "jobs:new", "Type findings and impression; get a CT or chest X-ray."),
        ("Generation jobs", "jobs:list", "Progress and results of your generations."),
        ("Teaching case library", "cases:library", "Browse, author and publish teaching cases."),
    ],
    STUDY_ADMINS: [
        ("Visual Turing Test studies", "turing_test:study_list", "Build, open, monitor and export reader studies."),
        ("Imported studies", "dicom:study_list", "Real DICOM studies available as study items."),
    ],
}


def dashboard_for(*, user) -> list[dict]:
    sections = []
    for role in (READERS, EDUCATORS, STUDY_ADMINS):
        if role not in user_roles(user):
            continue
        links = []
        for title, url_name, description in ENTRY_POINTS[role]:
            try:
                links.append({"title": title, "url": reverse(url_name), "description": description})
            except NoReverseMatch:
                continue
        sections.append({"role": role, "label": ROLE_LABELS[role], "links": links})
    return sections
