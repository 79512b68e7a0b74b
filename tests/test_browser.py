"""The report in a real browser (headless Chromium through Selenium): the index's bias map and crossover
are drawn, the claims table filters and sorts, and the study pages link to each other.

Skipped where Chromium or its driver is not installed, except where REQUIRE_BROWSER=1 (CI installs both
and sets it, so there the test cannot quietly skip).
"""

import os
import shutil

import pytest

from suite.claims import Claim
from suite.report import write_report
from suite.store.write import Writer
from suite.studies import PROFILES, Study, Task
from test_report import fill

# sets a marker if any of it ever runs as markup or script
HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 1">'
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
DRIVER = shutil.which("chromedriver")


def _browser():
    if not (CHROMIUM and DRIVER):
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but no browser: chromium={CHROMIUM}, chromedriver={DRIVER}")
        pytest.skip("needs chromium and chromedriver (Debian: apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # as on the machines this runs on: root, no screen, no network to reach
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=webdriver.ChromeService(executable_path=DRIVER), options=options)


def _study(name, claims, crossover=None):
    return Study(name=name, question=f"Question of {name}?", claim=f"Claim of {name}.", expected="expected",
                 claims=claims, sizes={p: (50, 100) for p in PROFILES}, seeds={p: 3 for p in PROFILES},
                 datasets={p: ("digits",) for p in PROFILES}, crossover=crossover)


def _report(tmp_path):
    """Two studies in the lesson's order, four claims (one a control), a crossover with a reference."""
    first = _study("images", (
        Claim(text="the cnn beats the mlp", a={"arch": "cnn"}, b={"arch": "mlp"}, cell=("locality", "images")),
        Claim(text="the mlp beats the cnn", a={"arch": "mlp"}, b={"arch": "cnn"}, cell=("locality", "images")),
        Claim(text="Control: the mlp equals itself permuted", a={"arch": "mlp"}, b={"arch": "mlp", "variant": "p"},
              test="negligible", margin=0.5, control=True),
    ), crossover=("mlp", ("natural",)))
    second = _study("sequences", (
        Claim(text="the lstm beats the mlp", a={"arch": "lstm"}, b={"arch": "mlp"}, cell=("order", "sequences")),))
    tasks = {"images": [Task(name=f"images/{a}", study="images", dataset="digits", arch=a) for a in ("cnn", "mlp")],
             "sequences": [Task(name=f"sequences/{a}", study="sequences", dataset="digits", arch=a)
                           for a in ("lstm", "mlp")]}
    # a hostile task name, as in the report's escaping test: in the browser it must stay inert text
    tasks["sequences"].append(Task(name=HOSTILE, study="sequences", dataset="digits", arch=HOSTILE))
    # the cnn leads at 50 examples and falls behind at 100: a crossover between them
    score = {"cnn": lambda n, s: (0.8 if n == 50 else 0.6) + 0.01 * s, "mlp": lambda n, s: 0.7,
             "lstm": lambda n, s: 0.9 + 0.01 * s, HOSTILE: lambda n, s: 0.5}
    with Writer(tmp_path / "results.sqlite") as store:
        for position, s in enumerate((first, second)):
            fill(store, tasks[s.name], s, profile="smoke", sizes=(50, 100),
                 score=lambda t, n, seed: score[t.arch](n, seed))
            store.record_study(s, "smoke", {"max_steps": 1}, position)
        return write_report(store, tmp_path / "index.html")


def _check_page(browser, By, shots, name):
    """Every figure drawn with a size, no console errors, the hostile name inert; a screenshot."""
    figures = browser.find_elements(By.CSS_SELECTOR, ".figure svg")
    assert figures and all(f.size["width"] > 0 and f.size["height"] > 0 for f in figures), name
    assert browser.execute_script("return window.__pwned === undefined"), f"{name}: the hostile name ran"
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], (name, errors)
    browser.save_screenshot(str(shots / f"{name}.png"))


