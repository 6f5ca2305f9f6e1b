from django.urls import path

from webapp.cases import views

app_name = "cases"
urlpatterns = [
    path("", views.library, name="library"),
    path("new/", views.case_new, name="new"),
    path("import/", views.case_import, name="import"),
    path("quiz-history/", views.quiz_history, name="history"),
    path("from-job/<uuid:job_id>/", views.case_from_job, name="from_job"),
    path("link/<str:token>/", views.case_link, name="link"),
    path("<uuid:case_id>/", views.case_detail, name="detail"),
    path("<uuid:case_id>/edit/", views.case_edit, name="edit"),
    path("<uuid:case_id>/quiz/", views.case_quiz, name="quiz"),
    path("<uuid:case_id>/quiz/<int:attempt_id>/", views.quiz_reveal, name="reveal"),
    path("<uuid:case_id>/export.zip", views.case_export, name="export"),
    path("<uuid:case_id>/thumb/<int:link_id>/<str:plane>.png", views.case_thumbnail, name="thumbnail"),
    path("<uuid:case_id>/<slug:action>/", views.case_action, name="action"),
]
