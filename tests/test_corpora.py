"""data fetch: tiny archives in the official layouts, served over loopback HTTP, folders and file URLs."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import os
import tarfile
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vaegan_vc.data import corpora
from vaegan_vc.data.corpora import CORPORA, Checksum, download, fetch
from vaegan_vc.errors import VaeganError

SR = 16000
SHARED_VCC = Path(__file__).parents[2] / "shared/data/vcc2016"


# ----------------------------------------------------------------------------- tiny corpora


def _audio(seconds: float, seed: int) -> np.ndarray:
    """Noise, so that every file (and every cut) has distinct int16 samples."""
    rng = np.random.default_rng(seed)
    return (rng.uniform(-0.5, 0.5, int(seconds * SR)) * 32767).astype(np.int16)


def _encoded(wav: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, wav, SR, format=fmt, subtype="PCM_16")
    return buf.getvalue()


def _tar(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _vcc_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for i, speaker in enumerate(["SF1", "TF2", "TM1"]):
            for utt in (100001, 100002, 100003):
                archive.writestr(f"vcc2016_training/{speaker}/{utt}.wav", _encoded(_audio(0.1, i * 10 + utt), "WAV"))
        archive.writestr("vcc2016_training/README", b"readme")
    return path


def _flickr_tar(path: Path) -> Path:
    files, lines = {}, []
    for speaker in ("4", "7", "17"):
        for k in range(2):
            name = f"{1000 + int(speaker)}_{k:02d}abc_{k}.wav"
            files[f"flickr_audio/wavs/{name}"] = _encoded(_audio(0.1, int(speaker) * 7 + k), "WAV")
            lines.append(f"{name} {speaker}")
    # The speaker list comes after the wavs here: the worst case for a single streamed pass.
    files["flickr_audio/wav2spk.txt"] = ("\n".join(lines) + "\n").encode()
    return _tar(path, files)


LIBRI_SPEAKERS = """\
; Some comment
;ID  |SEX| SUBSET           |MINUTES| NAME
19   | F | train-clean-100  | 25.19 | Kara Shallenberg
84   | F | dev-clean        |  8.02 | Christie Nowak
174  | M | dev-clean        |  8.04 | Peter Eastman
251  | M | dev-clean        |  8.04 | Mark Nelson
"""


def _librispeech_tar(path: Path) -> Path:
    files = {"LibriSpeech/SPEAKERS.TXT": LIBRI_SPEAKERS.encode()}
    for split, speaker, chapter in [("train-clean-100", "19", "198"), ("dev-clean", "84", "121123"),
                                    ("dev-clean", "174", "50561"), ("dev-clean", "251", "136532")]:
        folder = f"LibriSpeech/{split}/{speaker}/{chapter}"
        for utt in range(3):
            files[f"{folder}/{speaker}-{chapter}-{utt:04d}.flac"] = _encoded(_audio(0.1, int(speaker) + utt), "FLAC")
        files[f"{folder}/{speaker}-{chapter}.trans.txt"] = b"0000 HELLO\n"
    return _tar(path, files)


TED_STM = {
    "TalkA_2010": (
        "TalkA_2010 1 TalkA_2010 0.00 0.50 <o,f0,female> ignore_time_segment_in_scoring\n"
        "TalkA_2010 1 TalkA_2010 0.50 1.20 <o,f0,female> hello there\n"
        "TalkA_2010 1 Host 1.20 1.40 <o,f0,male> a question\n"
        "TalkA_2010 1 TalkA_2010 1.40 2.00 <o,f0,female> and then\n"
        "TalkA_2010 1 TalkA_2010 2.00 2.90 <o,f0,female> the end\n"
    ),
    "TalkB_2012": "TalkB_2012 1 TalkB_2012 0.10 0.90 <o,f0,male> only one\n",
    "TalkC_2015": "TalkC_2015 1 TalkC_2015 0.10 0.90 <o,f0,male> never reached\n",
}


def _ted_files() -> dict[str, bytes]:
    """Sound files first, transcripts after: the cutter must hold a talk until its .stm arrives."""
    files = {}
    for i, talk in enumerate(TED_STM):
        files[f"TEDLIUM_release-3/data/sph/{talk}.sph"] = _encoded(_audio(3.0, 500 + i), "NIST")
    for talk, stm in TED_STM.items():
        files[f"TEDLIUM_release-3/data/stm/{talk}.stm"] = stm.encode()
    files["TEDLIUM_release-3/legacy/dev/sph/Other_2009.sph"] = _encoded(_audio(1.0, 9), "NIST")
    files["TEDLIUM_release-3/legacy/dev/stm/Other_2009.stm"] = b"Other_2009 1 Other_2009 0.0 0.5 <o> x\n"
    return files


def _read_record(dest: Path) -> dict:
    return json.loads((dest / "corpus.json").read_text())


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ----------------------------------------------------------------------------- loopback server


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves server.root with Range support; server.cut[name] = n sends n bytes then hangs up once."""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        server = self.server
        name = self.path.lstrip("/")
        server.requests.append((name, self.headers.get("Range")))
        path = server.root / name
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start = int(self.headers["Range"].removeprefix("bytes=").rstrip("-")) if self.headers.get("Range") else 0
        if start >= len(data) > 0:
            self.send_error(416)
            return
        body = data[start:]
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        cut = server.cut.pop(name, None)
        self.wfile.write(body if cut is None else body[:cut])
        self.close_connection = cut is not None

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)  # loopback only
    httpd.root, httpd.requests, httpd.cut = root, [], {}
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def vcc_url(server):
    _vcc_zip(server.root / "vcc2016_training.zip")
    return f"{server.url}/vcc2016_training.zip"


