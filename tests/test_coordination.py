"""Coordination between partners: requests, notifications, the partner directory, the
shared calendar and its iCalendar feed, joint activities.

Alice (manager) and Bob (viewer) work in the South Jakarta police unit; Charlie (manager)
in an NGO in Manado. Activities are created directly (the registry's actions are another
feature's).
"""

from __future__ import annotations

import datetime

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone, translation

from cegah.accounts.models import Role
from cegah.activities.models import Activity, ActivityStatus
from cegah.audit.models import AuditEvent
from cegah.catalogue.models import Intervention
from cegah.coordination import actions, ical
from cegah.coordination.context_processors import notifications as unread_processor
from cegah.coordination.models import Notification, PartnerRequest, RequestStatus
from cegah.coordination.notifications import TEXTS, render_text
from tests.conftest import client_for, make_user

TODAY = datetime.date.today()
SOON = TODAY + datetime.timedelta(days=10)
MONTH = lambda d: f"{d.year:04d}-{d.month:02d}"  # noqa: E731


def make_activity(lead, areas, *, status=ActivityStatus.DONE, starts_on=None, title="Session",
                  partners=(), intervention=None, start_time=None, **extra) -> Activity:
    act = Activity.objects.create(title=title, lead_organisation=lead, status=status,
                                  starts_on=starts_on or TODAY, audience="children",
                                  intervention=intervention, start_time=start_time, **extra)
    act.areas.set(areas)
    act.partners.set(partners)
    return act


@pytest.fixture
def manado_district():
    from cegah.areas.models import Area

    return Area.objects.filter(code__startswith="71.71.", level=3).order_by("code").first()


@pytest.fixture
def jaksel_district():
    from cegah.areas.models import Area

    return Area.objects.filter(code__startswith="31.74.", level=3).order_by("code").first()


@pytest.fixture
def school_session(org_manado, manado_district):
    """Charlie's NGO plans a school session in Manado."""
    return make_activity(org_manado, [manado_district], status=ActivityStatus.PLANNED,
                         starts_on=SOON, title="Body-safety session at SMP 3")


@pytest.fixture
def body_safety():
    return Intervention.objects.create(
        slug="test-body-safety", name_id="Edukasi keamanan tubuh di sekolah",
        name_en="School body-safety education", summary_id="-", summary_en="-",
        level="primary", source="evidence")


@pytest.fixture
def dora(org_jatim, operator):
    """An outsider: a manager in the East Java government office."""
    return make_user(operator, "dora", org_jatim, Role.MANAGER)


def post(client: Client, name: str, *args, data=None):
    return client.post(reverse(f"coordination:{name}", args=args), data or {})


def send_from_charlie(charlie, org_jaksel, activity=None, title="Invite the police to speak"):
    return actions.do_send_request(charlie, org_jaksel, title, "Please come.",
                                   activity=activity)


# --- the request flow ------------------------------------------------------------------

def test_charlie_invites_the_police_and_alice_accepts(alice, bob, charlie, org_jaksel,
                                                      school_session):
    page = client_for(charlie, "en").post(
        reverse("coordination:request_new") + f"?to={org_jaksel.pk}&activity={school_session.pk}",
        {"to_organisation": org_jaksel.pk, "title": "Speak at our school session",
         "message": "About online safety, 45 minutes.", "activity": school_session.pk})
    req = PartnerRequest.objects.get()
    assert page.status_code == 302 and page["Location"] == f"/partners/requests/{req.pk}/"
    assert (req.from_organisation, req.to_organisation, req.status) == (
        charlie.organisation, org_jaksel, RequestStatus.OPEN)
    assert req.proposed_on == SOON  # taken from the activity
    # The receiving unit's manager is told; its viewer is not (cannot answer).
    note = Notification.objects.get()
    assert (note.recipient, note.kind, note.link) == (
        alice, "request_received", f"/partners/requests/{req.pk}/")

    detail = client_for(alice, "en").get(f"/partners/requests/{req.pk}/")
    assert b'id="answer-form"' in detail.content and b'id="withdraw-form"' not in detail.content
    assert b"Speak at our school session" in detail.content

    # Bob (viewer) and Charlie (the sender) cannot answer.
    assert post(client_for(bob), "request_answer", req.pk,
                data={"decision": "accept"}).status_code == 404
    assert post(client_for(charlie), "request_answer", req.pk,
                data={"decision": "accept"}).status_code == 404
    assert b'id="answer-form"' not in client_for(bob).get(
        f"/partners/requests/{req.pk}/").content

    answer = post(client_for(alice, "en"), "request_answer", req.pk,
                  data={"decision": "accept", "response": "Iptu Sari will come."})
    assert answer.status_code == 302
    req.refresh_from_db()
    assert req.status == RequestStatus.ACCEPTED and req.responded_by == alice
    assert req.response == "Iptu Sari will come."
    # A joint activity now: the police unit is a partner of the NGO's session.
    assert list(school_session.partners.all()) == [org_jaksel]
    told = Notification.objects.filter(kind="request_accepted")
    assert [n.recipient for n in told] == [charlie]
    events = AuditEvent.objects.filter(object_type="partner_request", object_key=str(req.pk))
    assert sorted(events.values_list("action", flat=True)) == ["create", "update"]
    partner_event = AuditEvent.objects.get(object_type="activity",
                                           object_key=str(school_session.pk))
    assert partner_event.new == {"partners": [org_jaksel.pk]}

    # Answered once: a second answer changes nothing.
    again = post(client_for(alice, "en"), "request_answer", req.pk, data={"decision": "decline"})
    assert again.status_code == 302
    req.refresh_from_db()
    assert req.status == RequestStatus.ACCEPTED


