"""vaegan-vc serve: the HTTP API's answers and refusals, on a real local server with the bundled model."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import socket
import urllib.error
import urllib.request
from urllib.parse import urlparse

import numpy as np
import pytest
import soundfile as sf

import vaegan_vc
from conftest import vcc_file
from vaegan_vc.web.pool import Busy, ConversionPool
from vaegan_vc.web.server import create_app
from vaegan_vc.web.uploads import Limits
from web_server import running

MODEL = "vcc2016-4"


@pytest.fixture(scope="module")
def vc():
    return vaegan_vc.load(MODEL, vocoder="griffin-lim")


@pytest.fixture(scope="module")
def url(vc):
    with running(create_app(vc, MODEL, Limits(max_bytes=2 * 2**20, max_seconds=20))) as base:
        yield base


def post(url: str, body: bytes, query: str) -> tuple[int, dict]:
    request = urllib.request.Request(f"{url}/api/convert?{query}", data=body, method="POST",
                                     headers={"Content-Type": "application/octet-stream"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wav_file(wav: np.ndarray, sr: int, fmt: str = "WAV") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, wav, sr, format=fmt)
    return buffer.getvalue()


def test_voices_lists_the_model(url):
    with urllib.request.urlopen(f"{url}/api/voices") as response:
        info = json.loads(response.read())
    assert info["voices"] == ["SF1", "TM1", "SM1", "TF1"] and info["pitch_aware"] is True
    assert info["max_upload_mb"] == 2 and info["max_seconds"] == 20


def test_page_and_assets_are_served_locally(url):
    with urllib.request.urlopen(url + "/") as response:
        page = response.read().decode()
    assert "static/app.js" in page and "http" not in page.replace("http-equiv", "")  # no CDN
    for asset in ("app.js", "style.css"):
        with urllib.request.urlopen(f"{url}/static/{asset}") as response:
            assert response.status == 200 and len(response.read()) > 100


def test_convert_returns_a_wav_of_the_input_length_and_two_spectrograms(url):
    data = vcc_file("SF1", "100003").read_bytes()
    seconds = sf.info(str(vcc_file("SF1", "100003"))).duration
    status, answer = post(url, data, "target=TM1&pitch_shift=-2")
    assert status == 200, answer
    wav, sr = sf.read(io.BytesIO(base64.b64decode(answer["audio"].split(",", 1)[1])))
    assert sr == 22050 and abs(len(wav) / sr - seconds) < 0.02 and np.abs(wav).max() > 0.01
    for key in ("source_spectrogram", "converted_spectrogram"):
        assert base64.b64decode(answer[key].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert answer["target"] == "TM1" and answer["pitch_shift"] == -2


def test_stereo_44k_upload_converts(url):
    wav, sr = sf.read(str(vcc_file("TM1", "100004")), dtype="float32")
    status, answer = post(url, wav_file(np.stack([wav, wav], axis=1), sr), "target=SF1")
    assert status == 200 and answer["input_seconds"] == pytest.approx(len(wav) / sr, abs=1e-3)


@pytest.mark.parametrize("body, query, status, words", [
    (b"", "target=TM1", 400, "empty"),
    (b"this is a text file, not a recording" * 10, "target=TM1", 415, "not an audio file"),
    (b"RIFF\x00\x00\x00\x00WAVEfmt garbage", "target=TM1", 415, "not an audio file"),
    ("silence", "target=TM1", 422, "silent"),
    ("five_channels", "target=TM1", 422, "5 channels"),
    ("too_long", "target=TM1", 413, "at most 20 s"),
    ("too_big", "target=TM1", 413, "larger than"),
    ("speech", "target=XX", 400, "unknown voice 'XX'"),
    ("speech", "target=TM1&pitch_shift=25", 400, "between -24"),
    ("speech", "target=TM1&pitch_shift=up", 400, "number of semitones"),
])
def test_bad_requests_get_a_clear_4xx(url, body, query, status, words):
    noise = np.random.default_rng(0).normal(0, 0.1, (22050, 5)).astype(np.float32)
    bodies = {"silence": wav_file(np.zeros(16000, np.float32), 16000),
              "five_channels": wav_file(noise, 22050),
              "too_long": wav_file(np.full(8000 * 21, 0.1, np.float32), 8000, "FLAC"),
              "too_big": np.ones(2 * 2**20 + 10, np.uint8).tobytes(),
              "speech": vcc_file("SF1", "100003").read_bytes()}
    got, answer = post(url, bodies.get(body, body), query)
    assert got == status and words in answer["error"], answer
    assert "Traceback" not in answer["error"]


def test_client_that_leaves_mid_upload_does_not_harm_the_server(url):
    host, port = urlparse(url).hostname, urlparse(url).port
    with socket.create_connection((host, port)) as s:
        s.sendall(b"POST /api/convert?target=TM1 HTTP/1.1\r\nHost: x\r\nContent-Length: 500000\r\n\r\n" + b"\0" * 1000)
    status, _ = post(url, vcc_file("SF1", "100003").read_bytes(), "target=TF1")
    assert status == 200


def test_pool_refuses_beyond_workers_plus_queue():
    pool = ConversionPool(workers=1, queue=1)
    with pool.slot(), pool.slot():
        assert pool.in_use == 2
        with pytest.raises(Busy):
            with pool.slot():
                pass
    assert pool.in_use == 0
    with pool.slot():
        assert asyncio.run(pool.run(sum, [1, 2])) == 3
    pool.close()


def test_busy_server_answers_503_not_an_error(vc):
    app = create_app(vc, MODEL, workers=1, queue=0)
    with running(app) as base:
        pool = app.state.service.pool
        with pool.slot():  # the one worker is taken
            status, answer = post(base, vcc_file("SF1", "100003").read_bytes(), "target=TM1")
    assert status == 503 and "busy" in answer["error"]


def test_serve_listens_on_localhost_by_default():
    from vaegan_vc.cli import build_parser

    args = build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1" and args.model is None and args.workers == 1
