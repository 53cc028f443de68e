"""End to end through Tor: a private Tor network on loopback in its own network namespace
(tests/tornet.py), `dropbox serve --tor launch` publishing the instance's onions on it, and
a client tor whose SOCKS port every request of these tests goes through.

The tests run in order on one network: the landing page, the whole reporter loop, the
responder desk behind client authorization, and a restart that must publish the same address
again.
"""
from __future__ import annotations

import re
import secrets
import signal
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable, Iterator

import pytest
import requests

from conftest import BIN, TEAM, dropbox, opened_conversations, require_tool
from support.browser import CHROMIUM_ARGS
from support.reporter import log_in, new_report
from tornet import Client, TorNetwork, free_port, own_network_namespace, wait_for

pytestmark = pytest.mark.slow
REFUSED_FILE_MIB = 64


@dataclass
class OnionSite:
    """What new_report and log_in need of a server: its URL (here the onion) and data."""
    url: str
    data: Path


@dataclass
class Published:
    network: TorNetwork
    client: Client
    data: Path
    serve_args: list
    log: Path
    process: subprocess.Popen
    address: str
    desk_address: str
    desk_line: str

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def start_serve(network: TorNetwork, args: list, log: Path) -> tuple[subprocess.Popen, str]:
    """`dropbox serve` on the network; returns it and the site address it printed (this run's:
    the log is appended to, and an earlier run's lines are not this one's)."""
    earlier = log.stat().st_size if log.exists() else 0
    process = network.start([BIN / "dropbox", "serve", *args], log)
    found = wait_for("dropbox serve to publish its onion",
                     lambda: process.poll() is None and re.search(
                         r"reporter site: http://([a-z2-7]{56}\.onion)/", log.read_bytes()[earlier:].decode()),
                     timeout=120, every=0.5)
    return process, found.group(1)


@pytest.fixture(scope="module")
def published(tmp_path_factory, airgap):
    for tool in ("tor", "tor-gencert", "ip"):
        require_tool(tool)
    folder = tmp_path_factory.mktemp("tornet")
    with own_network_namespace():
        network = TorNetwork(folder)
        try:
            network.build()
            network.start_relays()
            network.wait_for_consensus()

            data = folder / "instance"
            dropbox("init", "--data", data, "--community", "Test community")
            for name in TEAM:
                dropbox("team", "add", name, airgap.pub(name), "--data", data)
            desk_line = dropbox("onion", "desk-access", "add", "alexandra", "--data", data).out.strip()
            desk_port = free_port()
            torrc = folder / "service-torrc"
            torrc.write_text("\n".join(network.client_config()) + "\n")
            args = ["--data", data, "--port", free_port(), "--tor", "launch",
                    "--tor-config", torrc, "--desk-port", desk_port]
            log = folder / "serve.log"
            process, address = start_serve(network, args, log)
            desk_address = re.search(r"desk \(client authorization, 1 responder\(s\)\): "
                                     r"http://([a-z2-7]{56}\.onion)/", log.read_text()).group(1)
            client = network.start_client()
            client.wait_until_bootstrapped()
            yield Published(network, client, data, args, log, process, address, desk_address,
                            desk_line)
        finally:
            network.stop()


