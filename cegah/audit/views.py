from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from cegah import policy


@login_required
def event_list(request: HttpRequest) -> HttpResponse:
    """The audit trail of the user's organisation (all of it for system admins)."""
    if not policy.has_capability(request.user, policy.Capability.MANAGE_ORGANISATION):
        raise Http404
    events = policy.visible_audit_events(request.user).select_related("organisation")
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "audit/list.html", {"page": page})
