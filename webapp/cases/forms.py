"""Page forms for teaching cases: they validate shapes; services.py validates meaning."""

from __future__ import annotations

from django import forms

from webapp.cases.models import Case, DiagnosticCertainty, Difficulty, QuizType, TagKind, Visibility
from webapp.cases.services import MAX_VARIANT_SEEDS

TAG_FIELDS = {"organ_systems": TagKind.ORGAN_SYSTEM, "pathologies": TagKind.PATHOLOGY, "modalities": TagKind.MODALITY}


def _split_tags(value: str) -> list[str]:
    return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]


class CaseForm(forms.Form):
    title = forms.CharField(max_length=200, help_text="Shown in the library.")
    quiz_title = forms.CharField(
        max_length=200, required=False, label="Quiz title",
        help_text="Shown in quiz mode instead of the title, which often names the diagnosis.",
    )
    authors = forms.CharField(max_length=300, required=False)
    history = forms.CharField(label="History / indication", required=False, max_length=20000,
                              widget=forms.Textarea(attrs={"rows": 3}))
    findings = forms.CharField(required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 4}))
    findings_before_answer = forms.BooleanField(required=False, label="Learners see the findings before they answer")
    impression = forms.CharField(required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 2}))
    diagnosis = forms.CharField(max_length=300, required=False)
    diagnostic_certainty = forms.ChoiceField(choices=DiagnosticCertainty.choices)
    differential = forms.CharField(required=False, max_length=20000, help_text="One diagnosis per line.",
                                   widget=forms.Textarea(attrs={"rows": 3}))
    discussion = forms.CharField(required=False, max_length=50000, widget=forms.Textarea(attrs={"rows": 5}))
    teaching_points = forms.CharField(label="Key teaching points", required=False, max_length=20000,
                                      help_text="One point per line.", widget=forms.Textarea(attrs={"rows": 3}))
    answer_after_attempt = forms.BooleanField(
        required=False, label="Hide impression, diagnosis, discussion and teaching points until the learner answers",
    )
    organ_systems = forms.CharField(required=False, max_length=500, help_text="Comma-separated, e.g. Chest")
    pathologies = forms.CharField(required=False, max_length=500, help_text="Comma-separated, e.g. Pleural effusion")
    modalities = forms.CharField(required=False, max_length=500, help_text="Comma-separated, e.g. CT")
    difficulty = forms.ChoiceField(choices=Difficulty.choices)
    quiz_type = forms.ChoiceField(choices=QuizType.choices, label="Quiz question type")
    quiz_question = forms.CharField(max_length=300)
    quiz_choices = forms.CharField(
        required=False, max_length=3000, label="Answer choices (multiple choice)",
        help_text="One per line; start the correct one with *",
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    @classmethod
    def initial_for(cls, case: Case) -> dict:
        initial = {name: getattr(case, name) for name in (
            "title", "quiz_title", "authors", "history", "findings", "findings_before_answer", "impression",
            "diagnosis", "diagnostic_certainty", "differential", "discussion", "teaching_points",
            "answer_after_attempt", "difficulty", "quiz_type", "quiz_question",
        )}
        for field, kind in TAG_FIELDS.items():
            initial[field] = ", ".join(t.name for t in case.tags.all() if t.kind == kind)
        initial["quiz_choices"] = "\n".join(
            ("*" if i == case.quiz_correct_index else "") + choice for i, choice in enumerate(case.quiz_choices or [])
        )
        return initial

    def clean_quiz_choices(self):
        lines = [line.strip() for line in self.cleaned_data["quiz_choices"].splitlines() if line.strip()]
        marked = [i for i, line in enumerate(lines) if line.startswith("*")]
        if len(marked) > 1:
            raise forms.ValidationError("Mark only one choice as correct (one line starting with *).")
        choices = [line.lstrip("*").strip() for line in lines]
        return choices, (marked[0] if marked else None)

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        choices, correct = data.pop("quiz_choices")
        data["quiz_choices"] = choices
        data["quiz_correct_index"] = correct
        data["tags"] = {kind: _split_tags(data.pop(field)) for field, kind in TAG_FIELDS.items()}
        return data


class NewCaseForm(forms.Form):
    title = forms.CharField(max_length=200)
    studies = forms.ModelMultipleChoiceField(
        queryset=None, required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Studies you may open (real imports or generated ones).",
    )

    def __init__(self, *args, studies=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["studies"].queryset = studies
        self.fields["studies"].label_from_instance = lambda s: (
            f"{s.description or 'Study'} · {s.modalities or '?'} · {'synthetic' if s.is_synthetic else 'real'}"
            f" · {s.created:%Y-%m-%d}"
        )


class LibraryFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    tag = forms.SlugField(required=False, max_length=80)
    modality = forms.RegexField(required=False, max_length=16, regex=r"^[A-Za-z ]+$")
    difficulty = forms.ChoiceField(required=False, choices=[("", "Any difficulty"), *Difficulty.choices])
    realness = forms.ChoiceField(
        required=False, label="Images", choices=[("", "Real or synthetic"), ("real", "Real"), ("synthetic", "Synthetic")],
    )
    mine = forms.BooleanField(required=False, label="Only my cases (incl. drafts)")


class QuizForm(forms.Form):
    answer = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    choice = forms.TypedChoiceField(required=False, coerce=int, widget=forms.RadioSelect, empty_value=None)

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        self.case = case
        if case.quiz_type == QuizType.MULTIPLE_CHOICE:
            del self.fields["answer"]
            self.fields["choice"].choices = list(enumerate(case.quiz_choices or []))
            self.fields["choice"].label = case.quiz_question
        else:
            del self.fields["choice"]
            self.fields["answer"].label = case.quiz_question


class VariantsForm(forms.Form):
    kind = forms.ChoiceField(choices=[("new-seed", "New seeds"), ("guidance-sweep", "Guidance sweep (s = 1, 3, 5, 7)")])
    count = forms.IntegerField(min_value=1, max_value=MAX_VARIANT_SEEDS, initial=2, required=False)


class PublishForm(forms.Form):
    visibility = forms.ChoiceField(choices=Visibility.choices)


class ShareForm(forms.Form):
    username = forms.CharField(max_length=150)


class ImportForm(forms.Form):
    file = forms.FileField(label="Case ZIP")