def test_the_answer_goes_to_the_requester_only_while_in_the_sending_organisation(
        alice, charlie, org_manado, org_jatim, org_jaksel, operator):
    erin = make_user(operator, "erin", org_manado, Role.DATA_ENTRY)
    first = actions.do_send_request(erin, org_jaksel, "Speak at our session")
    actions.do_answer_request(alice, first, accept=False)
    assert sorted(Notification.objects.filter(kind="request_declined")
                  .values_list("recipient__username", flat=True)) == ["charlie", "erin"]
    second = actions.do_send_request(erin, org_jaksel, "Speak at our next session")
    erin.organisation = org_jatim  # Erin moves to another organisation
    erin.save()
    actions.do_answer_request(alice, second, accept=True)
    told = Notification.objects.filter(kind="request_accepted")
    assert [n.recipient for n in told] == [charlie]
    assert client_for(erin).get(f"/partners/requests/{second.pk}/").status_code == 404


def test_declining_leaves_the_activity_as_it_was(alice, charlie, org_jaksel, school_session):
    req = send_from_charlie(charlie, org_jaksel, school_session)
    actions.do_answer_request(alice, req, accept=False, response="Not that week.")
    assert req.status == RequestStatus.DECLINED
    assert not school_session.partners.exists()
    assert Notification.objects.filter(recipient=charlie, kind="request_declined").exists()


def test_charlie_can_withdraw_his_request_but_alice_cannot(alice, bob, charlie, org_jaksel):
    req = send_from_charlie(charlie, org_jaksel)
    assert b'id="withdraw-form"' in client_for(charlie).get(
        f"/partners/requests/{req.pk}/").content
    assert post(client_for(alice), "request_withdraw", req.pk).status_code == 404
    assert post(client_for(bob), "request_withdraw", req.pk).status_code == 404
    assert post(client_for(charlie), "request_withdraw", req.pk).status_code == 302
    req.refresh_from_db()
    assert req.status == RequestStatus.WITHDRAWN
    assert Notification.objects.filter(recipient=alice, kind="request_withdrawn").count() == 1
    # Withdrawn: nothing left to answer.
    post(client_for(alice), "request_answer", req.pk, data={"decision": "accept"})
    req.refresh_from_db()
    assert req.status == RequestStatus.WITHDRAWN


def test_an_answered_request_can_be_neither_withdrawn_nor_answered_again(
        alice, charlie, org_jaksel, school_session):
    from django.core.exceptions import ValidationError

    req = send_from_charlie(charlie, org_jaksel, activity=school_session)
    stale = PartnerRequest.objects.get(pk=req.pk)  # read before the answer
    actions.do_answer_request(alice, req, accept=True)
    with pytest.raises(ValidationError):
        actions.do_withdraw_request(charlie, stale)
    with pytest.raises(ValidationError):
        actions.do_answer_request(alice, stale, accept=False)
    page = client_for(charlie, "en").get(f"/partners/requests/{req.pk}/").content
    assert b'id="withdraw-form"' not in page
    assert post(client_for(charlie), "request_withdraw", req.pk).status_code == 302
    req.refresh_from_db()
    assert req.status == RequestStatus.ACCEPTED
    assert list(school_session.partners.all()) == [org_jaksel]  # added once
    assert not Notification.objects.filter(kind__in=["request_withdrawn",
                                                     "request_declined"]).exists()


