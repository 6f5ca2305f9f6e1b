"""/studies/ pages (namespace "turing_test")."""

from django.urls import path

from turing_test.views import admin, reader

app_name = "turing_test"

urlpatterns = [
    # readers
    path("mine/", reader.my_assignments, name="my_assignments"),
    path("read/<str:token>/", reader.read_resume, name="read_resume"),
    path("read/<str:token>/finish/", reader.read_finish, name="read_finish"),
    path("read/<str:token>/thanks/", reader.read_thanks, name="read_thanks"),
    path("read/<str:token>/<str:item_token>/", reader.read_item, name="read_item"),
    path("invite/<str:token>/", reader.invitation, name="invitation"),
    # study admins
    path("", admin.study_list, name="study_list"),
    path("new/", admin.study_create, name="study_create"),
    path("<int:pk>/", admin.study_detail, name="study_detail"),
    path("<int:pk>/settings/", admin.study_settings, name="study_settings"),
    path("<int:pk>/status.json", admin.study_status, name="study_status"),
    path("<int:pk>/do/<str:action>/", admin.study_action, name="study_action"),
    path("<int:pk>/tasks/add/", admin.task_add, name="task_add"),
    path("<int:pk>/tasks/<int:task_pk>/", admin.task_edit, name="task_edit"),
    path("<int:pk>/tasks/<int:task_pk>/delete/", admin.task_delete, name="task_delete"),
    path("<int:pk>/tasks/<int:task_pk>/items/add/", admin.item_add, name="item_add"),
    path("<int:pk>/items/<int:item_pk>/delete/", admin.item_delete, name="item_delete"),
    path("<int:pk>/items/<int:item_pk>/practice/", admin.item_practice, name="item_practice"),
    path("<int:pk>/upload/", admin.case_upload, name="case_upload"),
    path("<int:pk>/readers/add/", admin.reader_add, name="reader_add"),
    path("<int:pk>/readers/<int:assignment_pk>/remove/", admin.reader_remove, name="reader_remove"),
    path("<int:pk>/invitations/add/", admin.invitation_add, name="invitation_add"),
    path("<int:pk>/invitations/<int:invitation_pk>/revoke/", admin.invitation_revoke, name="invitation_revoke"),
    path("<int:pk>/preview/", admin.study_preview, name="study_preview"),
    path("<int:pk>/preview/<int:number>/", admin.study_preview, name="study_preview_item"),
    path("<int:pk>/dashboard/", admin.study_dashboard, name="study_dashboard"),
    path("<int:pk>/report/", admin.study_report, name="study_report"),
    path("<int:pk>/audit-log/", admin.study_audit_log, name="study_audit_log"),
]
