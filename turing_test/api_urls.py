"""/api/turing/ (namespace "turing_api")."""

from django.urls import path

from turing_test import apis

app_name = "turing_api"

urlpatterns = [
    path("assignments/", apis.AssignmentListApi.as_view(), name="assignment_list"),
    path("assignments/<str:token>/", apis.AssignmentStateApi.as_view(), name="assignment_state"),
    path("assignments/<str:token>/submit/", apis.AssignmentSubmitApi.as_view(), name="assignment_submit"),
    path("assignments/<str:token>/items/<str:item_token>/", apis.AssignmentItemApi.as_view(), name="assignment_item"),
    path("assignments/<str:token>/items/<str:item_token>/rating/", apis.RatingSaveApi.as_view(), name="rating_save"),
    path("studies/", apis.StudyListApi.as_view(), name="study_list"),
    path("studies/<int:pk>/", apis.StudyDetailApi.as_view(), name="study_detail"),
    path("studies/<int:pk>/tasks/", apis.TaskCreateApi.as_view(), name="task_create"),
    path("studies/<int:pk>/readers/", apis.ReaderAssignApi.as_view(), name="reader_assign"),
    path("studies/<int:pk>/invitations/", apis.InvitationCreateApi.as_view(), name="invitation_create"),
    path("studies/<int:pk>/prepare/", apis.StudyPrepareApi.as_view(), name="study_prepare"),
    path("studies/<int:pk>/open/", apis.StudyOpenApi.as_view(), name="study_open"),
    path("studies/<int:pk>/close/", apis.StudyCloseApi.as_view(), name="study_close"),
    path("studies/<int:pk>/progress/", apis.StudyProgressApi.as_view(), name="study_progress"),
    path("studies/<int:pk>/export.csv", apis.StudyExportCsvApi.as_view(), name="study_export_csv"),
    path("studies/<int:pk>/export.json", apis.StudyExportJsonApi.as_view(), name="study_export_json"),
    path("studies/<int:pk>/report/", apis.StudyReportApi.as_view(), name="study_report"),
    path("studies/<int:pk>/plan/", apis.StudyPlanApi.as_view(), name="study_plan"),
    path("tasks/<int:pk>/items/", apis.ItemAddApi.as_view(), name="item_add"),
]
