from django.urls import path

from webapp.cases import api

app_name = "cases-api"
urlpatterns = [
    path("", api.CaseListCreateApi.as_view(), name="list"),
    path("from-job/", api.CaseCreateFromJobApi.as_view(), name="from-job"),
    path("import/", api.CaseImportApi.as_view(), name="import"),
    path("quiz/attempts/", api.QuizAttemptListApi.as_view(), name="attempts"),
    path("<uuid:case_id>/", api.CaseDetailApi.as_view(), name="detail"),
    path("<uuid:case_id>/publish/", api.CasePublishApi.as_view(), name="publish"),
    path("<uuid:case_id>/variants/", api.CaseVariantsAddApi.as_view(), name="variants"),
    path("<uuid:case_id>/quiz/attempts/", api.QuizAttemptSubmitApi.as_view(), name="quiz-submit"),
    path("<uuid:case_id>/export/", api.CaseExportApi.as_view(), name="export"),
]