def test_requests_need_get_free_posts_with_csrf(alice, charlie, org_jaksel):
    req = send_from_charlie(charlie, org_jaksel)
    assert client_for(alice).get(f"/partners/requests/{req.pk}/answer/").status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    assert strict.post(f"/partners/requests/{req.pk}/answer/",
                       {"decision": "accept"}).status_code == 403


def test_a_request_must_name_an_activity_the_sender_leads(alice, charlie, org_jaksel,
                                                          org_manado, school_session):
    from django.core.exceptions import PermissionDenied, ValidationError

    with pytest.raises(ValidationError, match="activity: expected an activity your"):
        actions.do_send_request(alice, org_manado, "Join us", activity=school_session)
    with pytest.raises(ValidationError, match="to_organisation: .*not your own"):
        actions.do_send_request(charlie, org_manado, "Self")
    with pytest.raises(ValidationError, match="title: required"):
        actions.do_send_request(charlie, org_jaksel, "  ")
    send_from_charlie(charlie, org_jaksel, school_session)
    with pytest.raises(ValidationError, match="already waiting for an answer"):
        send_from_charlie(charlie, org_jaksel, school_session)
    with pytest.raises(PermissionDenied):
        actions.do_send_request(actions.policy.LocalOperator(), org_jaksel, "From the CLI")


def test_viewers_cannot_send_requests(bob, org_manado):
    assert client_for(bob).get(f"/partners/requests/new/?to={org_manado.pk}").status_code == 404
    assert client_for(bob).post("/partners/requests/new/",
                                {"to_organisation": org_manado.pk, "title": "x"}).status_code == 404
    assert b'id="new-request"' not in client_for(bob).get("/partners/requests/").content


def test_the_request_form_shows_errors_by_field(charlie, org_jaksel):
    page = client_for(charlie, "en").post("/partners/requests/new/", {
        "to_organisation": org_jaksel.pk, "title": "", "area": "99.99.99"})
    assert page.status_code == 200
    assert b"This field is required" in page.content
    assert "No area has the code “99.99.99”".encode() in page.content
    assert not PartnerRequest.objects.exists()


def test_outsiders_see_neither_requests_nor_notifications(alice, charlie, dora, org_jaksel):
    req = send_from_charlie(charlie, org_jaksel)
    note = Notification.objects.get(recipient=alice)
    outsider = client_for(dora)
    assert outsider.get(f"/partners/requests/{req.pk}/").status_code == 404
    assert post(outsider, "request_answer", req.pk, data={"decision": "accept"}).status_code == 404
    assert b"Invite the police" not in outsider.get("/partners/requests/").content
    assert outsider.get(f"/partners/notifications/{note.pk}/open/").status_code == 404
    assert f'data-notification="{note.pk}"'.encode() not in outsider.get(
        "/partners/notifications/").content
    actions.do_mark_read(dora, [note.pk])  # someone else's: silently left alone
    note.refresh_from_db()
    assert note.read_at is None
    # Both sides list it.
    assert f'data-request="{req.pk}"'.encode() in client_for(alice).get(
        "/partners/requests/").content
    assert f'data-request="{req.pk}"'.encode() in client_for(charlie).get(
        "/partners/requests/").content
    assert client_for(charlie).get("/partners/requests/999999/").status_code == 404


# --- notifications ---------------------------------------------------------------------

@pytest.fixture
def indonesian_text():
    """An Indonesian translation of one notification text, as the lead will ship it."""
    from django.utils.translation import trans_real

    msgid, msgstr = TEXTS["request_received"], "%(from_org)s meminta: “%(title)s”."
    catalog = trans_real.translation("id")._catalog
    catalog[msgid] = msgstr
    yield msgstr
    catalog._catalogs[0].pop(msgid, None)