def test_the_index_filters_its_claims_and_the_pages_link_up(tmp_path):
    index = _report(tmp_path)
    assert sorted(p.name for p in tmp_path.glob("*.html")) == ["images.html", "index.html", "sequences.html"]
    assert index.stat().st_size < 400_000
    shots = tmp_path / "screenshots"
    shots.mkdir()
    browser = _browser()
    try:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select

        browser.set_window_size(1280, 2000)
        browser.get(index.as_uri())
        assert browser.find_element(By.CSS_SELECTOR, "#bias-map + .figure svg").is_displayed()
        assert browser.find_element(By.CSS_SELECTOR, "#crossover + .figure svg").is_displayed()
        assert browser.find_elements(By.CSS_SELECTOR, ".warn.smoke")  # smoke verdicts say what they are
        _check_page(browser, By, shots, "index")
        crossing = browser.find_element(By.ID, "crossover").find_element(By.XPATH, "following::table[1]")
        assert not crossing.is_displayed()  # folded away under its summary until asked for
        browser.find_element(By.XPATH, "//summary[starts-with(., 'The crossover as a table')]").click()
        assert crossing.is_displayed() and "(loses the lead)" in crossing.text  # the cnn's lead ends
        rows = browser.find_elements(By.CSS_SELECTOR, "#claims-table tbody tr")
        visible = lambda: [r for r in rows if r.is_displayed()]  # noqa: E731
        assert len(visible()) == 4
        Select(browser.find_element(By.ID, "filter-verdict")).select_by_visible_text("supported")
        shown = visible()
        assert shown and all("supported" in r.text for r in shown) and len(shown) < 4
        assert browser.find_element(By.ID, "filter-count").text == f"{len(shown)} of 4 claims"
        Select(browser.find_element(By.ID, "filter-verdict")).select_by_visible_text("all")
        text = browser.find_element(By.ID, "filter-text")
        text.send_keys("sequences")  # a study's name leaves only that study's rows
        assert [r.text.split()[0] for r in visible()] == ["sequences"]
        text.clear()
        text.send_keys("no claim says this")
        assert visible() == []
        text.clear()
        text.send_keys(" ")  # the input event with an all-blank filter shows everything again
        assert len(visible()) == 4
        # sorting by study puts "images" rows first, then (clicked again) last
        header = browser.find_element(By.CSS_SELECTOR, "#claims-table th.sortable")
        header.click()
        assert browser.find_elements(By.CSS_SELECTOR, "#claims-table tbody tr")[0].text.startswith("images")
        header.click()
        assert browser.find_elements(By.CSS_SELECTOR, "#claims-table tbody tr")[0].text.startswith("sequences")
        # every link of the index resolves to a page that exists, and to its anchor
        links = {a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "a[href]")}
        for link in sorted(links):
            browser.get(link)
            assert browser.current_url.startswith("file://") and "ERR_FILE_NOT_FOUND" not in browser.page_source
            if "#" in link:
                assert browser.find_elements(By.ID, link.split("#", 1)[1]), link
        # the pages: index -> first study -> next -> back to the index
        browser.get(index.as_uri())
        browser.find_element(By.LINK_TEXT, "images").click()
        assert browser.current_url.endswith("/images.html")
        assert browser.find_element(By.ID, "study-images").is_displayed()
        _check_page(browser, By, shots, "images")
        browser.find_element(By.PARTIAL_LINK_TEXT, "sequences").click()
        assert browser.current_url.endswith("/sequences.html")
        _check_page(browser, By, shots, "sequences")
        browser.find_element(By.LINK_TEXT, "index").click()
        assert browser.current_url.endswith("/index.html")
        print(f"screenshots: {shots}")
    finally:
        browser.quit()


def test_a_real_smoke_report_opens_with_every_figure_drawn_and_every_link_resolved(smoke_run, tmp_path):
    """The same checks on what the suite itself writes: the smoke run of every study, its index and pages."""
    report = smoke_run.output
    shots = tmp_path / "screenshots"
    shots.mkdir()
    browser = _browser()
    try:
        from selenium.webdriver.common.by import By

        browser.set_window_size(1280, 2000)
        index = (report / "index.html").as_uri()
        browser.get(index)
        _check_page(browser, By, shots, "smoke-index")
        assert browser.find_element(By.CSS_SELECTOR, "#bias-map + .figure svg").is_displayed()
        assert browser.find_element(By.CSS_SELECTOR, "#crossover + .figure svg").is_displayed()
        links = sorted({a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "a[href]")})
        assert any(link.endswith("/locality.html") for link in links)
        for link in links:
            browser.get(link)
            assert "ERR_FILE_NOT_FOUND" not in browser.page_source, link
            if "#" in link:
                assert browser.find_elements(By.ID, link.split("#", 1)[1]), link
        pages = sorted(p for p in report.glob("*.html") if p.name != "index.html")
        assert len(pages) == smoke_run.query("SELECT COUNT(*) FROM studies")[0][0]  # a page per study
        for page in pages:  # every study's page, its figures drawn
            browser.get(page.as_uri())
            _check_page(browser, By, shots, f"smoke-{page.stem}")
            assert browser.find_elements(By.CSS_SELECTOR, ".warn.smoke")
        print(f"screenshots: {shots}")
    finally:
        browser.quit()


def test_single_page_holds_every_study(tmp_path):
    _report(tmp_path)
    with Writer(tmp_path / "results.sqlite") as store:
        write_report(store, tmp_path / "one" / "index.html", single_page=True)
    assert [p.name for p in (tmp_path / "one").glob("*.html")] == ["index.html"]
    html = (tmp_path / "one" / "index.html").read_text()
    assert 'id="study-images"' in html and 'id="study-sequences"' in html
    assert html.index('id="study-images"') < html.index('id="study-sequences"')  # the lesson's order
    assert 'href="#study-sequences"' in html
