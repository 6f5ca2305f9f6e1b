from __future__ import annotations

from django import forms

from generation.request import (
    DEFAULT_GUIDANCE,
    DEFAULT_STEPS,
    GUIDANCE_RANGE,
    SAMPLES_RANGE,
    STEPS_RANGE,
)
from webapp.jobs.models import Modality


def preset_choices() -> list[tuple[str, str]]:
    from generation.registry import list_presets

    return [(name, name) for name in list_presets()]


class ReportForm(forms.Form):
    findings = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), required=False, max_length=20000)
    impression = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=20000)
    indication = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=5000,
                                 help_text="Recorded with the job; the model is conditioned on findings and impression.")
    modality = forms.ChoiceField(choices=Modality.choices, initial=Modality.CT)
    preset = forms.ChoiceField(choices=(), initial="demo")
    seed = forms.IntegerField(required=False, min_value=0, max_value=2**31 - 1, help_text="Empty: a random seed.")
    guidance_scale = forms.FloatField(label="Guidance scale (s)", initial=DEFAULT_GUIDANCE, min_value=GUIDANCE_RANGE[0], max_value=GUIDANCE_RANGE[1])
    num_inference_steps = forms.IntegerField(label="Diffusion steps", initial=DEFAULT_STEPS, min_value=STEPS_RANGE[0], max_value=STEPS_RANGE[1])
    num_samples = forms.IntegerField(label="Samples", initial=1, min_value=SAMPLES_RANGE[0], max_value=SAMPLES_RANGE[1])
    input_study = forms.ModelChoiceField(
        queryset=None, required=False, label="Prompt with radiographs (chest X-ray only)",
        help_text="The frontal and/or lateral image of this study also conditions the output.",
    )
    with_report = forms.BooleanField(required=False, label="Also draft a report (chest X-ray)")

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["preset"].choices = preset_choices()
        from webapp.dicom.models import Study
        from webapp.dicom.selectors import studies_visible_to

        visible = studies_visible_to(user) if user is not None else Study.objects.none()
        self.fields["input_study"].queryset = visible.filter(modalities__contains="DX")
        self.fields["input_study"].label_from_instance = lambda study: f"{study.description or 'Study'} · {study.modalities} · {study.created:%Y-%m-%d}"

    def clean(self):
        data = super().clean()
        has_text = (data.get("findings") or "").strip() or (data.get("impression") or "").strip()
        if not has_text and not data.get("input_study"):
            raise forms.ValidationError("Write the findings, the impression, or both (or prompt with radiographs).")
        return data

    REPORT_FIELDS = ("findings", "impression", "indication")

    def report_fields(self):
        return [self[name] for name in self.REPORT_FIELDS]

    def parameter_fields(self):
        return [self[name] for name in self.fields if name not in self.REPORT_FIELDS]
