from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from cegah import policy


@login_required
def members(request: HttpRequest) -> HttpResponse:
    """The people of the user's organisation (all people for system admins)."""
    if not policy.has_capability(request.user, policy.Capability.MANAGE_ORGANISATION):
        raise Http404
    people = policy.visible_members(request.user).select_related("organisation").order_by(
        "organisation__name", "username")
    return render(request, "accounts/members.html", {"people": people})