@pytest.fixture
def through_tor(published, monkeypatch):
    """Every request of the test (FormClient included) goes through the client tor."""
    monkeypatch.setenv("HTTP_PROXY", published.client.proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    return published


def landing_page(published: Published, timeout: float = 180, afresh: bool = False) -> requests.Response:
    """The landing page through the client tor. `afresh`: the service was published again, and
    until its new descriptor reaches the directories the client may fetch the old one, whose
    introduction points are gone; each try then starts with a New Identity, as a person would
    press it in Tor Browser, so tor forgets what it fetched (tor spaces them 10 s apart)."""
    def loaded():
        if afresh:
            published.client.forget_onion_services()
        response = published.client.get(f"http://{published.address}/", timeout=30 if afresh else 120)
        return response if response.status_code == 200 else None
    try:
        return wait_for(f"{published.address} to load over tor", loaded, timeout, every=10 if afresh else 3)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{published.log_text()}\n{published.network.logs()}") from None


def test_landing_page_of_the_instance_onion_loads_through_tor(published):
    assert published.address == dropbox("onion", "address", "--data", published.data).out.strip()
    page = landing_page(published)
    assert "Start a new report" in page.text
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_whole_reporter_loop_works_through_tor(through_tor, airgap, tmp_path):
    site = OnionSite(f"http://{through_tor.address}/", through_tor.data)
    landing_page(through_tor)
    marker = secrets.token_hex(8)
    codename, _ = new_report(site, f"Over tor. {marker}",
                             files=[("files", "evidence.txt", b"evidence " + marker.encode())])

    bundle = tmp_path / "export.bundle"
    dropbox("export", "--data", site.data, "--out", bundle)
    opened = tmp_path / "opened"
    airgap.open(bundle, "alexandra", opened)
    [(conversation, folder)] = opened_conversations(opened).items()
    assert (folder / "attachments" / "evidence.txt").read_bytes() == \
        b"evidence " + marker.encode()
    reply_text = f"We read it over tor. {secrets.token_hex(4)}"
    reply = tmp_path / "reply.odbx"
    airgap.reply(bundle, conversation, "alexandra", reply_text, reply)
    dropbox("import-replies", reply, "--data", site.data)

    _, page = log_in(site, codename)
    assert page.status == 200
    assert reply_text in page.text


@contextmanager
def tor_browser(published: Published) -> Iterator[Callable]:
    """Tor Browser at its Safest level, as near as a test gets: Chromium, JavaScript off,
    every request through the client tor's SOCKS port, names resolved by tor. Yields a
    function that opens a page in a new private context (a new visit)."""
    chromium = require_tool("chromium")
    from playwright.sync_api import sync_playwright
    proxy = [f"--proxy-server=socks5://127.0.0.1:{published.client.socks_port}",
             "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS + proxy)

        def new_page():
            page = browser.new_context(java_script_enabled=False).new_page()
            page.set_default_timeout(180_000)
            return page
        try:
            yield new_page
        finally:
            browser.close()


def start_report_in(page, published: Published) -> str:
    """From the landing page to the report form; returns the codename shown."""
    page.goto(f"http://{published.address}/")
    page.click("button:has-text('Start a new report')")
    codename = " ".join(page.locator("#codename li").all_inner_texts())  # its numbered words
    page.check("input[name='written_down']")
    page.click("button:has-text('Continue')")
    return codename


def test_reporter_flow_in_chromium_without_javascript_through_tor(published, airgap, tmp_path):
    from playwright.sync_api import expect
    marker = secrets.token_hex(8)
    evidence = tmp_path / "evidence.txt"
    evidence.write_text(f"seen in chromium {marker}")
    with tor_browser(published) as new_page:
        page = new_page()
        codename = start_report_in(page, published)
        page.fill("textarea[name='message']", f"Sent from chromium over tor. {marker}")
        page.set_input_files("input[name='files']", str(evidence))
        page.click("button:has-text('Send the report')")
        # click() returns once the navigation commits; over tor the page may still be
        # empty then (seen in CI), so wait for the words as a person would.
        expect(page.locator("main")).to_contain_text("has been sent", timeout=180_000)

        bundle = tmp_path / "export.bundle"
        dropbox("export", "--data", published.data, "--out", bundle)
        opened = tmp_path / "opened"
        airgap.open(bundle, "mario", opened)
        found = [p for p in opened.rglob("evidence.txt")]
        assert [p.read_text() for p in found] == [f"seen in chromium {marker}"]
        reply_text = f"Read in chromium. {secrets.token_hex(4)}"
        [conversation] = [cid for cid, folder in opened_conversations(opened).items()
                          if folder == found[0].parent.parent]
        airgap.reply(bundle, conversation, "mario", reply_text, tmp_path / "r.odbx")
        dropbox("import-replies", tmp_path / "r.odbx", "--data", published.data)

        later = new_page()
        later.goto(f"http://{published.address}/login")
        later.fill("input[name='codename']", codename)
        later.click("button:has-text('Log in')")
        assert reply_text in later.locator(".reply").inner_text()


def test_a_large_report_refused_before_it_is_read_still_shows_its_answer_through_tor(
        published, tmp_path):
    """The server answers a submission it will refuse before reading its files, then closes
    the connection while the browser is still sending (submission_stream.py): on loopback the
    browser reads the answer first. Through tor too: the onion service's tor reads the answer
    before the close, and the page comes back with the reporter's words and the file named."""
    from playwright.sync_api import expect
    landing_page(published)  # the onion is reachable
    marker = secrets.token_hex(8)
    evidence = tmp_path / f"recording-{marker}.bin"
    with open(evidence, "wb") as out:  # far more than the server reads of a refused body
        for _ in range(REFUSED_FILE_MIB):
            out.write(secrets.token_bytes(1 << 20))
    with tor_browser(published) as new_page:
        page = new_page()
        start_report_in(page, published)
        words = f"Refused for want of a reader, kept all the same. {marker}"
        page.fill("textarea[name='message']", words)
        boxes = page.locator("input[name='recipients']")
        expect(boxes).to_have_count(len(TEAM))  # over tor the page arrives in pieces
        for box in boxes.all():
            box.uncheck()  # nobody left to read it: the form is refused
        page.set_input_files("input[name='files']", str(evidence))
        page.click("button:has-text('Send the report')")
        summary = page.locator("#error-summary")
        expect(summary).to_contain_text("Leave at least one responder checked", timeout=180_000)
        expect(summary).to_contain_text(evidence.name)
        assert page.locator("textarea[name='message']").input_value() == words
    assert "Traceback" not in published.log_text() and published.process.poll() is None
    assert landing_page(published).status_code == 200


def test_desk_onion_refuses_a_client_without_its_key_and_serves_one_with_it(published):
    url = f"http://{published.desk_address}/"

    def refused_for_want_of_a_key():
        try:
            published.client.get(url, timeout=60)
        except requests.ConnectionError as exc:
            return "0xf4" in str(exc).lower()  # SOCKS ExtendedErrors: client authorization missing
        raise AssertionError("the desk answered a client without a key")
    wait_for("the desk to refuse a client without a key", refused_for_want_of_a_key, 180, every=3)

    assert published.desk_line.startswith(published.desk_address.removesuffix(".onion") +
                                           ":descriptor:x25519:")
    published.client.add_onion_auth(published.desk_line)
    page = wait_for("the desk to answer the client with a key",
                    lambda: published.client.get(url, timeout=60), 180, every=3)
    # The desk's own login page, through its onion.
    assert page.status_code == 200
    assert all(f'name="{field}"' in page.text for field in ("username", "password", "otp"))


def test_restarted_serve_publishes_the_same_address_again(published):
    landing_page(published)
    published.process.send_signal(signal.SIGTERM)
    assert published.process.wait(timeout=60) == 0
    assert "onion services removed, tor stopped" in published.log_text()

    process, address = start_serve(published.network, published.serve_args, published.log)
    published.process = process
    assert address == published.address
    assert "Start a new report" in landing_page(published, timeout=240, afresh=True).text
