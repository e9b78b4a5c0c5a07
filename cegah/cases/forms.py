from django import forms
from django.utils.translation import gettext_lazy as _

from cegah.cases.models import DataKind
from cegah.lib.tabular import FORMATS
from cegah.lib.uploads import TableUploadForm


class ImportForm(TableUploadForm):
    kind = forms.ChoiceField(label=_("Data"), choices=DataKind.choices)
    field_order = ["kind", "file"]


class ExportForm(forms.Form):
    kind = forms.ChoiceField(label=_("Data"), choices=DataKind.choices)
    format = forms.ChoiceField(label=_("Format"), choices=[(f, f.upper()) for f in FORMATS])
    area = forms.CharField(label=_("Area code (optional)"), required=False, max_length=20)
