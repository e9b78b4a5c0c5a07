"""A reproducible year of SYNTHETIC prevention activities (and their venues) for the demo.

Nothing here is real. The pattern follows the ECPAT Indonesia case study: most
prevention happens in towns and accessible districts (urban kelurahan, district seats,
places with a school or an RPTRA nearby), little reaches poor rural desa; the police
rarely lead and mostly join sessions organised by government offices and NGOs; a few
activities are joint; some are planned for the coming two months. Venue names say
"Demo" so nobody mistakes them for real places.

:func:`plan` is pure (areas, organisations, interventions and a date in; rows out), so
the same seed and date give the same demo.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

DAYS = 365  # the year of done activities up to the anchor date
PLANNED_DAYS = 60  # planned ones in the coming two months
PLANNED_SHARE = 0.06
CANCELLED_SHARE = 0.02
EXTERNAL_PREFIX = "demo-"


@dataclass(frozen=True)
class Village:
    code: str
    name: str
    urban: bool
    poverty: float = 0.15  # share of poor households (the demo's synthetic factor)
    port: bool = False
    terminal: bool = False
    tourism: bool = False
    pesantren: int = 0


@dataclass(frozen=True)
class Kind:
    """One kind of activity: how it looks, who it reaches, where it happens."""

    key: str
    titles: tuple[str, ...]  # Indonesian, as organisations write them; {place} filled in
    slugs: tuple[str, ...]  # catalogue slug fragments, best first
    audience: str
    venue: str = ""  # venue type ("" = none)
    scope: str = "village"  # village | villages | district | regency | province
    minutes: tuple[int, int] = (60, 120)
    reach: tuple[str, ...] = ("girls_12_17", "boys_12_17")
    size: tuple[int, int] = (20, 80)
    topics: tuple[str, ...] = ("body_safety", "reporting")
    laws: tuple[str, ...] = ("uu_12_2022", "uu_35_2014")
    officers: tuple[int, int] = (1, 3)
    months: tuple[int, ...] = ()  # preferred months (e.g. July: new-student orientation)


KINDS: dict[str, Kind] = {k.key: k for k in (
    Kind("school_session", ("Sosialisasi pencegahan kekerasan seksual saat MPLS di {place}",
                            "Penyuluhan sentuhan aman dan tidak aman di {place}"),
         ("school-session", "mpls", "new-student", "school-talk", "school"),
         "adolescents", "school", minutes=(60, 120), size=(40, 220), months=(7, 8)),
    Kind("body_safety", ("Pendidikan keamanan tubuh untuk anak SD di {place}",),
         ("body-safety",), "children", "school", reach=("girls_under_12", "boys_under_12"),
         size=(25, 90), topics=("body_safety", "grooming", "reporting")),
    Kind("bhabinkamtibmas", ("Penyuluhan Bhabinkamtibmas tentang kekerasan seksual pada anak, "
                             "{place}",),
         ("bhabinkamtibmas",), "community_leaders", "village_hall",
         reach=("women_18_plus", "men_18_plus"), size=(15, 60), officers=(1, 2)),
    Kind("rw_police", ("Polisi RW: dialog warga tentang perlindungan anak, {place}",),
         ("rukun-warga", "rw-police", "polisi-rw"), "community_leaders", "village_hall",
         reach=("women_18_plus", "men_18_plus"), size=(10, 40), officers=(1, 2)),
    Kind("friday_confide", ("Jumat Curhat bersama polisi di {place}",),
         ("friday", "jumat-curhat", "curhat"), "general_public", "place_of_worship",
         reach=("women_18_plus", "men_18_plus", "girls_12_17", "boys_12_17"), size=(15, 70),
         topics=("reporting", "services")),
    Kind("dasa_wisma", ("Webinar Dasa Wisma: mencegah kekerasan seksual di rumah, {place}",),
         ("dasa-wisma", "webinar"), "women_groups", "", scope="district", minutes=(90, 120),
         reach=("women_18_plus",), size=(30, 160), topics=("parenting", "grooming", "reporting"),
         officers=(0, 1)),
    Kind("paralegal", ("Pendampingan paralegal desa: penyuluhan hukum di {place}",),
         ("paralegal",), "community_leaders", "village_hall",
         reach=("women_18_plus", "men_18_plus"), size=(15, 50), topics=("law", "reporting",
                                                                        "services"),
         officers=(0, 1)),
    Kind("rptra_p3", ("Petugas P3 di RPTRA: permainan edukatif keamanan tubuh, {place}",),
         ("rptra", "p3-officer", "child-friendly"), "children", "rptra",
         reach=("girls_under_12", "boys_under_12", "women_18_plus"), size=(15, 50),
         officers=(0, 1)),
    Kind("whatsapp", ("Siaran WhatsApp untuk orang tua dan tokoh masyarakat, {place}",),
         ("whatsapp", "broadcast"), "parents", "", scope="district", minutes=(15, 30),
         reach=("reached_unknown",), size=(150, 900), officers=(0, 1)),
    Kind("social_media", ("Kampanye media sosial #LindungiAnak, {place}",),
         ("social-media", "mass-media", "campaign"), "general_public", "", scope="province",
         minutes=(60, 240), reach=("reached_unknown",), size=(3000, 25000),
         topics=("online_safety", "reporting"), officers=(1, 3)),
    Kind("transit", ("Pemantauan transit anak di {place}",),
         ("transit",), "travellers", "port", scope="village", minutes=(180, 480),
         reach=("reached_unknown", "women_18_plus", "men_18_plus"), size=(40, 300),
         topics=("trafficking", "reporting"), laws=("uu_21_2007", "uu_35_2014"),
         officers=(2, 6)),
    Kind("tourism", ("Sosialisasi pencegahan eksploitasi seksual anak bagi pekerja wisata di "
                     "{place}",),
         ("tourism", "transit"), "transport_tourism_workers", "tourism_site",
         minutes=(90, 150), reach=("women_18_plus", "men_18_plus"), size=(15, 60),
         topics=("trafficking", "reporting", "law"), laws=("uu_21_2007", "uu_12_2022")),
    Kind("patrol", ("Patroli wilayah rawan di sekitar {place}",),
         ("patrol",), "general_public", "", minutes=(120, 240),
         reach=("reached_unknown",), size=(10, 60), topics=("reporting",), officers=(2, 4)),
    Kind("community_centre", ("Pertemuan keluarga rentan di pusat komunitas {place}",),
         ("community-centre", "community-center", "vulnerable-famil"), "vulnerable_families",
         "community_centre", reach=("women_18_plus", "men_18_plus", "girls_under_12",
                                    "boys_under_12"), size=(10, 40),
         topics=("parenting", "services"), officers=(0, 1)),
    Kind("legal_aid", ("Konseling bantuan hukum untuk keluarga, {place}",),
         ("legal-aid",), "victims", "community_centre", reach=("women_18_plus", "men_18_plus"),
         size=(5, 25), topics=("law", "services"), officers=(0, 1)),
    Kind("conflict_law", ("Program pembinaan anak berkonflik dengan hukum, {place}",),
         ("conflict-with", "children-in-conflict", "diversion"), "children_in_conflict",
         "", scope="district", reach=("boys_12_17", "girls_12_17"), size=(5, 25),
         topics=("consent", "law"), laws=("uu_11_2012", "uu_12_2022"), officers=(1, 2)),
    Kind("parenting", ("Kelas pengasuhan positif untuk orang tua, {place}",),
         ("parenting",), "parents", "community_centre", reach=("women_18_plus", "men_18_plus"),
         size=(15, 45), topics=("parenting", "grooming", "online_safety"), officers=(0, 1)),
    Kind("dating", ("Diskusi remaja: pacaran sehat tanpa kekerasan, {place}",),
         ("dating",), "adolescents", "school", size=(30, 120),
         topics=("consent", "online_safety")),
    Kind("pesantren", ("Pencegahan situasional di pesantren: aturan dan pengawasan, {place}",),
         ("situational", "boarding", "pesantren", "institution"), "religious_leaders",
         "pesantren", reach=("men_18_plus", "women_18_plus", "boys_12_17", "girls_12_17"),
         size=(20, 90), topics=("body_safety", "reporting")),
    Kind("online_deterrence", ("Pesan pencegahan daring bagi pengguna internet, {place}",),
         ("online-deterrence", "deterrence", "online"), "online_users", "", scope="province",
         minutes=(30, 60), reach=("reached_unknown",), size=(5000, 40000),
         topics=("online_safety", "law"), laws=("uu_1_2024", "uu_44_2008"), officers=(1, 2)),
)}

# Who leads what, where (region code prefixes), and how many done activities a year.
# Police lead only their own beat work (village education, patrols, transit checks);
# elsewhere they join as partners (see POLICE_PARTNER_SHARE).
PROGRAMMES: tuple[tuple[str, tuple[str, ...], int, tuple[tuple[str, int], ...]], ...] = (
    ("uptd-ppa", ("31",), 240, (("rptra_p3", 4), ("school_session", 3), ("dasa_wisma", 2),
                                ("parenting", 2), ("whatsapp", 1))),
    ("mawar-saron", ("31",), 80, (("legal_aid", 3), ("paralegal", 2), ("dating", 1))),
    ("lpka-jakarta", ("31",), 20, (("conflict_law", 1),)),
    ("polres-jaksel", ("31.74",), 30, (("bhabinkamtibmas", 3), ("patrol", 1), ("rw_police", 1),
                                       ("friday_confide", 1))),
    ("polres-jaktim", ("31.75",), 25, (("bhabinkamtibmas", 3), ("patrol", 1),
                                       ("friday_confide", 1))),
    ("compassion-first", ("71",), 140, (("body_safety", 3), ("community_centre", 2),
                                        ("parenting", 2), ("school_session", 1))),
    ("bapas-klaten", ("33.10",), 30, (("conflict_law", 2), ("school_session", 1))),
    ("pt-kendari", ("74.71",), 10, (("legal_aid", 1), ("school_session", 1))),
    ("kemenpppa", ("31", "35", "71", "11", "33.10", "74.71"), 150,
     (("school_session", 3), ("dasa_wisma", 2), ("parenting", 2), ("pesantren", 1),
      ("social_media", 1), ("tourism", 1))),
    ("fpl", ("35", "11", "71"), 110, (("paralegal", 3), ("legal_aid", 1), ("parenting", 1))),
    ("himpsi", ("31", "35", "71", "11", "33.10", "74.71"), 60,
     (("parenting", 3), ("dating", 1), ("body_safety", 1))),
    ("handayani", ("31", "35"), 40, (("community_centre", 2), ("parenting", 1))),
    ("siber", ("31", "35", "71", "11", "33.10", "74.71"), 18, (("online_deterrence", 1),)),
    ("ppa-bareskrim", ("31", "35", "71", "11"), 36, (("transit", 3), ("tourism", 1),
                                                     ("school_session", 1))),
    ("ditjenpas", ("31", "35", "33.10"), 16, (("conflict_law", 1),)),
    ("kejagung", ("31", "35", "11"), 12, (("school_session", 1), ("legal_aid", 1))),
    # Jombang, the case study's example of a pesantren region: partners meet in town.
    ("fpl", ("35.17",), 24, (("paralegal", 3), ("legal_aid", 1))),
    ("kemenpppa", ("35.17",), 20, (("pesantren", 2), ("school_session", 2), ("dasa_wisma", 1))),
    ("himpsi", ("35.17",), 10, (("parenting", 2), ("dating", 1))),
)
# Regencies the case study visits get more partners' attention; cities (kota, regency
# number 71 and up) are where organisations sit.
REGENCY_WEIGHT = {"35.17": 3.0, "33.10": 2.0, "74.71": 2.0}
CITY_WEIGHT = 3.0
POLICE = ("polres-jaksel", "polres-jaktim", "ppa-bareskrim", "siber")
POLICE_PARTNER_SHARE = 0.35
JOINT_SHARE = 0.10


@dataclass
class PlannedActivity:
    external_id: str
    kind: str
    title: str
    lead: str  # organisation slug
    partners: list[str]
    areas: list[str]
    venue: tuple[str, str, str] | None
    status: str
    starts_on: dt.date
    minutes: int
    audience: str
    intervention: str  # the kind's key; resolved to a catalogue entry on loading
    reach: dict[str, int] = field(default_factory=dict)
    officer_count: int = 0
    officer_hours: float = 0.0
    topics: list[str] = field(default_factory=list)
    laws: list[str] = field(default_factory=list)
    cost: int | None = None


def _within(code: str, prefixes: Sequence[str]) -> bool:
    return any(code == p or code.startswith(p + ".") for p in prefixes)


def _village_weight(v: Village, accessible: set[str]) -> float:
    """Where activities happen: towns and accessible districts, seldom poor rural desa."""
    w = 6.0 if v.urban else 1.0
    if v.code[:8] in accessible:
        w *= 4.0
    # Poorer villages are reached less (farther, fewer schools and partners).
    return w * math.exp(-8.0 * max(0.0, v.poverty - 0.08))


def _pick(rng: random.Random, items: Sequence, weights: Sequence[float]):
    return rng.choices(items, weights=weights, k=1)[0]


def _venue_name(kind_venue: str, place: str, n: int) -> str:
    return {
        "school": f"SMP Demo {n} {place}", "pesantren": f"Pondok Pesantren Demo {place}",
        "rptra": f"RPTRA Demo {place}", "port": f"Pelabuhan Demo {place}",
        "bus_terminal": f"Terminal Bus Demo {place}", "tourism_site": f"Wisata Demo {place}",
        "community_centre": f"Pusat Komunitas Demo {place}",
        "village_hall": f"Balai Desa Demo {place}",
        "place_of_worship": f"Masjid Demo {place}",
    }.get(kind_venue, f"Tempat Demo {place}")


def plan(villages: Sequence[Village], names: dict[str, str], orgs: Sequence[str], *,
         seed: int, anchor: dt.date) -> list[PlannedActivity]:
    """The demo's activities: about a year of done ones up to ``anchor``, a few cancelled,
    and planned ones in the two months after it.

    ``names`` gives the names of the districts, regencies and provinces; ``orgs`` the
    slugs of the demo organisations present (others are skipped).
    """
    rng = random.Random(seed)
    villages = sorted(villages, key=lambda v: v.code)
    by_district: dict[str, list[Village]] = {}
    for v in villages:
        by_district.setdefault(v.code[:8], []).append(v)
    # Accessible districts: those with a town (an urban kelurahan) and, per regency, the
    # first district by code (often the regency's seat in the Kemendagri numbering).
    accessible = {v.code[:8] for v in villages if v.urban}
    first: dict[str, str] = {}
    for v in villages:
        first.setdefault(v.code[:5], v.code[:8])
    accessible |= set(first.values())
    present = set(orgs)
    out: list[PlannedActivity] = []
    n = 0
    for lead, regions, per_year, kinds in PROGRAMMES:
        if lead not in present:
            continue
        pool = [v for v in villages if _within(v.code, regions)]
        if not pool:
            continue
        # A regency's share grows with the square root of its villages, not linearly.
        sizes = Counter(v.code[:5] for v in pool)
        regency_w = {r: REGENCY_WEIGHT.get(r, CITY_WEIGHT if int(r[3:5]) >= 71 else 1.0)
                     / math.sqrt(k) for r, k in sizes.items()}
        weights = [_village_weight(v, accessible) * regency_w[v.code[:5]] for v in pool]
        total = round(per_year * (1 + PLANNED_SHARE + CANCELLED_SHARE))
        cumulative = list(itertools.accumulate(weights))
        kind_keys = [k for k, _w in kinds]
        kind_w = [w for _k, w in kinds]
        hubs = [(v, w) for v, w in zip(pool, weights, strict=True) if v.port or v.terminal]
        boarding = [(v, w) for v, w in zip(pool, weights, strict=True) if v.pesantren]
        sights = [(v, w) for v, w in zip(pool, weights, strict=True) if v.tourism]
        for _i in range(total):
            n += 1
            kind = KINDS[_pick(rng, kind_keys, kind_w)]
            if kind.key == "transit" and hubs:  # at a port or terminal
                village = _pick(rng, [v for v, _w in hubs], [w for _v, w in hubs])
            elif kind.key == "tourism" and sights:
                village = _pick(rng, [v for v, _w in sights], [w for _v, w in sights])
            elif kind.key == "pesantren" and boarding:
                village = _pick(rng, [v for v, _w in boarding], [w for _v, w in boarding])
            else:
                village = rng.choices(pool, cum_weights=cumulative, k=1)[0]
            near = by_district[village.code[:8]]
            out.append(_one(rng, n, kind, lead, village, near, names, present, anchor))
    return out


def _one(rng: random.Random, n: int, kind: Kind, lead: str, village: Village,
         district: Sequence[Village], names: dict[str, str], present: set[str],
         anchor: dt.date) -> PlannedActivity:
    roll = rng.random()
    status = "planned" if roll < PLANNED_SHARE else (
        "cancelled" if roll < PLANNED_SHARE + CANCELLED_SHARE else "done")
    if status == "planned":
        day = anchor + dt.timedelta(days=rng.randint(1, PLANNED_DAYS))
    else:
        day = anchor - dt.timedelta(days=rng.randint(0, DAYS - 1))
        if kind.months and rng.random() < 0.5:  # the school year starts in July
            month = rng.choice(kind.months)
            year = anchor.year if month <= anchor.month else anchor.year - 1
            candidate = dt.date(year, month, rng.randint(10, 28))
            if anchor - dt.timedelta(days=DAYS) < candidate <= anchor:
                day = candidate
    # Where: one village, a few neighbouring villages, its district, regency or province.
    scope = "villages" if kind.scope == "village" and rng.random() < 0.12 else kind.scope
    if scope == "villages":
        near = [v for v in district if v.code != village.code]
        areas = [village.code] + [v.code for v in rng.sample(near, min(len(near),
                                                                        rng.randint(1, 2)))]
        place = names.get(village.code[:8], village.name)
    elif scope == "district":
        areas, place = [village.code[:8]], names.get(village.code[:8], village.code[:8])
    elif scope == "regency":
        areas, place = [village.code[:5]], names.get(village.code[:5], village.code[:5])
    elif scope == "province":
        areas, place = [village.code[:2]], names.get(village.code[:2], village.code[:2])
    else:
        areas, place = [village.code], village.name
    venue = None
    if kind.venue and scope in ("village", "villages"):
        vtype = kind.venue
        if kind.key == "transit":
            vtype = "port" if village.port else "bus_terminal"
        if kind.key == "school_session" and village.pesantren and rng.random() < 0.2:
            vtype = "pesantren"
        number = rng.randint(1, 3) if vtype == "school" else 1
        venue = (village.code, vtype, _venue_name(vtype, village.name, number))
    title = rng.choice(kind.titles).format(place=place)
    partners: list[str] = []
    if lead not in POLICE and rng.random() < POLICE_PARTNER_SHARE:
        local = [p for p, region in (("polres-jaksel", "31.74"), ("polres-jaktim", "31.75"))
                 if village.code.startswith(region + ".") and p in present]
        partner = local[0] if local else "ppa-bareskrim"
        if partner in present and partner != lead:
            partners.append(partner)
    if rng.random() < JOINT_SHARE:
        others = [p for p in ("kemenpppa", "himpsi", "fpl", "laha", "uptd-ppa", "handayani")
                  if p in present and p != lead and p not in partners]
        if others:
            partners.append(rng.choice(others))
    minutes = rng.randrange(kind.minutes[0], kind.minutes[1] + 1, 15)
    reach: dict[str, int] = {}
    if status == "done":
        people = rng.randint(*kind.size)
        for i, cell in enumerate(kind.reach):
            share = people // len(kind.reach) if i else people - people // len(
                kind.reach) * (len(kind.reach) - 1)
            reach[cell] = max(0, share + rng.randint(-share // 5, share // 5))
    officers = rng.randint(*kind.officers) + (1 if partners and partners[0] in POLICE else 0)
    # Officer-hours as the registry accepts them: the officers' time in the session.
    hours = float((Decimal(officers * minutes) / 60).quantize(Decimal("0.1")))
    cost = rng.randrange(250_000, 5_000_000, 50_000) if rng.random() < 0.6 else None
    return PlannedActivity(
        external_id=f"{EXTERNAL_PREFIX}{n:05d}", kind=kind.key, title=title[:200], lead=lead,
        partners=partners, areas=areas, venue=venue, status=status, starts_on=day,
        minutes=minutes, audience=kind.audience, intervention=kind.key, reach=reach,
        officer_count=officers if status == "done" else 0,
        officer_hours=hours if status == "done" else 0,
        topics=list(kind.topics), laws=list(kind.laws), cost=cost)


def match_interventions(slugs: Sequence[str]) -> dict[str, str | None]:
    """Kind key -> the catalogue slug it records (the first of the kind's fragments that
    a slug contains), or None when the catalogue has nothing like it."""
    out: dict[str, str | None] = {}
    ordered = sorted(slugs)
    for key, kind in KINDS.items():
        found = None
        for fragment in kind.slugs:
            found = next((s for s in ordered if fragment in s), None)
            if found:
                break
        out[key] = found
    return out
