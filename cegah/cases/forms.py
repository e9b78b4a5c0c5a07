from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from cegah.cases.models import DataKind
from cegah.lib.tabular import FORMATS, TableError, format_for


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("Data"), choices=DataKind.choices)
    file = forms.FileField(label=_("File (CSV or XLSX)"))

    def clean_file(self):
        f = self.cleaned_data["file"]
        try:
            format_for(f.name)
        except TableError as exc:
            raise forms.ValidationError(str(exc)) from None
        if f.size > settings.CEGAH_MAX_UPLOAD_MB * 1024 * 1024:
            raise forms.ValidationError(
                _("The file is larger than %(mb)s MB; split it or use the command line.")
                % {"mb": settings.CEGAH_MAX_UPLOAD_MB})
        return f


class ExportForm(forms.Form):
    kind = forms.ChoiceField(label=_("Data"), choices=DataKind.choices)
    format = forms.ChoiceField(label=_("Format"), choices=[(f, f.upper()) for f in FORMATS])
    area = forms.CharField(label=_("Area code (optional)"), required=False, max_length=20)