def test_notifications_follow_the_readers_language(alice, charlie, org_jaksel,
                                                   indonesian_text):
    send_from_charlie(charlie, org_jaksel, title="Sesi sekolah")
    note = Notification.objects.get(recipient=alice)
    assert note.params["from_org"] == str(charlie.organisation)  # data, not text
    with translation.override("en"):
        assert note.text == (f"{charlie.organisation} asks your organisation to take part: "
                             "“Sesi sekolah”.")
    with translation.override("id"):
        assert note.text == f"{charlie.organisation} meminta: “Sesi sekolah”."
    english = client_for(alice, "en").get("/partners/notifications/").content.decode()
    indonesian = client_for(alice, "id").get("/partners/notifications/").content.decode()
    assert "asks your organisation to take part" in english
    assert "meminta: “Sesi sekolah”" in indonesian


def test_unknown_kinds_and_missing_params_do_not_break_the_page(alice):
    with translation.override("en"):
        assert render_text("no_such_kind", {}) == "You have a new notification."
        assert render_text("request_accepted", {}) == "… accepted your request “…”."


def test_opening_a_notification_marks_it_read_and_follows_only_local_links(alice):
    good, evil, scheme = Notification.objects.bulk_create([
        Notification(recipient=alice, kind="request_received", link="/partners/requests/"),
        Notification(recipient=alice, kind="request_received", link="//evil.example/x"),
        Notification(recipient=alice, kind="request_received", link="https://evil.example/"),
    ])
    client = client_for(alice)
    assert client.get(f"/partners/notifications/{good.pk}/open/")["Location"] == \
        "/partners/requests/"
    for bad in (evil, scheme):
        assert client.get(f"/partners/notifications/{bad.pk}/open/")["Location"] == \
            "/partners/notifications/"
    assert not Notification.objects.filter(recipient=alice, read_at__isnull=True).exists()


def test_do_notify_refuses_foreign_links_and_unknown_kinds(alice):
    with pytest.raises(ValueError, match="link: expected a path on this site"):
        actions.do_notify([alice], "request_received", {}, "https://evil.example/")
    with pytest.raises(ValueError, match="kind: expected one of"):
        actions.do_notify([alice], "nope", {}, "/")
    assert len(actions.do_notify([alice, alice], "request_received", {}, "/")) == 1


def test_mark_all_read_and_the_unread_count(alice, bob, charlie, org_jaksel,
                                            django_assert_num_queries, rf):
    send_from_charlie(charlie, org_jaksel, title="One")
    send_from_charlie(charlie, org_jaksel, title="Two")
    request = rf.get("/")
    request.user = alice
    alice.organisation  # noqa: B018 - loaded by the other context processor anyway
    with django_assert_num_queries(1):
        assert unread_processor(request) == {"unread_notifications": 2}
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    with django_assert_num_queries(0):
        assert unread_processor(request) == {}
    page = client_for(alice, "en").get("/partners/notifications/")
    assert page.content.count(b'class="note unread"') == 2
    assert post(client_for(bob), "notifications_read_all").status_code == 302
    assert Notification.objects.filter(recipient=alice, read_at__isnull=True).count() == 2
    assert post(client_for(alice), "notifications_read_all").status_code == 302
    assert not Notification.objects.filter(read_at__isnull=True).exists()
    assert client_for(alice).get("/partners/notifications/read-all/").status_code == 405


def test_the_nav_badge_shows_the_count_when_wired(alice, charlie, org_jaksel):
    from django.conf import settings

    send_from_charlie(charlie, org_jaksel)
    templates = [dict(settings.TEMPLATES[0])]
    templates[0]["OPTIONS"] = dict(templates[0]["OPTIONS"])
    templates[0]["OPTIONS"]["context_processors"] = [
        *templates[0]["OPTIONS"]["context_processors"],
        "cegah.coordination.context_processors.notifications"]
    with override_settings(TEMPLATES=templates):
        page = client_for(alice, "en").get("/partners/")
        assert page.context["unread_notifications"] == 1
        assert b'<span class="badge unread-count">1</span>' in page.content
        from django.template.loader import render_to_string

        badge = render_to_string("coordination/_nav_badge.html", {"unread_notifications": 3})
        assert 'data-unread="3"' in badge and "/partners/notifications/" in badge


