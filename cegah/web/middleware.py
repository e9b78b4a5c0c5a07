import time

from django.conf import settings
from django.utils import translation
from django.utils.cache import patch_vary_headers


class LanguageMiddleware:
    """Indonesian unless the user chose English with the language switcher.

    Unlike Django's LocaleMiddleware this ignores the browser's Accept-Language: many
    phones in Indonesia are set to English, and Cegah is Indonesian first.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.languages = dict(settings.LANGUAGES)

    def __call__(self, request):
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if language not in self.languages:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        patch_vary_headers(response, ("Cookie",))
        response.headers.setdefault("Content-Language", language)
        return response


class SessionTouchMiddleware:
    """Sliding session expiry with at most one session write a minute.

    Sessions end after ``SESSION_COOKIE_AGE`` without activity. Django's
    ``SESSION_SAVE_EVERY_REQUEST`` does that with a database write on every request, which
    serialises busy pages (and every map-data request) on SQLite; touching the session
    once a minute keeps the same timeout to the minute.
    """

    INTERVAL = 60  # seconds

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is not None and session.session_key and not session.is_empty():
            now = int(time.time())
            if now - int(session.get("_touched", 0)) >= self.INTERVAL:
                session["_touched"] = now  # marks the session modified: saved, cookie renewed
        return response
