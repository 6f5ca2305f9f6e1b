from django.urls import path

from webapp.jobs import views

app_name = "jobs"
urlpatterns = [
    path("", views.job_list, name="list"),
    path("new/", views.job_new, name="new"),
    path("<uuid:job_id>/", views.job_detail, name="detail"),
    path("<uuid:job_id>/thumb/<int:index>/<str:plane>.png", views.job_thumbnail, name="thumbnail"),
    path("<uuid:job_id>/<str:action>/", views.job_action, name="action"),
]
