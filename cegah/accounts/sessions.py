"""Session store: Django's database sessions, read by fixed SQL (every signed-in request
reads one; see cegah.lib.rawsql)."""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.utils import timezone

from cegah.lib import rawsql


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        session = rawsql.first(self.model, "session_key = %s AND expire_date > %s",
                               [self.session_key, rawsql.when(timezone.now())])
        if session is None:
            self._session_key = None
        return session
