"""The 17 institutions interviewed for the ECPAT Indonesia case study (Table 1), as demo
organisations. Types and jurisdictions are plausible guesses for a demonstration, not
statements about the real institutions."""

from __future__ import annotations

from dataclasses import dataclass

from cegah.accounts.models import OrganisationType as T

ALL_PROVINCES = "*"


@dataclass(frozen=True)
class DemoOrg:
    slug: str
    name: str
    short_name: str
    type: str
    jurisdiction: tuple[str, ...]


DEMO_ORGANISATIONS: tuple[DemoOrg, ...] = (
    DemoOrg("siber", "Directorate CyberCrime, National Police (Dittipidsiber Bareskrim Polri)",
            "Dittipidsiber Polri", T.POLICE, (ALL_PROVINCES,)),
    DemoOrg("ppa-bareskrim", "Women and Children Services Unit, Criminal Investigation Agency "
            "(Unit PPA Bareskrim Polri)", "Unit PPA Bareskrim", T.POLICE, (ALL_PROVINCES,)),
    DemoOrg("polres-jaktim", "Women and Child Protection Unit, East Jakarta Police "
            "(Unit PPA Polres Metro Jakarta Timur)", "PPA Polres Jaktim", T.POLICE, ("31.75",)),
    DemoOrg("polres-jaksel", "Women and Child Protection Unit, South Jakarta Police "
            "(Unit PPA Polres Metro Jakarta Selatan)", "PPA Polres Jaksel", T.POLICE, ("31.74",)),
    DemoOrg("ditjenpas", "Directorate General of Corrections, Ministry of Law and Human Rights "
            "(Ditjen Pemasyarakatan)", "Ditjenpas", T.CORRECTIONS, (ALL_PROVINCES,)),
    DemoOrg("bapas-klaten", "Correctional Center Klaten (Bapas Klaten)", "Bapas Klaten",
            T.CORRECTIONS, ("33.10",)),
    DemoOrg("lpka-jakarta", "Special Class Guidance Institution for Children DKI Jakarta "
            "(LPKA Jakarta)", "LPKA Jakarta", T.CORRECTIONS, ("31",)),
    DemoOrg("handayani", "Social Rehabilitation Center for Children in Need of Special "
            "Protection 'Handayani', Ministry of Social Affairs", "BRSAMPK Handayani",
            T.GOVERNMENT, (ALL_PROVINCES,)),
    DemoOrg("kejagung", "Office of the Attorney General of the Republic of Indonesia",
            "Kejaksaan Agung", T.OTHER, (ALL_PROVINCES,)),
    DemoOrg("pt-kendari", "High Court Kendari City (Pengadilan Tinggi Kendari)", "PT Kendari",
            T.OTHER, ("74.71",)),
    DemoOrg("mawar-saron", "Mawar Saron Legal Aid Service (LBH Mawar Saron)", "LBH Mawar Saron",
            T.NGO, ("31",)),
    DemoOrg("himpsi", "Indonesian Psychological Association (HIMPSI)", "HIMPSI", T.NGO,
            (ALL_PROVINCES,)),
    DemoOrg("laha", "Child Rights Advocacy Institution (Lembaga Advokasi Hak Anak, LAHA)",
            "LAHA", T.NGO, ("32",)),
    DemoOrg("fpl", "National Secretariat for Service Provider Forum (Seknas FPL)", "Seknas FPL",
            T.NGO, (ALL_PROVINCES,)),
    DemoOrg("compassion-first", "Compassion First", "Compassion First", T.NGO, ("71",)),
    DemoOrg("uptd-ppa", "Regional Technical Implementation Unit for the Protection of Women and "
            "Children (UPTD PPA), DKI Jakarta", "UPTD PPA DKI", T.GOVERNMENT, ("31",)),
    DemoOrg("kemenpppa", "Ministry of Women's Empowerment and Child Protection (KemenPPPA)",
            "KemenPPPA", T.GOVERNMENT, (ALL_PROVINCES,)),
)

DEMO_PASSWORD = "cegah-demo-2024"  # noqa: S105 - public demo password, demo accounts only
DEMO_ADMIN = "demo-admin"
