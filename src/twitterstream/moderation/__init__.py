"""Moderation: what an operator decides an audience sees (blocklist, hidden posts, walls, the audit log)."""

from twitterstream.moderation.blocklist import Blocklist, BlocklistError
from twitterstream.moderation.screen import Screen
from twitterstream.moderation.walls import Wall, WallError

__all__ = ["Blocklist", "BlocklistError", "Screen", "Wall", "WallError"]
