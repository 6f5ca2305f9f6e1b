"""Forms of the study builder and the invitation page (validation of shape only; rules live in services)."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from turing_test.errors import InvalidInput
from turing_test.models import Study
from turing_test.services.planning import PLAN_FIELDS, grid_values_parse
from turing_test.task_kinds import KIND_CHOICES


class StudyForm(forms.ModelForm):
    class Meta:
        model = Study
        fields = ["title", "instructions", "allow_back", "forced_choice", "shuffle_tasks", "seed"]
        widgets = {"instructions": forms.Textarea(attrs={"rows": 4})}


class TaskForm(forms.Form):
    kind = forms.ChoiceField(choices=KIND_CHOICES)
    modality = forms.ChoiceField(choices=[("", "—"), ("ct", "CT"), ("cxr", "Chest X-ray")], required=False)
    title = forms.CharField(max_length=200, required=False)


class TaskEditForm(forms.Form):
    title = forms.CharField(max_length=200)
    question = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    anchor_1 = forms.CharField(max_length=300, label="1")
    anchor_2 = forms.CharField(max_length=300, label="2")
    anchor_3 = forms.CharField(max_length=300, label="3")
    anchor_4 = forms.CharField(max_length=300, label="4")
    anchor_5 = forms.CharField(max_length=300, label="5")

    def anchors(self) -> list[str]:
        return [self.cleaned_data[f"anchor_{i}"] for i in range(1, 6)]


class ItemForm(forms.Form):
    image_study = forms.ChoiceField(required=False, label="Image study (under test or reference)")
    image_series_uid = forms.CharField(required=False, max_length=64, label="Series UID (optional)")
    reference_study = forms.ChoiceField(required=False, label="Real reference view study (pair tasks)")
    report_study = forms.ChoiceField(required=False, label="Take the report from study")
    findings = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    impression = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    report_synthetic = forms.BooleanField(required=False, label="The entered report is synthetic")
    generator = forms.CharField(required=False, max_length=128, help_text="for a synthetic report: the model that wrote it")
    is_practice = forms.BooleanField(required=False, label="Practice item (shown first, not analysed)")

    def __init__(self, *args, study_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "—")] + list(study_choices)
        for name in ("image_study", "reference_study", "report_study"):
            self.fields[name].choices = choices


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


class CaseUploadForm(forms.Form):
    files = MultipleFileField(help_text="DICOM files of one series or study, or one ZIP")
    report = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="FINDINGS: … IMPRESSION: … (or JSON with findings / impression)",
    )


class ReaderForm(forms.Form):
    username = forms.CharField(max_length=150)

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise forms.ValidationError("No account with that user name.")
        self.user = user
        return username


class InvitationForm(forms.Form):
    label = forms.CharField(max_length=200, required=False, help_text="who it is for")
    days = forms.IntegerField(min_value=1, max_value=365, initial=14)


class InvitationAccountForm(forms.Form):
    username = forms.CharField(max_length=150)
    password = forms.CharField(widget=forms.PasswordInput)


class ReportForm(forms.Form):
    """Query of a report download; the format itself is checked by the service (400 lists the allowed ones).
    ``reader_names``: 1/true/on/yes or 0/false/off/no/absent, anything else is an error (a checkbox
    field would read "0" as on)."""

    TRUE, FALSE = {"1", "true", "on", "yes"}, {"", "0", "false", "off", "no"}

    format = forms.CharField(required=False)
    reader_names = forms.CharField(required=False, label="Show reader names")

    def clean_reader_names(self) -> bool:
        value = self.cleaned_data["reader_names"].lower()
        if value not in self.TRUE | self.FALSE:
            raise forms.ValidationError("reader_names must be 1 or 0.")
        return value in self.TRUE


class PlanForm(forms.Form):
    """Sample-size planner (GET). Blank fields take the planner's defaults; bounds from PLAN_FIELDS."""

    grid_readers = forms.CharField(required=False, max_length=100, label="Grid: readers", help_text="e.g. 3, 5, 10, 20")
    grid_items_per_class = forms.CharField(required=False, max_length=100, label="Grid: items per class", help_text="e.g. 25, 50, 100")

    def __init__(self, data=None, *args, **kwargs):
        if data is not None:  # a blank or missing assumption is shown, and used, as its default
            data = data.copy()
            for name, spec in PLAN_FIELDS.items():
                if not str(data.get(name, "")).strip():
                    data[name] = spec.default
        super().__init__(data, *args, **kwargs)
        plan_fields = {}
        for name, spec in PLAN_FIELDS.items():
            field_class = forms.IntegerField if spec.integer else forms.FloatField
            options = {} if spec.integer else {"widget": forms.NumberInput(attrs={"step": "0.01"})}
            plan_fields[name] = field_class(
                required=False, min_value=spec.low, max_value=spec.high, initial=spec.default, label=spec.label,
                help_text=spec.help, **options,
            )
        self.fields = {**plan_fields, **self.fields}

    @classmethod
    def is_submitted(cls, query) -> bool:
        return any(name in query for name in (*PLAN_FIELDS, "grid_readers", "grid_items_per_class"))

    def clean(self):
        data = super().clean()
        for name in ("grid_readers", "grid_items_per_class"):
            if name in data:
                try:
                    data[name] = grid_values_parse(data[name], field=self.fields[name].label)
                except InvalidInput as exc:
                    self.add_error(name, exc.message)
        return data

    def plan_arguments(self) -> dict:
        """Keyword arguments of ``services.sample_size_plan`` (defaults when the form is unbound)."""
        if not self.is_bound:
            return {name: spec.default for name, spec in PLAN_FIELDS.items()}
        return dict(self.cleaned_data)
