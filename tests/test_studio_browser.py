"""The studio served on a free loopback port with a tiny model, driven by gradio_client and by a
headless Chromium (Playwright, Debian's /usr/bin/chromium; no browser is ever downloaded)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
pytest.importorskip("gradio", reason="the studio needs gradio (pip install 'tunegan[studio]')")
pytest.importorskip("gradio_client", reason="gradio_client is needed to call the studio's API")

from test_studio_handlers import midi_file, train_tiny  # noqa: E402

CHROMIUM = os.environ.get("TUNEGAN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
WAIT_MS = 180_000  # a generation on a busy 2-core machine
MAX_QUEUE = 3       # the test studio's queue: three requests wait ...
CONCURRENCY = 2     # ... while two are being made
BURST = 8           # requests sent at the same moment
STUDIO: dict = {}   # the served page, for tests that hold its generation back


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def studio_url(tmp_path_factory):
    from tunegan.studio.app import build_studio, launch_studio

    root = tmp_path_factory.mktemp("studio-browser")
    demo = build_studio(train_tiny(root), work_dir=root / "work")
    port = free_port()
    launch_studio(demo, host="127.0.0.1", port=port, block=False, quiet=True, max_queue=MAX_QUEUE,
                  concurrency=CONCURRENCY)
    STUDIO["demo"] = demo
    yield f"http://127.0.0.1:{port}/"
    demo.close()


def test_api_generate_returns_files(studio_url, tmp_path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    client = Client(studio_url, verbose=False, download_files=str(tmp_path))
    assert "/generate" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    out = client.predict(notes="C4 E4 G4", bars=2, tempo=120, seed=4, sheet_music=False, api_name="/generate")
    wav, roll, sheet, sheet_note, summary, table, files, status, history = out
    assert Path(wav).read_bytes()[:4] == b"RIFF" and Path(roll).read_bytes()[:4] == b"\x89PNG" and sheet is None
    assert sorted(Path(f).suffix for f in files) == [".mid", ".musicxml", ".wav"]
    assert table["data"][0][1] == "C4 (60)" and "seed 4" in status and "Key:" in summary
    assert history["data"][0][1] == 4
    # the speed slider counts once chosen; left alone, the piece takes its style's speed and says which
    out = client.predict(notes="C4 E4 G4", bars=2, tempo=133, own_tempo=True, seed=4, sheet_music=False,
                         api_name="/generate")
    assert "at 133 beats per minute" in out[7]
    out = client.predict(notes="C4 E4 G4", bars=2, tempo=133, seed=4, sheet_music=False, api_name="/generate")
    assert "at 133 beats per minute" not in out[7] and "beats per minute" in out[7]
    with pytest.raises(AppError, match="Starting notes: 'H4' is not a note name"):
        client.predict(notes="H4", api_name="/generate")
    (tmp_path / "notes.mid").write_text("not music")
    with pytest.raises(AppError, match="'notes.mid' is not a MIDI file"):
        client.predict(midi_file=handle_file(str(tmp_path / "notes.mid")), api_name="/generate")
    big = tmp_path / "big.mid"
    big.write_bytes(b"MThd" + bytes(1_500_000))
    with pytest.raises(Exception, match="exceeds the maximum file size of 1000000 bytes"):
        client.predict(midi_file=handle_file(str(big)), api_name="/generate")
    up = midi_file(tmp_path / "tune.mid")
    out = client.predict(midi_file=handle_file(str(up)), bars=1, sheet_music=False, api_name="/generate")
    assert out[5]["data"][0][1] == "C4 (60)"


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt install chromium, or set TUNEGAN_CHROMIUM)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_make_music_in_the_browser(studio_url, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    outside = []
    page.on("request", lambda r: outside.append(r.url)
            if not r.url.startswith((studio_url.rstrip("/"), "data:", "blob:")) else None)
    page.goto(studio_url, wait_until="load")
    page.wait_for_selector("#generate", timeout=60_000)
    for key in ("C4", "E4", "G4", "Cs5"):
        page.click(f"#key-{key}")
    notes = page.locator("#notes textarea")
    page.wait_for_function("() => document.querySelector('#notes textarea').value === 'C4 E4 G4 C#5'", timeout=10_000)
    page.get_by_role("button", name="⌫ Remove last").click()
    page.wait_for_function("() => document.querySelector('#notes textarea').value === 'C4 E4 G4'", timeout=10_000)
    page.click("#generate")
    page.wait_for_selector("#status :text('Made 8 bars')", timeout=WAIT_MS)
    page.wait_for_selector("#result-audio audio", state="attached")
    audio = page.locator("#result-audio a[download]").first.get_attribute("href")
    assert audio.endswith(".wav")
    links = [a.get_attribute("href") for a in page.locator("#result-files a").all()]
    assert sorted(Path(link).suffix for link in links) == [".mid", ".musicxml", ".wav"]
    assert page.locator("#result-pianoroll img").count() == 1
    assert page.locator("#history").get_by_text("C4 E4 G4").count() >= 1
    assert notes.input_value() == "C4 E4 G4"
    page.screenshot(path=str(tmp_path / "studio-result.png"), full_page=True)
    before = page.locator("#status").inner_text()
    page.click("#another")  # same settings, new seed: a new status line and a second row in the history
    page.wait_for_function("(b) => { const t = document.querySelector('#status').innerText;"
                           " return t !== b && t.includes('Made'); }", arg=before, timeout=WAIT_MS)

    notes.fill("C4 H4")
    page.click("#generate")
    page.get_by_text("'H4' is not a note name").first.wait_for(timeout=60_000)
    page.screenshot(path=str(tmp_path / "studio-error.png"))
    assert "Traceback" not in page.content()

    page.get_by_role("tab", name="Learn").click()
    page.get_by_text("C4, then C5 (an octave higher)").first.wait_for(timeout=30_000)
    page.get_by_role("button", name="5. Keys and transposition").click()
    page.get_by_text("Ode to Joy in C major").first.wait_for(timeout=30_000)
    page.screenshot(path=str(tmp_path / "studio-learn.png"), full_page=True)
    assert outside == []  # works offline: nothing but the studio itself is fetched
    keep = os.environ.get("TUNEGAN_SCREENSHOTS")
    if keep:  # copy the screenshots somewhere to look at them
        for png in tmp_path.glob("studio-*.png"):
            shutil.copy(png, Path(keep) / png.name)


def test_a_burst_gets_busy_not_a_crash(studio_url):
    """More requests at once than the queue holds: the extra ones are told to try again, the rest are
    answered, and the server carries on. Generation is held back until the extra requests have been
    turned away, so the queue is full however fast the machine is."""
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client

    batcher = STUDIO["demo"].batcher
    made, gate, lock = batcher.generate, threading.Event(), threading.Lock()
    turned_away = [0]

    def held(**kw):
        gate.wait(timeout=120)
        return made(**kw)

    clients = [Client(studio_url, verbose=False) for _ in range(BURST)]
    start = threading.Barrier(BURST)

    def call(i):
        start.wait()
        try:
            clients[i].predict(notes="C4", bars=1, seed=i, sheet_music=False, api_name="/generate")
            return "ok"
        except Exception as e:  # noqa: BLE001
            with lock:
                turned_away[0] += 1
                if turned_away[0] >= BURST - CONCURRENCY - MAX_QUEUE:
                    gate.set()
            return str(e)

    batcher.generate = held
    try:
        with ThreadPoolExecutor(BURST) as pool:
            answers = list(pool.map(call, range(BURST)))
    finally:
        gate.set()
        batcher.generate = made
    busy = [a for a in answers if a != "ok"]
    assert answers.count("ok") >= MAX_QUEUE and busy, answers
    assert all("queue is full" in a.lower() and "try again" in a.lower() for a in busy), busy
    assert clients[0].predict(notes="E4", bars=1, sheet_music=False, api_name="/generate")[7].startswith("Made")
