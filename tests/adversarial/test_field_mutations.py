"""Every form of the reporter site and the desk, with each field mutated, gets a readable
answer: a 4xx, or acceptance where the field is optional; never a 5xx or a traceback.

The forms and their fields are read from the pages themselves (formclient), so a form or
field added later is mutated too. Each field is dropped, sent twice, emptied, made huge,
sent with a NUL byte, given a choice that does not exist, and sent as a file part.
"""
from __future__ import annotations

import secrets

import pytest

from conftest import start_server
from deskclient import add_user, desk_login, desk_url
from formclient import FormClient, Page, open_report_form
from support.reporter import log_in, new_report

HUGE = "x" * 1_100_000


def _names(page: Page, button: str) -> list[str]:
    form = page.form(button)
    names = []
    for node in form.controls():
        name = node.attrs.get("name")
        if name and node.tag != "button" and name not in names:
            names.append(name)
    return names


def _button_for(page: Page, action: str) -> str:
    """The text of the button of the form on `page` whose action ends with `action`."""
    form = next(f for f in page.forms() if f.action.endswith(action))
    return next(n.text() for n in form.node.walk() if n.tag == "button").strip()


def _mutations(defaults: list[tuple[str, str]], name: str):
    """(label, [(name, value, filename or None)]) for each way of damaging field `name`."""
    rest = [(n, v, None) for n, v in defaults if n != name]
    value = next((v for n, v in defaults if n == name), "text")
    yield "dropped", rest
    yield "duplicated", rest + [(name, value, None), (name, value, None)]
    yield "emptied", rest + [(name, "", None)]
    yield "huge", rest + [(name, HUGE, None)]
    yield "nul", rest + [(name, value + "\x00tail", None)]
    yield "no such choice", rest + [(name, "no-such-choice-\u2603", None)]
    yield "file part", rest + [(name, value or "data", "x.txt")]


def _multipart(fields) -> tuple[bytes, str]:
    boundary = "mut" + secrets.token_hex(8)
    body = b""
    for name, value, filename in fields:
        disposition = f'Content-Disposition: form-data; name="{name}"'
        if filename:
            disposition += f'; filename="{filename}"\r\nContent-Type: text/plain'
        body += f"--{boundary}\r\n{disposition}\r\n\r\n".encode() + value.encode("utf-8") + b"\r\n"
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _attack(make, button: str, wrong: list, **fill: str) -> int:
    """Send every mutation of every field of the form with `button`; `make()` gives a
    (client, page) showing that form, called again after a mutation that was accepted.
    `fill` makes the untouched fields a submission that would be accepted."""
    client, page = make()
    sent = 0
    for name in _names(page, button):
        defaults = [(n, v) for n, v in page.form(button).defaults() if n not in fill]
        for label, fields in _mutations(defaults + list(fill.items()), name):
            form = page.form(button)
            body, content_type = _multipart(fields)
            response = client.http.post(form.action, data=body, timeout=60, allow_redirects=False,
                                        headers={"Content-Type": content_type})
            sent += 1
            if response.status_code >= 500 or "Traceback" in response.text:
                wrong.append((button, name, label, response.status_code))
            if response.status_code < 400:
                client, page = make()
                if not any(button in n.text() for n in page.root.walk() if n.tag == "button"):
                    return sent  # accepted for good: the conversation was deleted, or we left
    return sent


@pytest.mark.slow
def test_every_form_field_mutated_gets_a_readable_answer(instance, airgap):
    server = start_server(instance)
    wrong: list = []
    try:
        codename, _ = new_report(server, "a report to come back to")

        def landing():
            client = FormClient(server.url)
            return client, client.get("/")

        def codename_page():
            client, page = landing()
            return client, client.submit(page, "Start a new report")

        def report_form():
            client = FormClient(server.url)
            return client, open_report_form(client)[1]

        def login_form():
            client = FormClient(server.url)
            return client, client.get("/login")

        def conversation():
            return log_in(server, codename)

        def delete_page():
            fresh, _ = new_report(server, "to be deleted")
            client, _ = log_in(server, fresh)
            return client, client.get("/delete")

        sent = _attack(landing, "Start a new report", wrong)
        sent += _attack(codename_page, "Continue to the report", wrong, written_down="y")
        sent += _attack(codename_page, "Give me a different codename", wrong)
        sent += _attack(report_form, "Send the report", wrong, message="hello",
                        behaviour_other="other", places="online", reporting_for="myself")
        sent += _attack(login_form, "Log in", wrong, codename=codename)
        sent += _attack(conversation, "Send", wrong, message="more")
        sent += _attack(conversation, "Log out", wrong)
        sent += _attack(delete_page, "Delete everything", wrong)

        desk = desk_url(server)
        alexandra, bahaa = add_user(instance, "alexandra"), add_user(instance, "bahaa")

        def desk_login_form():
            client = FormClient(desk)
            return client, client.get("login")
        sent += _attack(desk_login_form, "Log in", wrong, username="bahaa", password=bahaa.password,
                        otp="000000")

        client, home = desk_login(desk, alexandra)
        assert home.status == 200, home.text
        first = home.by_class("conversation")[0].attrs["id"]

        def desk_page(path: str):
            return lambda: (client, client.get(path))

        # The person reported, before the desk's log-out below ends this login: invited on the
        # desk, their pages on the site (respondent.py).
        inviting = f"conversations/{first}/invitations"
        sent += _attack(desk_page(inviting), "Make an invitation", wrong)
        made = client.submit(client.get(inviting), "Make an invitation").by_id("codename")
        assert made is not None
        invitation = made.text().strip()

        def respondent_login():
            visitor = FormClient(server.url)
            return visitor, visitor.get("/respond/")

        def respondent_page():
            visitor, page = respondent_login()
            return visitor, visitor.submit(page, "Continue", fill={"codename": invitation})
        sent += _attack(respondent_login, "Continue", wrong, codename=invitation)
        sent += _attack(respondent_page, "Send", wrong, message="my side")
        sent += _attack(respondent_page, "Log out", wrong)
        sent += _attack(desk_page(inviting), "Withdraw", wrong)

        for path, action in (("", "/star"), ("", "/replies"), (f"conversations/{first}/close", "/close"),
                             (f"conversations/{first}/delete", "/delete"), ("", "/logout")):
            sent += _attack(desk_page(path), _button_for(client.get(path), action), wrong)
        assert sent > 150
    finally:
        server.stop()
    assert not wrong, "\n".join(map(str, wrong))
