"""The ingester and its parts (see ``ingester``'s docstring for who does what)."""

from twitterstream.ingest.ingester import Ingester
from twitterstream.ingest.runner import SourceFactory
from twitterstream.ingest.window import RecentWindow

__all__ = ["Ingester", "RecentWindow", "SourceFactory"]
