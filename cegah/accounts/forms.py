from django import forms
from django.contrib.auth.password_validation import validate_password
from django.utils.translation import gettext_lazy as _

from cegah.accounts.models import Role, User


class MemberForm(forms.Form):
    """A person of the organisation, as an organisation admin creates or edits them."""

    username = forms.RegexField(
        label=_("Username"), max_length=150, regex=r"^[\w.@+-]+$",
        help_text=_("Letters, digits and . @ + - _ only."))
    full_name = forms.CharField(label=_("Name"), max_length=150, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    role = forms.ChoiceField(label=_("Role"))
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    password = forms.CharField(
        label=_("Initial password"), widget=forms.PasswordInput(render_value=False),
        required=False, help_text=_("At least 10 characters; the person changes it later."))

    def __init__(self, *args, roles: list[str], member: User | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.member = member
        self.fields["role"].choices = [(r, Role(r).label) for r in roles]
        if member is not None:
            self.fields["username"].disabled = True
            self.fields["password"].label = _("New password (optional)")

    def clean_username(self):
        username = self.cleaned_data["username"]
        if self.member is None and User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("This username is taken."))
        return username

    def clean_password(self):
        password = self.cleaned_data.get("password") or ""
        if self.member is None and not password:
            raise forms.ValidationError(_("A new person needs an initial password."))
        if password:
            validate_password(password)
        return password or None
