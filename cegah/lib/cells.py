"""Cell-level rules shared by the web import and the risk engine.

No Django here: ``cegah/risk`` uses it too.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

# Column names that suggest personal data; Cegah takes aggregate counts only.
PERSONAL_COLUMN = re.compile(
    r"(^|[_\s-])(name|names|nama|first_?name|last_?name|full_?name|birth|birthdate|born|lahir|"
    r"dob|tgl_?lahir|tanggal_?lahir|nik|ktp|nkk|national_?id|id_?number|passport|paspor|"
    r"address|alamat|street|jalan|phone|telepon|telp|hp|mobile|email|surel|victim|korban|"
    r"perpetrator|pelaku|suspect|tersangka|age|umur|usia|gender|jenis_?kelamin|religion|agama)"
    r"($|[_\s-])"
)
# A 16-digit number is what an Indonesian national ID (NIK) looks like; digits after a
# decimal point or comma (0.1234567890123456) are a fraction, not an ID.
NIK = re.compile(r"(?<![\d.,])\d{16}(?!\d)")


def cell_text(value: Any, *, to_the_day: bool = False) -> str:
    """A spreadsheet cell as the text a user typed: months as YYYY-MM, 3.0 as "3".

    ``to_the_day`` keeps the day of a date (YYYY-MM-DD), the minute of a date-time
    (YYYY-MM-DD HH:MM) and of a time (HH:MM), for tables dated to the day.
    """
    if value is None:
        return ""
    if to_the_day:
        if isinstance(value, dt.datetime):
            return (value.date().isoformat() if value.time() == dt.time(0, 0)
                    else value.strftime("%Y-%m-%d %H:%M"))
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, dt.time):
            return value.strftime("%H:%M")
    if isinstance(value, dt.datetime | dt.date):
        return value.strftime("%Y-%m")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