def test_partners_added_to_an_activity_are_told(alice, bob, charlie, org_jaksel, org_manado,
                                                 manado_district):
    act = make_activity(org_manado, [manado_district], status=ActivityStatus.PLANNED,
                        starts_on=SOON, title="Joint patrol", partners=[org_jaksel])
    assert actions.notify_activity_partners(act, actor=charlie) == 1
    note = Notification.objects.get()
    assert note.recipient == alice and note.kind == "activity_partner_added"
    assert note.params["lead_org"] == str(org_manado)
    assert note.link.startswith("/")
    with translation.override("en"):
        assert "added your organisation as a partner of “Joint patrol”" in note.text
    # Only the organisations just added, and never the actor.
    assert actions.notify_activity_partners(act, "activity_changed",
                                            organisations=[org_manado], actor=charlie) == 0


def test_the_registry_tells_partners_when_added_moved_or_cancelled(alice, charlie,
                                                                    org_manado):
    import datetime as dt

    from django.utils import timezone

    from cegah.activities import actions as registry
    from tests.test_activities import base_data, make_intervention

    make_intervention("school-talk", "School talk")
    later = timezone.localdate() + dt.timedelta(days=20)
    plan = registry.do_record_activity(alice, base_data(
        status="planned", starts_on=later, girls_12_17=0, boys_12_17=0,
        partners=[org_manado.pk]))
    kinds = lambda: list(Notification.objects.filter(recipient=charlie)  # noqa: E731
                         .order_by("id").values_list("kind", flat=True))
    assert kinds() == ["activity_partner_added"]
    assert not Notification.objects.filter(recipient=alice).exists()  # not the actor
    data = registry.activity_to_data(plan)
    registry.do_update_activity(alice, plan, {**data, "notes": "bring leaflets"})
    assert kinds() == ["activity_partner_added"]  # nothing partners need to hear
    registry.do_update_activity(alice, plan, {**data, "starts_on": later + dt.timedelta(1)})
    assert kinds() == ["activity_partner_added", "activity_changed"]
    registry.do_cancel_activity(alice, plan, "rain")
    assert kinds() == ["activity_partner_added", "activity_changed", "activity_cancelled"]


def test_a_request_from_a_deactivated_organisation_cannot_be_answered(
        alice, charlie, org_jaksel, org_manado, school_session):
    req = send_from_charlie(charlie, org_jaksel, school_session)
    org_manado.is_active = False
    org_manado.save()
    assert post(client_for(alice), "request_answer", req.pk,
                data={"decision": "accept"}).status_code == 404
    req.refresh_from_db()
    assert req.status == RequestStatus.OPEN and not school_session.partners.exists()


# --- calendar --------------------------------------------------------------------------

def test_planned_activities_show_only_to_those_the_policy_allows(alice, bob, charlie, dora,
                                                                 school_session,
                                                                 jaksel_district, org_jaksel):
    done = make_activity(org_jaksel, [jaksel_district], starts_on=SOON, title="Done in Jaksel")
    url = f"/partners/calendar/?month={MONTH(SOON)}"
    mark = f'data-activity="{school_session.pk}"'.encode()
    assert mark in client_for(charlie).get(url).content  # lead
    for outsider in (alice, dora):  # not taking part, not working in Manado
        page = client_for(outsider).get(url).content
        assert mark not in page
        assert f'data-activity="{done.pk}"'.encode() in page  # done work is shared
    school_session.partners.add(org_jaksel)
    assert mark in client_for(bob).get(url).content  # a partner now
    assert b'class="badge joint"' in client_for(bob).get(url).content


def test_no_coordination_page_shows_hidden_plans_or_detail_fields(
        alice, charlie, dora, org_manado, org_jatim, manado_district):
    """A planned joint activity in Manado: Alice (Jakarta) sees it on no page; and no
    coordination page shows cost, notes, materials or outcomes, even to the lead."""
    secret = make_activity(org_manado, [manado_district], status=ActivityStatus.PLANNED,
                           starts_on=SOON, title="Planned joint session", partners=[org_jatim],
                           cost=1234567, notes="NOTE-XYZ", materials="MATERIAL-XYZ",
                           outcomes={"OUTCOME-XYZ": 1})
    pages = ["/partners/", f"/partners/{org_manado.pk}/", f"/partners/{org_jatim.pk}/",
             f"/partners/calendar/?month={MONTH(SOON)}", "/partners/calendar.ics",
             f"/partners/calendar.ics?month={MONTH(SOON)}", "/partners/joint/"]
    for page in pages:
        seen = client_for(alice, "en").get(page).content.decode()
        assert "Planned joint session" not in seen and f"activity-{secret.pk}@" not in seen, page
        assert f'data-activity="{secret.pk}"' not in seen, page
    for who in (charlie, dora):  # the lead and the partner see it, without the details
        joint = client_for(who, "en").get("/partners/joint/").content.decode()
        assert f'data-activity="{secret.pk}"' in joint
        for page in pages:
            seen = client_for(who, "en").get(page).content.decode()
            for detail in ("1234567", "1,234,567", "1.234.567", "NOTE-XYZ", "MATERIAL-XYZ",
                           "OUTCOME-XYZ"):
                assert detail not in seen, (who, page, detail)


