"""The search form (CSRF-protected by Flask-WTF)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField


class SearchForm(FlaskForm):
    """One field: what to watch."""

    query = StringField("Search")
