"""Who uploaded which reply on the desk, so a responder's own reply is not "new" to them."""
from __future__ import annotations

from dropbox.storage import Store


def record(store: Store, name: str, item_ids: list[str]) -> None:
    with store._db() as db:
        db.executemany("INSERT OR IGNORE INTO desk_uploads VALUES (?, ?)", [(i, name) for i in item_ids])


def uploaded_by(store: Store, name: str) -> set[str]:
    with store._db() as db:
        rows = db.execute("SELECT item_id FROM desk_uploads WHERE uploaded_by = ?", (name,)).fetchall()
    return {r["item_id"] for r in rows}
