"""Translations: Indonesian is complete, compiled, and what people see by default.

The catalogs live in cegah/locale; ``make messages`` refreshes them from the source
(`django makemessages`, which needs GNU gettext) and compiles them with
scripts/compile_messages.py (pure Python). The compiled .mo files are committed.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.template.base import Lexer, TokenType
from django.utils import translation
from django.utils.translation.template import templatize

from tests.conftest import client_for

PROJECT_DIR = Path(__file__).resolve().parent.parent
SOURCE_DIR = PROJECT_DIR / "cegah"
LOCALE_DIR = SOURCE_DIR / "locale"
ID_PO = LOCALE_DIR / "id" / "LC_MESSAGES" / "django.po"
EN_PO = LOCALE_DIR / "en" / "LC_MESSAGES" / "django.po"
COMPILE_SCRIPT = PROJECT_DIR / "scripts" / "compile_messages.py"


def _load_compile_script():
    spec = importlib.util.spec_from_file_location("compile_messages", COMPILE_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


compile_messages = _load_compile_script()


def _key(entry: polib.POEntry) -> tuple[str | None, str, str | None]:
    return entry.msgctxt, entry.msgid, entry.msgid_plural or None


# --- the catalogs ------------------------------------------------------------------


def test_indonesian_catalog_is_complete():
    po = polib.pofile(str(ID_PO))
    assert po.metadata["Language"] == "id"
    assert po.metadata["Plural-Forms"].startswith("nplurals=1;")
    assert not po.metadata_is_fuzzy
    assert len(po) > 200
    untranslated = [e.msgid for e in po.untranslated_entries()]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    obsolete = [e.msgid for e in po.obsolete_entries()]
    assert untranslated == []
    assert fuzzy == []
    assert obsolete == []
    # nplurals=1: one form per plural message, and it must not be empty.
    for entry in po:
        if entry.msgid_plural:
            assert list(entry.msgstr_plural) == [0], entry.msgid
            assert entry.msgstr_plural[0].strip(), entry.msgid


def test_indonesian_translations_keep_every_placeholder():
    po = polib.pofile(str(ID_PO))
    assert compile_messages.format_errors(po) == []
    # Template variables and printf placeholders in every message, flagged or not.
    for entry in po.translated_entries():
        sources = [entry.msgid, entry.msgid_plural] if entry.msgid_plural else [entry.msgid]
        targets = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        wanted = set(re.findall(r"%\(\w+\)[sdr]|\{\{.*?\}\}", sources[0]))
        for target in targets:
            got = set(re.findall(r"%\(\w+\)[sdr]|\{\{.*?\}\}", target))
            assert got == wanted, (entry.msgid, target)


def test_english_catalog_exists_with_the_same_messages():
    id_po, en_po = polib.pofile(str(ID_PO)), polib.pofile(str(EN_PO))
    assert en_po.metadata["Language"] == "en"
    assert {_key(e) for e in en_po} == {_key(e) for e in id_po}
    # English is the source language: an English "translation", if any, is not fuzzy.
    assert en_po.fuzzy_entries() == []


# --- compiling ---------------------------------------------------------------------


def test_compiled_catalogs_are_up_to_date():
    result = subprocess.run([sys.executable, str(COMPILE_SCRIPT), "--check"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def _copy_locale(tmp_path: Path) -> Path:
    locale = tmp_path / "locale"
    for po in compile_messages.catalogs(LOCALE_DIR):
        target = locale / po.relative_to(LOCALE_DIR)
        target.parent.mkdir(parents=True)
        shutil.copyfile(po, target)
    return locale


def test_compiling_is_deterministic_and_check_names_stale_files(tmp_path):
    locale = _copy_locale(tmp_path)
    mo = locale / "id" / "LC_MESSAGES" / "django.mo"

    assert compile_messages.main(["--check", "--locale-dir", str(locale)]) == 1  # missing
    assert compile_messages.main(["--locale-dir", str(locale)]) == 0
    first = mo.read_bytes()
    assert first == (LOCALE_DIR / "id" / "LC_MESSAGES" / "django.mo").read_bytes()
    mo.unlink()
    assert compile_messages.main(["--locale-dir", str(locale)]) == 0
    assert mo.read_bytes() == first
    assert compile_messages.main(["--check", "--locale-dir", str(locale)]) == 0

    # A changed translation makes exactly that .mo stale, and --check says which.
    po_path = locale / "id" / "LC_MESSAGES" / "django.po"
    po = polib.pofile(str(po_path))
    po.find("Jurisdiction").msgstr = "Wilayah hukum"
    po.save()
    result = subprocess.run(
        [sys.executable, str(COMPILE_SCRIPT), "--check", "--locale-dir", str(locale)],
        capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "id/LC_MESSAGES/django.mo" in result.stderr
    assert "en/LC_MESSAGES/django.mo" not in result.stderr
    assert mo.read_bytes() == first  # --check writes nothing


def test_compiled_catalog_reads_back_like_the_po_file():
    import gettext

    po = polib.pofile(str(ID_PO))
    with (LOCALE_DIR / "id" / "LC_MESSAGES" / "django.mo").open("rb") as f:
        mo = gettext.GNUTranslations(f)
    contexts = 0
    for entry in po.translated_entries():
        if entry.msgid_plural:
            for n in (1, 2, 5):
                assert (mo.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, n)
                        if entry.msgctxt else
                        mo.ngettext(entry.msgid, entry.msgid_plural, n)) == entry.msgstr_plural[0]
        elif entry.msgctxt:  # the same words, translated differently where they are used
            contexts += 1
            assert mo.pgettext(entry.msgctxt, entry.msgid) == entry.msgstr
        else:
            assert mo.gettext(entry.msgid) == entry.msgstr
    assert contexts >= 2


def test_compiling_refuses_a_translation_that_loses_a_placeholder(tmp_path):
    locale = _copy_locale(tmp_path)
    po_path = locale / "id" / "LC_MESSAGES" / "django.po"
    po = polib.pofile(str(po_path))
    po.find("Welcome, %(name)s").msgstr = "Selamat datang"
    po.save()
    assert compile_messages.main(["--locale-dir", str(locale)]) == 1
    assert not (locale / "id" / "LC_MESSAGES" / "django.mo").exists()


# --- every marked string is in the catalog -----------------------------------------

_GETTEXT_FUNCS = {"_", "gettext", "gettext_lazy", "gettext_noop", "ngettext", "ngettext_lazy",
                  "pgettext", "pgettext_lazy", "npgettext", "npgettext_lazy"}
_TEMPLATIZED = re.compile(
    r"\b(?P<fn>n?p?gettext)\(\s*(?P<args>u(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    r"(?:\s*,\s*u(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"))*)")
_LITERAL = re.compile(r"u('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")")


def _source_files(suffix: str) -> list[Path]:
    return sorted(p for p in SOURCE_DIR.rglob(f"*{suffix}")
                  if "migrations" not in p.parts and "locale" not in p.parts)


def _marked_in_python(path: Path) -> set[tuple[str | None, str, str | None]]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if name not in _GETTEXT_FUNCS:
            continue
        args = [a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None
                for a in node.args]
        if name.startswith("np"):
            key = (args[0], args[1], args[2]) if len(args) >= 3 else None
        elif name.startswith("p"):
            key = (args[0], args[1], None) if len(args) >= 2 else None
        elif name.startswith("n"):
            key = (None, args[0], args[1]) if len(args) >= 2 else None
        else:
            key = (None, args[0], None) if args else None
        if key and key[1] is not None:
            found.add(key)
    return found


def _marked_in_template(path: Path) -> set[tuple[str | None, str, str | None]]:
    found = set()
    for m in _TEMPLATIZED.finditer(templatize(path.read_text(encoding="utf-8"), origin=path)):
        strings = [ast.literal_eval(s) for s in _LITERAL.findall(m.group("args"))]
        fn = m.group("fn")
        if fn == "npgettext":
            found.add((strings[0], strings[1], strings[2]))
        elif fn == "pgettext":
            found.add((strings[0], strings[1], None))
        elif fn == "ngettext":
            found.add((None, strings[0], strings[1]))
        else:
            found.add((None, strings[0], None))
    return found


def test_every_marked_string_has_an_indonesian_translation():
    po = polib.pofile(str(ID_PO))
    translated = {_key(e) for e in po.translated_entries()}
    marked: dict[tuple, str] = {}
    for path in _source_files(".py"):
        for key in _marked_in_python(path):
            marked.setdefault(key, str(path.relative_to(PROJECT_DIR)))
    for path in _source_files(".html"):
        for key in _marked_in_template(path):
            marked.setdefault(key, str(path.relative_to(PROJECT_DIR)))
    assert ("Jurisdiction" in {k[1] for k in marked}) and len(marked) > 200
    missing = sorted(f"{where}: {key[1]!r}" for key, where in marked.items()
                     if key not in translated)
    assert missing == [], "run `make messages` and translate:\n" + "\n".join(missing)


# --- templates show no untranslated English ----------------------------------------

# Words that are the same in both languages (names, formats, codes).
_ALLOWED_WORDS = {"Cegah", "SHA", "CSV", "XLSX", "ID", "EN", "Django"}
_CHECKED_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt"}


class _VisibleText(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        self.texts.extend(v for k, v in attrs if k in _CHECKED_ATTRIBUTES and v)

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.texts.append(data)


def _untranslated_words(source: str) -> list[str]:
    """English-looking words a template shows outside translation tags."""
    kept: list[str] = []
    in_blocktranslate = False
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.TEXT:
            if not in_blocktranslate:
                kept.append(token.contents)
            continue
        if token.token_type == TokenType.BLOCK:
            command = token.contents.split()[0]
            if command in ("blocktranslate", "blocktrans"):
                in_blocktranslate = True
            elif command in ("endblocktranslate", "endblocktrans"):
                in_blocktranslate = False
        kept.append(" ")  # a tag or variable: its output is not literal text
    parser = _VisibleText()
    parser.feed("".join(kept))
    parser.close()
    words = re.findall(r"[A-Za-z]{2,}(?:['-][A-Za-z]+)*", " ".join(parser.texts))
    return [w for w in words if w not in _ALLOWED_WORDS]


def test_templates_show_no_untranslated_english():
    found = {}
    for path in _source_files(".html"):
        words = _untranslated_words(path.read_text(encoding="utf-8"))
        if words:
            found[str(path.relative_to(PROJECT_DIR))] = words
    assert found == {}


def test_the_template_check_catches_untranslated_text():
    assert _untranslated_words("<h1>Welcome</h1>") == ["Welcome"]
    assert _untranslated_words('<input placeholder="Search here">') == ["Search", "here"]
    assert _untranslated_words('{% load i18n %}<h1>{% translate "Welcome" %}</h1>') == []
    assert _untranslated_words(
        "{% blocktranslate %}Hello {{ n }}{% endblocktranslate %}<script>go()</script>") == []


# --- what people see ---------------------------------------------------------------


def test_plural_messages_work_in_indonesian():
    with translation.override("id"):
        for n in (0, 1, 7):
            text = translation.ngettext("%(n)s import recorded.", "%(n)s imports recorded.", n)
            assert text % {"n": n} == f"{n} impor tercatat."
    with translation.override("en"):
        assert translation.ngettext("%(n)s import recorded.", "%(n)s imports recorded.", 1) \
            == "%(n)s import recorded."


def test_file_type_errors_are_translated():
    from cegah.lib.tabular import TableError, format_for

    with translation.override("id"), pytest.raises(TableError, match="harus berupa berkas"):
        format_for("cases.txt")
    with translation.override("en"), pytest.raises(TableError, match="expected a .csv"):
        format_for("cases.txt")


def test_login_page_is_in_indonesian(db, client):
    body = client.get("/accounts/login/").content.decode()
    assert '<html lang="id">' in body
    assert "Masuk" in body and "Nama pengguna" in body and "Kata sandi" in body
    assert "Username" not in body and "Password" not in body


def test_home_page_is_in_indonesian_by_default_and_english_on_request(alice):
    client = client_for(alice)
    body = client.get("/").content.decode()
    assert '<html lang="id">' in body
    assert "Wilayah kerja" in body and "Selamat datang" in body and "Keluar" in body
    assert "Jurisdiction" not in body and "Log out" not in body

    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    body = client.get("/").content.decode()
    assert '<html lang="en">' in body
    assert "Jurisdiction" in body and "Welcome" in body and "Log out" in body
    assert "Wilayah kerja" not in body

    client.post("/i18n/setlang/", {"language": "id", "next": "/"})
    assert "Wilayah kerja" in client.get("/").content.decode()