# ----------------------------------------------------------------------------- arguments


def test_unknown_corpus_lists_the_known_ones(tmp_path):
    with pytest.raises(VaeganError, match="unknown corpus 'timit'.*" + ".*".join(CORPORA)):
        fetch("timit", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_subsets_are_checked(tmp_path):
    with pytest.raises(VaeganError, match="vcc2016 has no subsets"):
        fetch("vcc2016", tmp_path / "a", subset="dev", progress=False)
    with pytest.raises(VaeganError, match="unknown librispeech subset 'dev-cleen'.*dev-clean"):
        fetch("librispeech", tmp_path / "b", subset="dev-cleen", progress=False)


# ----------------------------------------------------------------------------- downloads


def test_vcc2016_download_makes_speaker_folders_and_record(tmp_path, server, vcc_url):
    dest = fetch("vcc2016", tmp_path / "vcc", source=vcc_url, speakers=["SF1", "tm1"], progress=False)
    assert sorted(p.name for p in dest.iterdir()) == ["SF1", "TM1", "corpus.json"]
    assert sorted(p.name for p in (dest / "SF1").iterdir()) == ["100001.wav", "100002.wav", "100003.wav"]
    wav, sr = sf.read(dest / "TM1/100002.wav", dtype="int16")
    assert sr == SR and np.array_equal(wav, _audio(0.1, 2 * 10 + 100002))
    record = _read_record(dest)
    assert record["corpus"] == "vcc2016" and record["files"] == 6
    assert record["speakers"] == {"SF1": {"id": "SF1", "files": 3}, "TM1": {"id": "TM1", "files": 3}}
    assert record["source"]["url"] == vcc_url
    assert record["source"]["sha256"] == _sha256(server.root / "vcc2016_training.zip")
    assert "not verified" in record["source"]["check"]
    assert "CC BY 4.0" in record["licence"] and "Toda" in record["citation"]


def test_download_resumes_a_partial_file_with_range(tmp_path, server, vcc_url):
    full = (server.root / "vcc2016_training.zip").read_bytes()
    target = tmp_path / "dl" / "vcc2016_training.zip"
    target.parent.mkdir()
    target.with_name(".vcc2016_training.zip.partial").write_bytes(full[:1000])
    record = download(vcc_url, target, progress=False)
    assert server.requests == [("vcc2016_training.zip", "bytes=1000-")]
    assert target.read_bytes() == full
    assert record["sha256"] == hashlib.sha256(full).hexdigest()
    assert not target.with_name(".vcc2016_training.zip.partial").exists()


def test_network_failure_is_resumable_by_running_again(tmp_path, server, vcc_url):
    server.cut["vcc2016_training.zip"] = 700
    dest = tmp_path / "vcc"
    with pytest.raises(VaeganError, match=f"{vcc_url}.*run the same command again to resume"):
        fetch("vcc2016", dest, source=vcc_url, progress=False)
    part = dest / corpora.DOWNLOADS / ".vcc2016_training.zip.partial"
    assert part.stat().st_size == 700 and not (dest / "corpus.json").exists()
    fetch("vcc2016", dest, source=vcc_url, progress=False)  # no --force needed: unfinished, so resumed
    assert server.requests[-1] == ("vcc2016_training.zip", "bytes=700-")
    record = _read_record(dest)
    assert record["files"] == 9 and sorted(record["speakers"]) == ["SF1", "TF2", "TM1"]
    assert record["source"]["sha256"] == _sha256(server.root / "vcc2016_training.zip")
    assert not (dest / corpora.DOWNLOADS).exists() and not (dest / corpora.MARKER).exists()


def test_checksum_mismatch_deletes_the_download(tmp_path, server, vcc_url, monkeypatch):
    monkeypatch.setitem(corpora.KNOWN_CHECKSUMS, "vcc2016_training.zip", Checksum("sha256", "0" * 64, "test"))
    dest = tmp_path / "vcc"
    actual = _sha256(server.root / "vcc2016_training.zip")
    with pytest.raises(VaeganError, match=f"vcc2016_training.zip: sha256 mismatch.*{'0' * 64}.*{actual}"):
        fetch("vcc2016", dest, source=vcc_url, progress=False)
    assert list((dest / corpora.DOWNLOADS).iterdir()) == []
    assert not (dest / "corpus.json").exists()


def test_published_md5_is_verified(tmp_path, server, monkeypatch):
    archive = _flickr_tar(server.root / "flickr_audio.tar.gz")
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    monkeypatch.setitem(corpora.KNOWN_CHECKSUMS, "flickr_audio.tar.gz", Checksum("md5", md5, "test"))
    dest = fetch("flickr8k", tmp_path / "f", source=f"{server.url}/flickr_audio.tar.gz", progress=False)
    assert _read_record(dest)["source"]["check"] == "md5 matches the value published by test"


# ----------------------------------------------------------------------------- dest handling


def test_refuses_a_complete_corpus_without_force(tmp_path, server, vcc_url):
    dest = fetch("vcc2016", tmp_path / "vcc", source=vcc_url, speakers=["SF1", "TM1"], progress=False)
    with pytest.raises(VaeganError, match="already holds a corpus; use --force"):
        fetch("vcc2016", dest, source=vcc_url, speakers=["TF2"], progress=False)
    fetch("vcc2016", dest, source=vcc_url, speakers=["TF2"], force=True, progress=False)
    assert sorted(p.name for p in dest.iterdir()) == ["TF2", "corpus.json"]
    assert list(_read_record(dest)["speakers"]) == ["TF2"]


def test_resumes_a_half_finished_dest_reusing_the_download(tmp_path, server, vcc_url):
    dest = tmp_path / "vcc"
    with pytest.raises(VaeganError, match="speaker XX9 not in vcc2016 \\(available: SF1, TF2, TM1\\)"):
        fetch("vcc2016", dest, source=vcc_url, speakers=["XX9"], progress=False)
    assert (dest / corpora.DOWNLOADS / "vcc2016_training.zip").is_file()
    assert not (dest / "corpus.json").exists()
    # An extraction that stopped half-way: a claimed speaker folder with a stray file in it.
    (dest / "SF1").mkdir()
    (dest / "SF1" / "stray.wav").write_bytes(b"half")
    (dest / corpora.MARKER).write_text(json.dumps({"corpus": "vcc2016", "created": ["SF1"]}))
    n_requests = len(server.requests)
    fetch("vcc2016", dest, source=vcc_url, speakers=["SF1"], progress=False)
    assert len(server.requests) == n_requests  # the verified archive was re-used
    assert sorted(p.name for p in (dest / "SF1").iterdir()) == ["100001.wav", "100002.wav", "100003.wav"]


def test_refuses_a_foreign_non_empty_folder(tmp_path, vcc_url):
    dest = tmp_path / "mine"
    dest.mkdir()
    (dest / "notes.txt").write_text("keep me")
    with pytest.raises(VaeganError, match="not empty and holds no corpus"):
        fetch("vcc2016", dest, source=vcc_url, progress=False)
    assert sorted(p.name for p in dest.iterdir()) == ["notes.txt"]


def test_refuses_a_dest_inside_the_source(tmp_path):
    source = tmp_path / "corpus"
    (source / "SF1").mkdir(parents=True)
    with pytest.raises(VaeganError, match="lies inside the source"):
        fetch("vcc2016", source / "out", source=source, progress=False)
    assert not (source / "out").exists()


def test_damaged_archive_is_a_clear_error(tmp_path):
    archive = _librispeech_tar(tmp_path / "dev-clean.tar.gz")
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(VaeganError, match="damaged or truncated archive"):
        fetch("librispeech", tmp_path / "ls", source=broken, speakers=["251"], progress=False)
    assert not (tmp_path / "ls" / "corpus.json").exists()


# ----------------------------------------------------------------------------- the corpora


def test_flickr8k_from_a_file_url_takes_the_default_speakers(tmp_path):
    archive = _flickr_tar(tmp_path / "flickr_src.tar.gz")
    dest = fetch("flickr8k", tmp_path / "f", source=archive.as_uri(), progress=False)
    assert sorted(p.name for p in dest.iterdir()) == ["corpus.json", "spk4", "spk7"]
    assert sorted(p.name for p in (dest / "spk7").iterdir()) == ["1007_00abc_0.wav", "1007_01abc_1.wav"]
    wav, _ = sf.read(dest / "spk4/1004_01abc_1.wav", dtype="int16")
    assert np.array_equal(wav, _audio(0.1, 4 * 7 + 1))
    record = _read_record(dest)
    assert record["speakers"]["spk4"] == {"id": "4", "files": 2} and "CC BY-SA" in record["licence"]
    with pytest.raises(VaeganError, match="speaker 99 not in flickr8k \\(available: 4, 7, 17\\)"):
        fetch("flickr8k", tmp_path / "g", source=archive, speakers=["spk17", "99"], progress=False)


def test_librispeech_from_a_local_archive(tmp_path):
    archive = _librispeech_tar(tmp_path / "my-dev-clean.tar.gz")
    dest = fetch("librispeech", tmp_path / "ls", source=archive, progress=False)
    record = _read_record(dest)
    # One female and one male speaker of dev-clean by default, from SPEAKERS.TXT.
    assert record["speakers"] == {"spk84": {"id": "84", "sex": "F", "files": 3},
                                  "spk174": {"id": "174", "sex": "M", "files": 3}}
    assert sorted(p.name for p in (dest / "spk84").iterdir()) == [f"84-121123-000{i}.flac" for i in range(3)]
    assert record["subset"] == "dev-clean" and "local archive" in record["source"]["check"]
    fetch("librispeech", tmp_path / "ls2", source=archive, subset="train-clean-100", speakers=["19"], progress=False)
    assert _read_record(tmp_path / "ls2")["speakers"]["spk19"]["files"] == 3
    with pytest.raises(VaeganError, match="speaker 19 not in librispeech dev-clean \\(available: 84, 174, 251\\)"):
        fetch("librispeech", tmp_path / "ls3", source=archive, speakers=["19"], progress=False)


def test_tedlium_cuts_the_presenters_segments_from_a_stream(tmp_path):
    archive = _tar(tmp_path / "ted.tgz", _ted_files())
    dest = fetch("tedlium", tmp_path / "ted", source=archive, progress=False)
    record = _read_record(dest)
    assert sorted(record["speakers"]) == ["TalkA_2010", "TalkB_2012"]  # the first two talks found
    talk_a = record["speakers"]["TalkA_2010"]
    # The ignored region and the host's question are left out.
    assert talk_a == {"id": "TalkA_2010", "gender": "female", "segments_of_other_speakers": 1, "files": 3}
    names = sorted(p.name for p in (dest / "TalkA_2010").iterdir())
    assert names == ["TalkA_2010-0000050-0000120.flac", "TalkA_2010-0000140-0000200.flac",
                     "TalkA_2010-0000200-0000290.flac"]
    cut, sr = sf.read(dest / "TalkA_2010" / names[0], dtype="int16")
    assert sr == SR and np.array_equal(cut, _audio(3.0, 500)[int(0.5 * SR) : int(1.2 * SR)])
    assert not (dest / corpora.WORK).exists()


def test_tedlium_from_an_extracted_folder(tmp_path):
    root = tmp_path / "TEDLIUM_release-3"
    for name, data in _ted_files().items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    dest = fetch("tedlium", tmp_path / "ted", source=root, speakers=["TalkC_2015"], progress=False)
    assert [p.name for p in (dest / "TalkC_2015").iterdir()] == ["TalkC_2015-0000010-0000090.flac"]
    with pytest.raises(VaeganError, match="speaker Nope not in tedlium data \\(available: TalkA_2010, TalkB_2012"):
        fetch("tedlium", tmp_path / "ted2", source=root, speakers=["Nope"], progress=False)
    dest = fetch("tedlium", tmp_path / "ted3", source=root, subset="legacy/dev", progress=False)
    assert list(_read_record(dest)["speakers"]) == ["Other_2009"]


@pytest.mark.skipif(not SHARED_VCC.is_dir(), reason="no local VCC2016 copy")
def test_vcc2016_from_the_local_copy_is_hard_linked(tmp_path):
    dest = fetch("vcc2016", tmp_path / "vcc", source=SHARED_VCC, speakers=["SF1", "TM1"], progress=False)
    record = _read_record(dest)
    assert record["files"] == 2 * 162 and record["source"]["path"] == str(SHARED_VCC.resolve())
    original, copy = SHARED_VCC / "SF1/100001.flac", dest / "SF1/100001.flac"
    assert copy.read_bytes() == original.read_bytes()
    if os.stat(original).st_dev == os.stat(tmp_path).st_dev:
        assert os.path.samefile(original, copy)
