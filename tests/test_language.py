from django.test import Client


def test_pages_are_indonesian_even_for_an_english_browser(db):
    page = Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert page["Content-Language"] == "id"
    assert '<html lang="id">' in page.content.decode()


def test_the_switcher_sets_english_and_back(db):
    client = Client()
    client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    page = client.get("/accounts/login/")
    assert page["Content-Language"] == "en"
    client.post("/i18n/setlang/", {"language": "id", "next": "/accounts/login/"})
    assert client.get("/accounts/login/")["Content-Language"] == "id"
