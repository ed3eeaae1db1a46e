"""The course website (``aigc-tf book``): built once from the committed notebooks, read as files,
then opened in headless Chromium (Debian's ``chromium``) through the DevTools protocol.

The browser tests skip, with the reason, when Chromium is not installed (``.ci/run`` installs
it); every test skips when the ``book`` extra is missing. Screenshots are written to
``$AIGC_TF_BOOK_SHOTS`` when it is set (to look at them), else to pytest's temporary folder.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from aigc_tf.book import PARTS, build_book, course_notebooks, main
from aigc_tf.book.website import MISSING_TOOLS, missing_tools, place_front_page_images

pytestmark = [
    pytest.mark.skipif(bool(missing_tools()),
                       reason=MISSING_TOOLS.format(", ".join(missing_tools()))),
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning"),  # Sphinx 11 notices
]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
LESSON = "04_dcgan_mnist"
SEARCH_RESULTS = """new Promise(done => {
    const start = Date.now();
    (function poll() {
        const summary = document.querySelector(".search-summary");
        if ((summary && /found/.test(summary.innerText)) || Date.now() - start > 20000) {
            done(JSON.stringify([...document.querySelectorAll("#search-results a")]
                                .map(a => a.getAttribute("href"))));
        } else { setTimeout(poll, 100); }
    })();
})"""
PAGE_REPORT = """(async () => {
    if (window.MathJax && MathJax.startup) { await MathJax.startup.promise; }
    const images = [...document.images].map(i => ({src: i.currentSrc, width: i.naturalWidth}));
    const math = [...document.querySelectorAll("span.math, div.math")];
    const links = [...document.querySelectorAll("a[href]")].map(a => a.href);
    const text = document.body.cloneNode(true);
    text.querySelectorAll("pre, code, script, style, mjx-container").forEach(n => n.remove());
    return JSON.stringify({
        title: document.title, images, links,
        ids: [...document.querySelectorAll("[id]")].map(n => n.id),
        math: math.length,
        typeset: math.filter(n => n.querySelector("mjx-container svg")).length,
        rawTex: (text.innerText.match(/\\$\\$|\\\\\\(|\\\\\\[|\\\\frac|\\\\mathbb/g) || []).length,
        toc: [...document.querySelectorAll(".bd-sidebar-primary p.caption")].map(n => n.innerText),
    });
})()"""


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    return build_book(tmp_path_factory.mktemp("book") / "site")


def test_build_has_no_warnings_and_a_page_per_lesson(book):
    assert book.warnings == []
    assert book.index.is_file()
    assert [page.stem for page in book.lessons] == [path.stem for path in course_notebooks()]
    assert all(page.is_file() for page in book.lessons)
    assert (book.index.parent / "search.html").is_file()
    assert (book.index.parent / "searchindex.js").is_file()


def test_front_page_is_the_readme_with_a_toc_by_part(book):
    html = book.index.read_text(encoding="utf-8")
    assert "generative AI with Keras 3 and TensorFlow, on a laptop CPU" in html
    captions = re.findall(r'<p [^>]*class="caption"[^>]*><span class="caption-text">([^<]+)<', html)
    parts_with_lessons = [title for title, first, last in PARTS
                          if any(first <= int(p.name[:2]) <= last for p in course_notebooks())]
    assert list(dict.fromkeys(captions)) == parts_with_lessons + ["Practice"]  # sidebar, body
    assert 'href="04_dcgan_mnist.html"' in html  # README's lesson names link to the pages


def test_pages_load_nothing_from_the_network(book):
    for page in [book.index, *book.lessons]:
        html = page.read_text(encoding="utf-8")
        tags = re.findall(r"<(?:script|link|img)\b[^>]*>", html)
        remote = [tag for tag in tags if re.search(r'(?:src|href)="(?:https?:)?//', tag)]
        assert remote == [], page.name


def test_exercises_are_listed_and_solutions_folded(book):
    exercises = (book.index.parent / "exercises.html").read_text(encoding="utf-8")
    with_exercises = [page.name for page in book.lessons
                      if 'id="exercises"' in page.read_text(encoding="utf-8")]
    assert f"{LESSON}.html" in with_exercises
    assert re.findall(r'href="([^"#]+)#exercises"', exercises) == with_exercises
    lesson = (book.index.parent / f"{LESSON}.html").read_text(encoding="utf-8")
    assert "check_exercise" in lesson and "tag_hide-input" in lesson
    assert "NBVAL_CHECK_OUTPUT" not in lesson


def test_missing_tools_give_one_line_naming_the_extra(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr("aigc_tf.book.website.missing_tools", lambda: ["myst_nb"])
    assert main(["book", str(tmp_path / "site")]) == 2
    message = capsys.readouterr().err.strip()
    assert len(message.splitlines()) == 1 and "aigc_tf[book]" in message


def test_broken_links_and_images_are_reported_and_a_rebuild_replaces_the_book(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Front\n\n[gone](missing_page.md) and ![lost](missing.png)\n")
    result = build_book(tmp_path / "site", notebooks=course_notebooks()[:1], readme=readme)
    assert any("missing_page.md" in line for line in result.warnings)
    assert any("missing.png" in line for line in result.warnings)
    readme.write_text("# Front, fixed\n")
    again = build_book(tmp_path / "site", notebooks=course_notebooks()[:1], readme=readme)
    assert again.warnings == []  # the earlier book was replaced, not merged
    assert "Front, fixed" in again.index.read_text(encoding="utf-8")


def test_refuses_a_folder_that_is_not_a_book(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty"):
        build_book(tmp_path, notebooks=course_notebooks()[:1])


class Chromium:
    """Headless Chromium driven over ``--remote-debugging-pipe`` (no extra package needed)."""

    def __init__(self, profile):
        to_browser, self._to_browser = os.pipe()
        self._from_browser, from_browser = os.pipe()

        def child_pipes():  # Chromium reads commands on fd 3 and answers on fd 4
            os.dup2(to_browser, 3)
            os.dup2(from_browser, 4)

        self.process = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--remote-debugging-pipe", f"--user-data-dir={profile}", "--no-first-run",
             "--disable-background-networking", "--disable-component-update",
             "--host-resolver-rules=MAP * ~NOTFOUND", "about:blank"],
            pass_fds=(3, 4), preexec_fn=child_pipes,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser)
        os.close(from_browser)
        self._buffer, self._next_id, self.events = b"", 0, []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target,
                                 flatten=True)["sessionId"]
        self.call("Network.enable", session=True)
        self.call("Page.enable", session=True)
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=1280, height=900,
                  deviceScaleFactor=1, mobile=False)

    def call(self, method, session=False, **params):
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def _read(self, timeout=60):
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed its pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def open(self, url):
        """Load ``url``, wait for its load event and MathJax; return the page report."""
        self.events.clear()
        self.call("Page.navigate", session=True, url=url)
        while not any(event.get("method") == "Page.loadEventFired" for event in self.events):
            self.events.append(self._read())
        return self.evaluate(PAGE_REPORT)

    def evaluate(self, expression):
        """The JSON value of a JavaScript expression (awaited when it is a promise)."""
        result = self.call("Runtime.evaluate", session=True, expression=expression,
                           awaitPromise=True, returnByValue=True)
        return json.loads(result["result"]["value"])

    def requests(self):
        return [event["params"]["request"]["url"] for event in self.events
                if event.get("method") == "Network.requestWillBeSent"]

    def screenshot(self, path, scroll_to=None):
        if scroll_to:
            self.evaluate(f"document.querySelector({json.dumps(scroll_to)}).scrollIntoView();"
                          "new Promise(done => setTimeout(() => done('null'), 300))")
        data = self.call("Page.captureScreenshot", session=True, format="png")["data"]
        Path(path).write_bytes(__import__("base64").b64decode(data))
        return path

    def close(self):
        self.call("Browser.close")
        self.process.wait(timeout=30)
        os.close(self._to_browser)
        os.close(self._from_browser)


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("headless Chromium not installed (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="aigc_tf-chromium-") as profile:
        chromium = Chromium(profile)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = os.environ.get("AIGC_TF_BOOK_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        return Path(folder)
    return tmp_path_factory.mktemp("shots")


def _check_page(report, site, requests):
    assert [image["src"] for image in report["images"] if image["width"] == 0] == []
    assert report["typeset"] == report["math"]
    assert report["rawTex"] == 0
    for link in report["links"]:
        url = urlparse(link)
        if url.scheme != "file":
            continue
        target = Path(unquote(url.path))
        assert target.is_relative_to(site) and target.exists(), link
        if url.fragment and target.suffix == ".html":
            assert f'id="{url.fragment}"' in target.read_text(encoding="utf-8"), link
    assert [url for url in requests if not url.startswith(("file:", "data:"))] == []


def test_index_in_the_browser(book, browser, shots):
    report = browser.open(book.index.as_uri())
    _check_page(report, book.index.parent, browser.requests())
    assert report["toc"][:2] == ["Basics", "GANs"]
    browser.screenshot(shots / "book_index.png")


def test_lesson_page_in_the_browser(book, browser, shots):
    page = book.index.parent / f"{LESSON}.html"
    report = browser.open(page.as_uri())
    _check_page(report, book.index.parent, browser.requests())
    assert report["math"] > 10 and len(report["images"]) > 5
    assert "DCGAN" in report["title"]
    browser.screenshot(shots / "book_lesson_top.png")
    browser.screenshot(shots / "book_lesson_math.png", scroll_to="div.math")
    browser.screenshot(shots / "book_lesson_figure.png", scroll_to="img")
    browser.screenshot(shots / "book_lesson_exercises.png", scroll_to="#exercises")


def test_search_finds_the_lesson_in_the_browser(book, browser, shots):
    search = book.index.parent / "search.html"
    browser.open(f"{search.as_uri()}?q=discriminator")
    found = browser.evaluate(SEARCH_RESULTS)
    assert f"{LESSON}.html" in found
    browser.screenshot(shots / "book_search.png")


def test_front_page_images_are_copied_and_without_a_checkout_become_alt_text(tmp_path):
    (tmp_path / "repo" / "figs").mkdir(parents=True)
    (tmp_path / "repo" / "figs" / "grid.png").write_bytes(b"png")
    page = ("![A grid](figs/grid.png) and ![gone](figs/missing.png) and "
            "![web](https://example.org/a.png)")
    placed = place_front_page_images(page, tmp_path / "repo", tmp_path / "src")
    assert placed == page  # the missing one stays, for the build to report

    assert (tmp_path / "src" / "figs" / "grid.png").read_bytes() == b"png"
    assert place_front_page_images(page, None, tmp_path / "src2").startswith("*A grid*")
