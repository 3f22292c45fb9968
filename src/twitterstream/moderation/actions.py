"""An operator's actions: each changes what the store says, tells open pages (events), and is audited.

Nothing is deleted from the store: a blocked, hidden or rejected post is only withheld, and comes back
when the decision is lifted. Open pages learn it through the store's event log (``delete`` when a post
leaves, ``post`` when it comes back), so every web replica's live hub delivers it at once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from twitterstream.models import Post, format_time
from twitterstream.moderation.blocklist import Blocklist
from twitterstream.moderation.screen import BLOCKLIST_STATE, MAX_SCAN, Screen
from twitterstream.moderation.walls import APPROVED, HIDDEN, PINNED, REJECTED, WALL_LEASE_SECONDS, Wall
from twitterstream.store import EventKind, Store

#: The decisions on one post of a wall: (marks set, marks cleared).
DECISIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "approve": ((APPROVED,), (REJECTED,)),
    "reject": ((REJECTED,), (APPROVED, PINNED)),
    "pin": ((PINNED, APPROVED), (REJECTED,)),  # a pinned post leads the wall: it is shown, approval or not
    "unpin": ((), (PINNED,)),
}


class UnknownPost(LookupError):
    """No stored post has that key."""


class Moderator:
    """Carries out operator actions against one store."""

    def __init__(self, store: Store, screen: Screen) -> None:
        self.store = store
        self.screen = screen

    def audit(self, action: str, client: str | None, **details: Any) -> None:
        """Record an action with its time, the client it came from, and what it changed."""
        entry = {"at": format_time(datetime.now(UTC)), "action": action, "client": client, **details}
        self.store.add_audit(entry)

    # -- the blocklist ------------------------------------------------------------------------------
    def set_blocklist(self, new: Blocklist, client: str | None) -> dict[str, int]:
        """Replace the blocklist; posts it now blocks leave open pages, posts it no longer blocks come back."""
        old = self.screen.blocklist()
        self.store.set_state(BLOCKLIST_STATE, new.to_json())
        posts = self.store.matched_posts()
        hidden = self.store.marked("", HIDDEN, (p.key for p in posts))
        blocked = unblocked = 0
        for post in posts:
            if post.key in hidden or (post.sensitive and not self.screen.show_sensitive):
                continue  # withheld either way: nothing changes for an audience
            was, now = bool(old) and old.blocks(post), bool(new) and new.blocks(post)
            if now and not was:
                blocked += bool(self.store.publish(post.key, EventKind.DELETE))
            elif was and not now:
                unblocked += bool(self.store.publish(post.key, EventKind.POST))
        changes = _list_changes(old.to_json(), new.to_json())
        self.audit("blocklist", client, **changes, posts_blocked=blocked, posts_unblocked=unblocked)
        return {"posts_blocked": blocked, "posts_unblocked": unblocked}

    # -- one post, everywhere -----------------------------------------------------------------------
    def hide(self, post_key: str, hidden: bool, client: str | None) -> bool:
        """Hide or unhide a post on every page; True when that changed something."""
        post = self._post(post_key)
        changed = self.store.set_mark("", HIDDEN, post_key, hidden)
        if changed and not self._withheld_otherwise(post):
            self.store.publish(post_key, EventKind.DELETE if hidden else EventKind.POST)
        self.audit("hide" if hidden else "unhide", client, post=post_key, changed=changed)
        return changed

    def _withheld_otherwise(self, post: Post) -> bool:
        if post.sensitive and not self.screen.show_sensitive:
            return True
        blocklist = self.screen.blocklist()
        return bool(blocklist) and blocklist.blocks(post)

    def _post(self, post_key: str) -> Post:
        post = self.store.get_post(post_key)
        if post is None:
            raise UnknownPost(post_key)
        return post

    # -- walls --------------------------------------------------------------------------------------
    def put_wall(self, wall: Wall, client: str | None) -> bool:
        """Create or change a wall and keep its query watched for as long as the wall exists."""
        before = self.store.get_wall(wall.slug)
        created = self.store.put_wall(wall.slug, wall.to_record())
        old = Wall.from_record(before) if before else None
        if old is not None and old.query_key != wall.query_key:
            self.store.watch(old.query_key, old.query, old.holder, 0, 0)  # the old query's lease ends now
        self.store.watch(wall.query_key, wall.query, wall.holder, 0, WALL_LEASE_SECONDS)
        # Open wall pages apply changed rules to what arrives from now on; a reload applies them to all.
        changes = {k: v for k, v in wall.to_json().items() if old is None or old.to_json().get(k) != v}
        self.audit("wall_create" if created else "wall_change", client, wall=wall.slug, changes=changes)
        return created

    def delete_wall(self, slug: str, client: str | None) -> bool:
        record = self.store.get_wall(slug)
        if record is None:
            return False
        wall = Wall.from_record(record)
        self.store.delete_wall(slug)
        self.store.watch(wall.query_key, wall.query, wall.holder, 0, 0)  # its lease ends (others keep theirs)
        self.audit("wall_delete", client, wall=slug)
        return True

    def decide(self, wall: Wall, post_key: str, decision: str, client: str | None) -> bool:
        """Approve, reject, pin or unpin a post on a wall; open wall pages see it at once."""
        post = self._post(post_key)
        if post_key not in {p.key for p in self.store.latest(wall.query_key, MAX_SCAN)}:
            raise UnknownPost(post_key)  # stored, but not a match of this wall
        before = self.screen.withheld_on_wall(wall, [post])
        on, off = DECISIONS[decision]
        changed = [self.store.set_mark(wall.slug, mark, post_key, True) for mark in on]
        changed += [self.store.set_mark(wall.slug, mark, post_key, False) for mark in off]
        after = self.screen.withheld_on_wall(wall, [post])
        if after and not before:
            self.store.publish(post_key, EventKind.DELETE, [wall.query_key])
        elif any(changed) and not after:  # it came, or its pinned flag changed: walls place it again
            self.store.publish(post_key, EventKind.POST, [wall.query_key])
        self.audit(decision, client, wall=wall.slug, post=post_key, changed=any(changed))
        return any(changed)


def _list_changes(old: dict[str, list[str]], new: dict[str, list[str]]) -> dict[str, Any]:
    """What a blocklist change added and removed, per field."""
    changes: dict[str, Any] = {}
    for name in new:
        added = [e for e in new[name] if e not in old.get(name, [])]
        removed = [e for e in old.get(name, []) if e not in new[name]]
        if added or removed:
            changes[name] = {"added": added, "removed": removed}
    return {"changes": changes}
