"""A small HTTP client that reads pages and fills in their forms, like a person would.

It knows only what the HTML says: each form's action, method, hidden inputs
(the CSRF token among them), checkboxes as they are checked by default,
the selected option of a select. So a
test that passes with it passes because the pages really work without
JavaScript, not because the test knows the routes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import requests

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def walk(self):
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.walk()

    def has_class(self, name: str) -> bool:
        return name in self.attrs.get("class", "").split()


class _TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag):
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


@dataclass
class Form:
    node: Node
    url: str

    @property
    def action(self) -> str:
        return urljoin(self.url, self.node.attrs.get("action") or self.url)

    @property
    def method(self) -> str:
        return self.node.attrs.get("method", "get").lower()

    def controls(self) -> list[Node]:
        return [n for n in self.node.walk() if n.tag in ("input", "textarea", "select", "button")]

    def defaults(self) -> list[tuple[str, str]]:
        """What the browser would send if nothing were touched."""
        values: list[tuple[str, str]] = []
        for node in self.controls():
            name, kind = node.attrs.get("name"), node.attrs.get("type", "text")
            if not name or node.tag == "button" or kind in ("file", "submit"):
                continue
            if kind in ("checkbox", "radio") and "checked" not in node.attrs:
                continue
            if node.tag == "select":
                options = [n for n in node.walk() if n.tag == "option"]
                chosen = [n for n in options if "selected" in n.attrs] or options[:1]
                values.extend((name, n.attrs.get("value", n.text())) for n in chosen)
                continue
            value = node.text() if node.tag == "textarea" else node.attrs.get("value", "on" if kind == "checkbox" else "")
            values.append((name, value))
        return values


class Page:
    def __init__(self, response: requests.Response):
        self.response = response
        self.status = response.status_code
        self.url = response.url
        builder = _TreeBuilder()
        builder.feed(response.text)
        self.root = builder.root

    def by_id(self, element_id: str) -> Node | None:
        return next((n for n in self.root.walk() if n.attrs.get("id") == element_id), None)

    def by_class(self, name: str) -> list[Node]:
        return [n for n in self.root.walk() if n.has_class(name)]

    def forms(self) -> list[Form]:
        return [Form(n, self.url) for n in self.root.walk() if n.tag == "form"]

    def form(self, button_text: str) -> Form:
        """The form whose submit button says `button_text`."""
        for form in self.forms():
            if any(n.tag == "button" and button_text.lower() in n.text().lower() for n in form.node.walk()):
                return form
        raise AssertionError(f"no form with a {button_text!r} button on {self.url}")

    def link(self, text: str) -> str:
        for node in self.root.walk():
            if node.tag == "a" and text.lower() in node.text().lower():
                return urljoin(self.url, node.attrs["href"])
        raise AssertionError(f"no link {text!r} on {self.url}")

    @property
    def text(self) -> str:
        return self.root.text()


class FormClient:
    def __init__(self, base_url: str, http: requests.Session | None = None):
        """`http` answers in process when given (support/inprocess.py); else a real Session."""
        self.base_url = base_url
        self.http = http or requests.Session()

    def get(self, path_or_url: str) -> Page:
        return Page(self.http.get(urljoin(self.base_url, path_or_url), timeout=60))

    def submit(self, page: Page, button_text: str, fill: dict[str, str] | None = None,
               uncheck: dict[str, set[str]] | None = None,
               files: list[tuple[str, str, bytes]] | None = None) -> Page:
        """Fill in and send the form with that button; `uncheck` removes checked boxes by value."""
        form = page.form(button_text)
        fill, uncheck = fill or {}, uncheck or {}
        data = [(n, v) for n, v in form.defaults()
                if n not in fill and v not in uncheck.get(n, set())]
        data += list(fill.items())
        sent_files = [(name, (filename, content)) for name, filename, content in files or []]
        if form.method == "post" and not sent_files and \
                form.node.attrs.get("enctype") == "multipart/form-data":
            sent_files = [("files", ("", b""))]  # what a browser sends for an empty file input
        response = self.http.request(form.method, form.action, data=data, files=sent_files or None,
                                     timeout=300)
        return Page(response)


def open_report_form(client: FormClient) -> tuple[str, Page]:
    """Landing page → start → codename → "I have written it down" → the report form."""
    landing = client.get("/")
    assert landing.status == 200
    codename_page = client.submit(landing, "Start a new report")
    assert codename_page.status == 200
    shown = codename_page.by_id("codename")
    assert shown is not None, codename_page.text[:200]
    codename = shown.text().strip()
    assert "write" in codename_page.text.lower()
    form_page = client.submit(codename_page, "Continue", fill={"written_down": "y"})
    assert form_page.status == 200
    return codename, form_page
