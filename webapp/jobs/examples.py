"""Example reports offered on the report form (chest CT style, as in the Report2CT paper)."""

EXAMPLE_REPORTS = [
    {
        "title": "Right pleural effusion",
        "findings": "There is a large right pleural effusion with compressive atelectasis of the right lower lobe. "
        "The left lung is clear. No pneumothorax. Heart size is normal. No pericardial effusion.",
        "impression": "Large right pleural effusion. No pneumothorax.",
    },
    {
        "title": "Solitary pulmonary nodule",
        "findings": "A 14 mm solid spiculated nodule is seen in the right upper lobe. No pleural effusion. "
        "No consolidation. The heart and mediastinum are unremarkable.",
        "impression": "Spiculated right upper lobe nodule, suspicious for malignancy.",
    },
    {
        "title": "Viral pneumonia pattern",
        "findings": "Bilateral patchy ground-glass opacities with peripheral and lower lobe predominance. "
        "No pleural effusion. No pneumothorax. Normal heart size.",
        "impression": "Bilateral ground-glass opacities, compatible with viral pneumonia.",
    },
    {
        "title": "Normal chest",
        "findings": "The lungs are clear. No nodules, consolidation or ground-glass opacity. No pleural or "
        "pericardial effusion. No pneumothorax. Heart size is normal.",
        "impression": "No acute cardiopulmonary abnormality.",
    },
]