def test_the_calendar_is_a_month_with_neighbours_and_filters(charlie, school_session,
                                                             org_manado, org_jaksel):
    client = client_for(charlie, "en")
    page = client.get(f"/partners/calendar/?month={MONTH(SOON)}").content.decode()
    first = SOON.replace(day=1)
    prev_month = MONTH(first - datetime.timedelta(days=1))
    next_month = MONTH(first + datetime.timedelta(days=32))
    assert f'href="?month={prev_month}"' in page and f'href="?month={next_month}"' in page
    assert f'data-date="{SOON:%Y-%m-%d}"' in page and 'class="cal-day"' in page
    assert f'data-month="{MONTH(SOON)}"' in page
    for query, shown in ((f"area=71.71&month={MONTH(SOON)}", True),
                         (f"area=31.74&month={MONTH(SOON)}", False),
                         (f"org={org_manado.pk}&month={MONTH(SOON)}", True),
                         (f"org={org_jaksel.pk}&month={MONTH(SOON)}", False)):
        content = client.get(f"/partners/calendar/?{query}").content
        assert (f'data-activity="{school_session.pk}"'.encode() in content) is shown, query
    assert client.get("/partners/calendar/?area=99.99").status_code == 404
    assert client.get("/partners/calendar/?org=999999").status_code == 404
    assert client.get("/partners/calendar/?month=garbage").status_code == 200


def test_the_calendar_month_runs_from_the_first_to_the_last_day(charlie, org_manado,
                                                                 manado_district):
    days = [datetime.date(2028, 1, 31), datetime.date(2028, 2, 1), datetime.date(2028, 2, 29),
            datetime.date(2028, 3, 1), datetime.date(2027, 12, 31)]
    acts = {d: make_activity(org_manado, [manado_district], starts_on=d, title=f"On {d}")
            for d in days}
    client = client_for(charlie, "en")

    def shown(month: str) -> set[datetime.date]:
        page = client.get(f"/partners/calendar/?month={month}").content.decode()
        return {d for d, a in acts.items() if f'data-activity="{a.pk}"' in page}

    assert shown("2028-02") == {datetime.date(2028, 2, 1), datetime.date(2028, 2, 29)}
    assert shown("2028-01") == {datetime.date(2028, 1, 31)}
    january = client.get("/partners/calendar/?month=2028-01").content.decode()
    assert 'href="?month=2027-12"' in january and 'data-date="2028-01-31"' in january
    assert shown("2027-12") == {datetime.date(2027, 12, 31)}
    ics = _unfold(client.get("/partners/calendar.ics?month=2028-02").content.decode())
    assert ics.count("BEGIN:VEVENT") == 2


def _unfold(body: str) -> list[str]:
    assert body.endswith("\r\n")
    lines = body[:-2].split("\r\n")
    for line in lines:
        assert len(line.encode("utf-8")) <= 75, line
    out: list[str] = []
    for line in lines:
        if line.startswith(" "):
            out[-1] += line[1:]
        else:
            out.append(line)
    return out


