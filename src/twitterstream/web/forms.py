"""The search form (CSRF-protected by Flask-WTF)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectMultipleField, StringField


class SearchForm(FlaskForm):
    """What to watch, and (with several sources running) on which networks.

    ``networks`` are the checked boxes (source names); ``networks_shown`` says the form had boxes, so that none
    checked is told apart from a client that posts only ``query`` (every network).
    """

    query = StringField("Search")
    networks = SelectMultipleField("Networks", choices=[], validate_choice=False)
    networks_shown = HiddenField()
