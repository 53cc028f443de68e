"""A reporter's two visits through the real form: sending a report, and logging in later."""
from __future__ import annotations

from collections.abc import Set as AbstractSet

from formclient import FormClient, Page, open_report_form
from support.airgap import TEAM


def new_report(server, message: str, files=(), exclude: AbstractSet[str] = frozenset()) -> tuple[str, Page]:
    """Landing page → start → codename → report form → confirmation. Returns the codename."""
    client = FormClient(server.url)
    codename, form_page = open_report_form(client)
    boxes = {n.attrs["value"] for n in form_page.root.walk() if n.attrs.get("name") == "recipients"}
    assert boxes == set(TEAM)
    done = client.submit(form_page, "Send the report", fill={"message": message},
                         uncheck={"recipients": set(exclude)}, files=list(files))
    assert done.status == 200, done.text
    assert "has been sent" in done.text
    return codename, done


def log_in(server, codename: str) -> tuple[FormClient, Page]:
    client = FormClient(server.url)
    page = client.submit(client.get("/login"), "Log in", fill={"codename": codename})
    return client, page