def test_the_ics_feed_is_valid_icalendar(charlie, alice, org_manado, manado_district,
                                         school_session):
    title = "Sesi keamanan tubuh, kelas 7; SMP Negeri 3 \\ Manado — " + "panjang " * 10
    timed = make_activity(org_manado, [manado_district], status=ActivityStatus.PLANNED,
                          starts_on=SOON, title=title, start_time=datetime.time(9, 30),
                          duration_minutes=90)
    response = client_for(charlie).get("/partners/calendar.ics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    lines = _unfold(response.content.decode("utf-8"))
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines and lines.count("BEGIN:VEVENT") == lines.count("END:VEVENT") == 2
    assert any(line.startswith("PRODID:") for line in lines)
    summary = ("SUMMARY:Sesi keamanan tubuh\\, kelas 7\\; SMP Negeri 3 \\\\ Manado — "
               + "panjang " * 10).rstrip()
    assert summary in [line.rstrip() for line in lines]
    host = "testserver"
    start = [line for line in lines if line.startswith("DTSTART")]
    # 09:30 in Manado (WITA, UTC+8) is 01:30 UTC.
    assert f"DTSTART:{SOON:%Y%m%d}T013000Z" in start
    assert f"DTSTART;VALUE=DATE:{SOON:%Y%m%d}" in start
    assert f"UID:activity-{timed.pk}@{host}" in lines
    assert f"DTEND:{SOON:%Y%m%d}T030000Z" in lines
    assert "STATUS:TENTATIVE" in lines
    # Alice may not see Manado's planned work: an empty (but valid) calendar.
    other = _unfold(client_for(alice).get("/partners/calendar.ics").content.decode())
    assert "BEGIN:VEVENT" not in other and other[-1] == "END:VCALENDAR"


def test_folding_never_splits_a_character():
    line = "DESCRIPTION:" + "é" * 100
    folded = ical.fold(line).split("\r\n")
    assert all(len(part.encode()) <= 75 for part in folded)
    assert folded[0] + "".join(p[1:] for p in folded[1:]) == line
    assert ical.escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    assert ical.zone_for_area("71.71").key == "Asia/Makassar"
    assert ical.zone_for_area("94.01").key == "Asia/Jayapura"
    assert ical.zone_for_area("31.74").key == "Asia/Jakarta"


# --- directory and joint activities ----------------------------------------------------

def test_the_directory_lists_organisations_and_their_work(alice, charlie, org_jaksel,
                                                          org_manado, org_jatim, body_safety,
                                                          jaksel_district, manado_district):
    for _ in range(2):
        make_activity(org_jaksel, [jaksel_district], intervention=body_safety,
                      starts_on=TODAY - datetime.timedelta(days=30))
    make_activity(org_manado, [manado_district], partners=[org_jaksel],
                  starts_on=TODAY - datetime.timedelta(days=60))
    make_activity(org_jaksel, [jaksel_district], starts_on=TODAY - datetime.timedelta(days=500))
    make_activity(org_jaksel, [jaksel_district], status=ActivityStatus.PLANNED,
                  starts_on=SOON)  # planned: not "worked on"
    page = client_for(charlie, "en").get("/partners/")
    html = page.content.decode()
    for org in (org_jaksel, org_manado, org_jatim):
        assert f'data-org="{org.pk}"' in html
    rows = {row["org"].pk: row["work"] for row in page.context["rows"]}
    assert rows[org_jaksel.pk].done == 3 and rows[org_jaksel.pk].joint == 1
    assert rows[org_jaksel.pk].interventions == [(body_safety, 2)]
    assert rows[org_jaksel.pk].areas == [(jaksel_district, 2), (manado_district, 1)]
    assert rows[org_manado.pk].done == 1 and rows[org_jatim.pk] is None
    assert "School body-safety education (2)" in html
    assert f'href="/partners/requests/new/?to={org_jaksel.pk}"' in html
    assert f'href="/partners/requests/new/?to={org_manado.pk}"' not in html  # own
    # Filters: type, area (jurisdiction or work), intervention.
    def listed(query):
        return {row["org"].pk for row in client_for(alice).get(f"/partners/?{query}")
                .context["rows"]}
    assert listed("type=ngo") == {org_manado.pk}
    assert listed("area=71.71") == {org_manado.pk, org_jaksel.pk}  # Jaksel joined work there
    assert listed("area=35.17") == {org_jatim.pk}  # inside East Java's jurisdiction
    assert listed(f"intervention={body_safety.pk}") == {org_jaksel.pk}
    assert listed("area=99.99") == set()
    detail = client_for(alice, "en").get(f"/partners/{org_manado.pk}/")
    assert detail.status_code == 200 and b"Send a request" in detail.content
    assert client_for(alice).get("/partners/999999/").status_code == 404
    org_jatim.is_active = False
    org_jatim.save()
    assert client_for(alice).get(f"/partners/{org_jatim.pk}/").status_code == 404


def test_viewers_see_the_directory_without_request_buttons(bob, org_manado):
    page = client_for(bob, "en").get("/partners/")
    assert f'data-org="{org_manado.pk}"'.encode() in page.content
    assert b"send-request" not in page.content


def test_joint_activities_lists_those_with_partners(alice, org_jaksel, org_manado,
                                                    jaksel_district):
    joint = make_activity(org_jaksel, [jaksel_district], partners=[org_manado], title="Joint")
    alone = make_activity(org_jaksel, [jaksel_district], title="Alone")
    page = client_for(alice, "en").get("/partners/joint/").content.decode()
    assert f'data-activity="{joint.pk}"' in page and f'data-activity="{alone.pk}"' not in page
    assert str(org_manado) in page


# --- access ----------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/partners/", "/partners/1/", "/partners/calendar/", "/partners/calendar.ics",
    "/partners/joint/", "/partners/requests/", "/partners/requests/new/",
    "/partners/requests/1/", "/partners/notifications/", "/partners/notifications/1/open/",
])
def test_anonymous_visitors_are_sent_to_log_in(db, path):
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_every_page_renders_on_an_indonesian_client(alice, charlie, org_jaksel,
                                                    school_session):
    req = send_from_charlie(charlie, org_jaksel, school_session)
    client = client_for(alice)
    for path in ("/partners/", f"/partners/{org_jaksel.pk}/", "/partners/calendar/",
                 "/partners/joint/", "/partners/requests/", "/partners/requests/new/",
                 f"/partners/requests/{req.pk}/", "/partners/notifications/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert b'name="viewport"' in response.content
    assert timezone.localdate()  # the calendar's "today" comes from settings.TIME_ZONE


# --- query counts with realistic data ---------------------------------------------------

@pytest.fixture
def busy(operator, alice, charlie, org_jaksel, org_manado, body_safety):
    """30 organisations, 100 activities (done, planned, cancelled; many joint) in South
    Jakarta and Manado, and requests between them."""
    from cegah.accounts.actions import do_save_organisation
    from cegah.accounts.models import OrganisationType
    from cegah.areas.models import Area

    orgs = [org_jaksel, org_manado]
    for n in range(28):
        org, _ = do_save_organisation(actor=operator, name=f"Partner {n:02d}",
                                      type=OrganisationType.NGO,
                                      jurisdiction=["31.74" if n % 2 else "71.71"])
        orgs.append(org)
    places = list(Area.objects.filter(level=4).filter(
        code__regex=r"^(31\.74|71\.71)\.").order_by("code")[:40])
    statuses = [ActivityStatus.DONE, ActivityStatus.DONE, ActivityStatus.PLANNED,
                ActivityStatus.CANCELLED]
    for n in range(100):
        make_activity(orgs[n % 30], [places[n % 40], places[(n * 7) % 40]],
                      status=statuses[n % 4], title=f"Session {n}",
                      starts_on=TODAY + datetime.timedelta(days=(n % 20) - 10),
                      partners=[orgs[(n + 1) % 30], orgs[(n + 5) % 30]] if n % 3 else [],
                      intervention=body_safety if n % 2 else None,
                      start_time=datetime.time(9, 30) if n % 5 else None)
    for n in range(15):
        actions.do_send_request(charlie, org_jaksel, f"Request {n}")
        actions.do_send_request(alice, orgs[n + 2], f"Ask {n}")
    return orgs


@pytest.mark.parametrize("path", [
    "/partners/", "/partners/?area=31.74", "/partners/calendar/", "/partners/calendar.ics",
    "/partners/joint/", "/partners/requests/", "/partners/notifications/",
])
def test_coordination_pages_ask_a_bounded_number_of_queries(
        path, busy, alice, django_assert_max_num_queries):
    client = client_for(alice, "en")
    with django_assert_max_num_queries(20):
        page = client.get(path)
    assert page.status_code == 200


def test_an_organisation_page_asks_a_bounded_number_of_queries(
        busy, alice, django_assert_max_num_queries):
    client = client_for(alice, "en")
    with django_assert_max_num_queries(20):
        assert client.get(f"/partners/{busy[3].pk}/").status_code == 200
