from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from cegah import policy
from cegah.accounts.actions import do_save_user
from cegah.accounts.forms import MemberForm


def _require_manager(request: HttpRequest) -> None:
    if not policy.has_capability(request.user, policy.Capability.MANAGE_ORGANISATION):
        raise Http404


@login_required
def members(request: HttpRequest) -> HttpResponse:
    """The people of the user's organisation (all people for system admins)."""
    _require_manager(request)
    people = policy.visible_members(request.user).select_related("organisation").order_by(
        "organisation__name", "username")
    can_add = request.user.organisation_id is not None
    return render(request, "accounts/members.html", {"people": people, "can_add": can_add})


@login_required
def member_new(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    org = request.user.organisation
    if org is None:  # system admins add people to an organisation in Django admin
        raise Http404
    form = MemberForm(request.POST or None, roles=policy.assignable_roles(request.user))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        do_save_user(actor=request.user, username=d["username"], organisation=org,
                     role=d["role"], password=d["password"], email=d["email"],
                     full_name=d["full_name"], is_active=d["is_active"])
        messages.success(request, _("%(name)s can now log in.") % {"name": d["username"]})
        return redirect("accounts:members")
    return render(request, "accounts/member_form.html", {"form": form, "member": None})


@login_required
def member_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request)
    member = policy.access_member_by_id(request.user, pk)
    initial = {"username": member.username, "full_name": member.first_name,
               "email": member.email, "role": member.role, "is_active": member.is_active}
    form = MemberForm(request.POST or None, initial=initial, member=member,
                      roles=policy.assignable_roles(request.user))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        if member.pk == request.user.pk and (d["role"] != member.role or not d["is_active"]):
            form.add_error("role", _("You cannot change your own role or deactivate yourself; "
                                     "ask another administrator."))
        else:
            do_save_user(actor=request.user, username=member.username,
                         organisation=member.organisation, role=d["role"],
                         password=d["password"], email=d["email"], full_name=d["full_name"],
                         is_active=d["is_active"], is_demo=member.is_demo)
            messages.success(request, _("Saved."))
            return redirect("accounts:members")
    return render(request, "accounts/member_form.html", {"form": form, "member": member})
