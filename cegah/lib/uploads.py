"""Upload forms shared by the imports (case data, venues, activities, boundaries)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from cegah.lib.tabular import TableError, format_for


def check_upload_size(f) -> None:
    """Refuse a web upload over ``CEGAH_MAX_UPLOAD_MB`` (the command line has no limit)."""
    if f.size > settings.CEGAH_MAX_UPLOAD_MB * 1024 * 1024:
        raise forms.ValidationError(
            _("The file is larger than %(mb)s MB; split it or use the command line.")
            % {"mb": settings.CEGAH_MAX_UPLOAD_MB})


class TableUploadForm(forms.Form):
    """One CSV or XLSX file."""

    file = forms.FileField(label=_("File (CSV or XLSX)"))

    def clean_file(self):
        f = self.cleaned_data["file"]
        try:
            format_for(f.name)
        except TableError as exc:
            raise forms.ValidationError(str(exc)) from None
        check_upload_size(f)
        return f
