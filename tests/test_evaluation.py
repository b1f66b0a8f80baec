"""evaluate: metric maths, input layouts and bad input, caching, reports; the real tools in slow tests."""

import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from conftest import vcc_file
from vaegan_vc.audio import load_audio, mel_features
from vaegan_vc.config import feature_preset
from vaegan_vc.errors import VaeganError
from vaegan_vc.evaluation import EvalOptions
from vaegan_vc.evaluation.analysis import AudioProblem, check_audio
from vaegan_vc.evaluation.cache import Cache, cache_key, file_identity
from vaegan_vc.evaluation.deps import missing_tools, require_eval_tools
from vaegan_vc.evaluation.mcd import WorldFeatures, compare, dtw_path
from vaegan_vc.evaluation.plans import plan_dirs
from vaegan_vc.evaluation.sources import parse_pairs, read_transcripts, split_pair
from vaegan_vc.evaluation.speaker import eer_threshold
from vaegan_vc.evaluation.ssim import mel_ssim
from vaegan_vc.evaluation.stats import mean_ci, share_ci
from vaegan_vc.evaluation.text import cer, normalize_text, wer

needs_eval = pytest.mark.skipif(bool(missing_tools()), reason="needs pip install 'vaegan-vc[eval]'")
SPEAKERS = ("SF1", "TM1")
UTTS = [f"1000{i:02d}" for i in range(1, 7)]


def write_wav(path, wav, sr=16000):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), wav, sr, subtype="PCM_16")
    return path


@pytest.fixture()
def reference_dir(tmp_path):
    """REFERENCE/<SPK>/<utt>.flac for SF1 and TM1, six parallel utterances each (links)."""
    root = tmp_path / "reference"
    for spk in SPEAKERS:
        (root / spk).mkdir(parents=True)
        for utt in UTTS:
            os.symlink(vcc_file(spk, utt), root / spk / f"{utt}.flac")
    return root


# ----------------------------------------------------------------------------- maths


def test_mean_ci_matches_the_t_interval():
    s = mean_ci([1.0, 2.0, 3.0, 4.0, None])
    assert s["n"] == 4 and s["mean"] == pytest.approx(2.5)
    assert s["ci95"] == pytest.approx(3.182446 * np.std([1, 2, 3, 4], ddof=1) / 2, rel=1e-5)
    assert mean_ci([])["mean"] is None and mean_ci([5.0])["ci95"] is None


def test_share_ci_is_a_wilson_interval_inside_0_1():
    s = share_ci([True] * 10)
    assert s["mean"] == 1.0 and s["high"] == pytest.approx(1.0) and 0.65 < s["low"] < 0.75
    assert share_ci([False, True, None])["n"] == 2


def test_cer_wer_and_normalisation():
    assert normalize_text("Hello, World!  It's") == "hello world it's"
    assert cer("Hello world.", "hello world") == 0.0
    assert wer("the cat sat", "the bat sat down") == pytest.approx(2 / 3)
    assert cer("abcd", "abxd") == pytest.approx(0.25)
    assert cer("", "anything") is None
    assert normalize_text("That would be 4,000 miles, 3, 4.5") == "that would be 4000 miles 3 4 5"


def test_dtw_finds_the_optimal_path():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 3)), rng.normal(size=(25, 3))
    cost = np.sqrt(((x[:, None] - y[None]) ** 2).sum(-1))
    best = np.full((31, 26), np.inf)
    best[0, 0] = 0
    for i in range(1, 31):
        for j in range(1, 26):
            best[i, j] = cost[i - 1, j - 1] + min(best[i - 1, j - 1], best[i - 1, j], best[i, j - 1])
    i, j = dtw_path(x, y)
    assert (i[0], j[0], i[-1], j[-1]) == (0, 0, 29, 24)
    assert np.all(np.diff(i) >= 0) and np.all(np.diff(j) >= 0)
    assert cost[i, j].sum() == pytest.approx(best[30, 25])
    i, j = dtw_path(x, x)
    assert np.array_equal(i, j) and len(i) == 30


def test_compare_excludes_silence_and_needs_speech():
    rng = np.random.default_rng(1)
    frames = 60
    power = np.r_[np.full(10, -90.0), np.zeros(frames - 10)]  # 10 silent frames first
    mcep = rng.normal(size=(frames, 25))
    f0 = np.r_[np.zeros(20), np.full(frames - 20, 120.0)]
    a = WorldFeatures(f0, power, mcep)
    shifted = WorldFeatures(f0 * 2, power, mcep + np.r_[1.0, np.zeros(24)])  # c0 and F0 differ only
    out = compare(shifted, a)
    assert out["mcd_db"] == pytest.approx(0.0) and out["frames"] == frames - 10
    assert out["logf0_rmse"] == pytest.approx(np.log(2)) and out["vde"] == 0.0
    with pytest.raises(ValueError, match="non-silent"):
        compare(WorldFeatures(f0[:5], power[:5], mcep[:5]), a)


def test_eer_threshold():
    eer, t = eer_threshold([0.8, 0.9, 0.85], [0.2, 0.3, 0.5])
    assert eer == 0.0 and 0.5 < t < 0.8
    eer, t = eer_threshold([0.6, 0.7, 0.8, 0.9], [0.1, 0.2, 0.65, 0.75])
    assert eer == pytest.approx(0.25)


def test_mel_ssim():
    rng = np.random.default_rng(2)
    mel = rng.uniform(size=(64, 100))
    assert mel_ssim(mel, mel) == pytest.approx(1.0)
    assert mel_ssim(mel, rng.uniform(size=(64, 90))) < 0.2


# ----------------------------------------------------------------------------- input handling


def test_parse_pairs_and_names():
    assert parse_pairs("all") is None
    assert parse_pairs("SF1:TM1, TM1:SF1,SF1:TM1") == (("SF1", "TM1"), ("TM1", "SF1"))
    for bad in ("SF1", "SF1:SF1", ",", "SF1:"):
        with pytest.raises(VaeganError):
            parse_pairs(bad)
    assert split_pair("SF1_to_TM1") == ("SF1", "TM1")
    with pytest.raises(VaeganError, match="SOURCE_to_TARGET"):
        split_pair("SF1-TM1_to_x_to_y")


def test_read_transcripts(tmp_path):
    (tmp_path / "t.txt").write_text("100001 Hello there.\n\n100002\tGood bye\n")
    assert read_transcripts(tmp_path / "t.txt") == {"100001": "Hello there.", "100002": "Good bye"}
    (tmp_path / "t.json").write_text(json.dumps({"100001": "Hi"}))
    assert read_transcripts(tmp_path / "t.json") == {"100001": "Hi"}
    (tmp_path / "bad.txt").write_text("100001\n")
    with pytest.raises(VaeganError, match="bad.txt:1"):
        read_transcripts(tmp_path / "bad.txt")


def test_plan_dirs_scores_the_intersection_and_lists_the_rest(tmp_path, reference_dir):
    conv = tmp_path / "converted"
    for utt in UTTS[:3] + ["999999"]:
        write_wav(conv / "SF1_to_TM1" / f"{utt}.wav", np.zeros(1600))
    (conv / "notes").mkdir()  # not a pair folder: ignored with a warning
    plan = plan_dirs(conv, reference_dir, EvalOptions())
    assert [i.utt_id for i in plan.items] == UTTS[:3]
    assert plan.unmatched == {"SF1_to_TM1": [{"utt_id": "999999", "reason": "no reference utterance for TM1 and SF1"}]}
    assert plan.items[0].target_ref.label == "TM1/100001" and plan.items[0].source_ref.label == "SF1/100001"
    # centroids come from the utterances that are not evaluated
    assert {r.label.split("/")[1] for r in plan.centroid_refs["TM1"]} == set(UTTS[3:])
    assert len(plan_dirs(conv, reference_dir, EvalOptions(centroid_utts=1, max_utts=2)).items) == 2


def test_plan_dirs_errors(tmp_path, reference_dir):
    conv = tmp_path / "converted"
    write_wav(conv / "SF1_to_XX9" / "100001.wav", np.zeros(1600))
    with pytest.raises(VaeganError, match="no folder for speaker 'XX9'"):
        plan_dirs(conv, reference_dir, EvalOptions())
    with pytest.raises(VaeganError, match=r"no folder for pair\(s\) TM1:SF1"):
        plan_dirs(conv, reference_dir, EvalOptions(pairs=(("TM1", "SF1"),)))
    with pytest.raises(VaeganError, match="converted folder not found"):
        plan_dirs(tmp_path / "nope", reference_dir, EvalOptions())
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(VaeganError, match="no SOURCE_to_TARGET folders"):
        plan_dirs(empty, reference_dir, EvalOptions())
    write_wav(tmp_path / "c2" / "SF1_to_TM1" / "777777.wav", np.zeros(1600))
    with pytest.raises(VaeganError, match="no converted utterance has a matching reference"):
        plan_dirs(tmp_path / "c2", reference_dir, EvalOptions())


def test_silent_and_empty_audio_are_problems_not_crashes():
    with pytest.raises(AudioProblem, match="empty"):
        check_audio(np.zeros(100, dtype=np.float32))
    with pytest.raises(AudioProblem, match="silent"):
        check_audio(np.zeros(16000, dtype=np.float32))
    check_audio(load_audio(vcc_file("SF1", "100001"), 16000))


def test_cache_round_trip_and_identity(tmp_path):
    cache = Cache(tmp_path / "cache")
    cache.put("transcripts", "k", "hello")
    cache.put_array("embeddings", "k", np.arange(3, dtype=np.float32))
    cache.flush()
    again = Cache(tmp_path / "cache")
    assert again.get("transcripts", "k") == "hello"
    assert np.array_equal(again.get_array("embeddings", "k"), [0, 1, 2])
    assert not list((tmp_path / "cache").rglob("*.pkl")) and not list((tmp_path / "cache").rglob("*.partial*"))
    f = write_wav(tmp_path / "a.wav", np.zeros(160))
    before = file_identity(f)
    os.utime(f, ns=(1, 1))
    assert file_identity(f) != before and cache_key("x", before) != cache_key("x", file_identity(f))


def test_missing_extra_names_what_to_install(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    absent = ("pyworld", "speechmos")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in absent else real(name, *a))
    with pytest.raises(VaeganError, match=r"pip install 'vaegan-vc\[eval\]'.*'pyworld>=0.3.5,<0.4' 'speechmos==0.0.1.1'"):
        require_eval_tools()


def test_cli_import_stays_light_and_checks_forms(tmp_path, capsys):
    heavy = "('torch', 'resemblyzer', 'faster_whisper', 'pyworld')"
    code = f"import sys, vaegan_vc.cli as c; c.build_parser(); print(sorted(m for m in {heavy} if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    from vaegan_vc.cli import main

    for argv in (["evaluate", str(tmp_path)], ["evaluate", "--converted", str(tmp_path), str(tmp_path)],
                 ["evaluate", "--converted", "a", "--reference", "b", "x", "y"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
    assert main(["evaluate", "m", "d", str(tmp_path), "--pairs", "SF1"]) == 1
    assert "not SOURCE:TARGET" in capsys.readouterr().err


# ----------------------------------------------------------------------------- scoring with stand-in tools


class StandInAnalyzer:
    """The Analyzer interface with cheap stand-ins (mel statistics instead of the real tools), so
    that scoring, aggregation and the reports are tested without the `eval` extra."""

    def __init__(self):
        self.cache = Cache(None)
        self.versions = {k: "stand-in" for k in ("world", "embedding", "transcript", "dnsmos")}
        self.loaded = []

    def analyze(self, ref, kinds):
        try:
            wav = ref.load(16000)
        except VaeganError as exc:
            raise AudioProblem(str(exc)) from None
        check_audio(wav)
        self.loaded.append(ref.label)
        mel = mel_features(wav, feature_preset("seed")).numpy().astype(np.float64)
        out = {}
        if "world" in kinds:
            out["world"] = WorldFeatures(np.full(mel.shape[1], 100.0), 10 * mel.mean(0), mel[:25].T * 10)
        if "embedding" in kinds:  # long-term spectral shape of the loud frames: tells SF1 from TM1
            loud = mel[:, mel.mean(0) > mel.mean(0).max() - 0.25]
            emb = loud.mean(1) - loud.mean()
            out["embedding"] = emb / np.linalg.norm(emb)
        if "transcript" in kinds:  # TM1's real speech is heard differently, to tell whose text is the reference
            out["transcript"] = "the same words" + (" from tm1" if ref.label.startswith("TM1/") else "")
        if "dnsmos" in kinds:
            out["dnsmos"] = {"sig": 3.0, "bak": 3.5, "ovrl": 2.5, "p808": 3.2}
        return out


def test_score_and_reports_with_stand_in_tools(tmp_path, reference_dir):
    from vaegan_vc.evaluation.api import METRICS_FILE, _write_json, pick_samples
    from vaegan_vc.evaluation.report import write_reports
    from vaegan_vc.evaluation.runner import score

    conv = tmp_path / "converted"
    for utt in UTTS[:2]:  # "conversions" that are the target itself, at another sample rate
        write_wav(conv / "SF1_to_TM1" / f"{utt}.wav", load_audio(vcc_file("TM1", utt), 22050), 22050)
        write_wav(conv / "TM1_to_SF1" / f"{utt}.wav", load_audio(vcc_file("TM1", utt), 16000))
    write_wav(conv / "SF1_to_TM1" / f"{UTTS[2]}.wav", np.zeros(16000))  # silent
    (conv / "SF1_to_TM1" / f"{UTTS[3]}.wav").write_bytes(b"")  # empty
    options = EvalOptions(progress=False, samples=1)
    plan = plan_dirs(conv, reference_dir, options)
    results = score(plan, StandInAnalyzer(), options)

    conv_all = results["overall"]["converted"]
    assert (conv_all["utterances"], conv_all["scored"], conv_all["failed"]) == (6, 4, 2)
    assert {f["utt_id"] for f in results["failures"]} == {UTTS[2], UTTS[3]}
    pair = results["pairs"]["SF1_to_TM1"]["converted"]["metrics"]
    baseline = results["pairs"]["SF1_to_TM1"]["baseline"]["metrics"]
    assert pair["sim_target"]["mean"] > baseline["sim_target"]["mean"]  # a resampled copy of the target
    assert pair["mcd_db"]["mean"] < baseline["mcd_db"]["mean"] / 3
    assert results["utterances"]["converted"][0]["cer"] == 0.0
    assert "ceiling" not in results["overall"]  # dirs mode without --vocoder
    assert results["similarity_matrix"]["speakers"] == ["SF1", "TM1"]

    # A vocoder-only copy is checked against the words of the real target, not of the source.
    vocoded = dataclasses.replace(plan, ceiling={item.target_ref.label: item.target_ref for item in plan.items})
    ceiling = score(vocoded, StandInAnalyzer(), options)["utterances"]["ceiling"]
    to_tm1 = [r for r in ceiling if r["pair"] == "SF1_to_TM1" and r["status"] == "ok"]
    assert to_tm1 and all(r["reference_text"] == "the same words from tm1" and r["cer"] == 0.0 for r in to_tm1)

    (tmp_path / "out").mkdir()
    _write_json(tmp_path / "out" / METRICS_FILE, results)
    write_reports(results, tmp_path / "out", pick_samples(plan, results, 1), plan.features)
    md = (tmp_path / "out" / "report.md").read_text()
    page = (tmp_path / "out" / "report.html").read_text()
    assert "| SF1_to_TM1 | 2 | 2 | 0 |" in md and "silent" in md and "empty file" in md
    assert page.count("data:audio/wav;base64,") == 6 and page.count("data:image/png;base64,") == 3
    assert json.loads((tmp_path / "out" / METRICS_FILE).read_text())["format_version"] == 1


def test_a_failing_analysis_worker_is_an_error_not_a_hang(tmp_path, monkeypatch):
    from tqdm import tqdm

    from vaegan_vc.evaluation.analysis import Analyzer
    from vaegan_vc.evaluation.parallel import add_job, analyze_all
    from vaegan_vc.evaluation.sources import file_ref

    (tmp_path / "asr").mkdir()
    (tmp_path / "asr" / "model.bin").write_bytes(b"")  # the tools load lazily: none is needed here
    analyzer = Analyzer(Cache(tmp_path / "cache"), asr_model=tmp_path / "asr")
    monkeypatch.setattr(analyzer, "tool_settings", lambda: {"no_such_setting": 1})  # workers fail to start
    jobs: dict = {}
    utts = [f"1000{i:02d}" for i in range(1, 9)]  # enough for two workers
    for utt in utts:
        add_job(jobs, file_ref(vcc_file("SF1", utt), f"SF1/{utt}"), {"world"})
        add_job(jobs, file_ref(vcc_file("SF1", utt), f"SF1/{utt}"), {"embedding"})  # merged with the line above
    assert len(jobs) == len(utts) and all(job.kinds == {"world", "embedding"} for job in jobs.values())
    with pytest.raises(VaeganError, match="worker process stopped.*fewer --workers"):
        analyze_all(analyzer, jobs, workers=2, bar=tqdm(disable=True))


def test_evaluate_refuses_to_overwrite(tmp_path, reference_dir):
    from vaegan_vc.evaluation import evaluate_dirs

    if missing_tools():
        pytest.skip("needs the eval extra to get past the tool check")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "metrics.json").write_text("{}")
    (tmp_path / "conv").mkdir()
    with pytest.raises(VaeganError, match="--force"):
        evaluate_dirs(tmp_path / "conv", reference_dir, tmp_path / "out")
    with pytest.raises(VaeganError, match="lies inside the converted folder"):  # an output inside an input
        evaluate_dirs(tmp_path, reference_dir, tmp_path / "out")


# ----------------------------------------------------------------------------- the real tools


@needs_eval
@pytest.mark.slow
def test_a_file_against_itself_scores_perfectly():
    from vaegan_vc.evaluation.asr import Transcriber
    from vaegan_vc.evaluation.mcd import world_features
    from vaegan_vc.evaluation.speaker import SpeakerEncoder, cosine

    wav = load_audio(vcc_file("SF1", "100001"), 16000)
    feats = world_features(wav, 16000)
    assert compare(feats, feats)["mcd_db"] == pytest.approx(0.0, abs=1e-9)
    emb = SpeakerEncoder().embed(wav, 16000)
    assert cosine(emb, emb) == pytest.approx(1.0, abs=1e-5)
    text = Transcriber().transcribe(wav)
    assert len(text) > 10 and cer(text, Transcriber().transcribe(wav)) == 0.0


@needs_eval
@pytest.mark.slow
def test_different_speakers_differ():
    from vaegan_vc.evaluation.mcd import world_features
    from vaegan_vc.evaluation.speaker import SpeakerEncoder, cosine

    def wav(spk, utt):
        return load_audio(vcc_file(spk, utt), 16000)

    mcd = compare(world_features(wav("SF1", "100001"), 16000), world_features(wav("TM1", "100001"), 16000))["mcd_db"]
    assert mcd > 6.0
    enc = SpeakerEncoder()
    sf1_a, sf1_b = enc.embed(wav("SF1", "100001"), 16000), enc.embed(wav("SF1", "100002"), 16000)
    tm1_a = enc.embed(wav("TM1", "100001"), 16000)
    assert cosine(sf1_a, sf1_b) > cosine(sf1_a, tm1_a) + 0.15  # same sentence, other speaker: clearly lower


@needs_eval
@pytest.mark.slow
def test_degraded_audio_scores_worse_on_dnsmos():
    from vaegan_vc.evaluation.dnsmos import Dnsmos

    clean = load_audio(vcc_file("SF1", "100001"), 16000)
    noise = np.random.default_rng(0).normal(size=clean.shape).astype(np.float32)
    noisy = clean + noise * np.sqrt(np.mean(clean**2) / np.mean(noise**2)) * 10 ** (-5 / 20)  # 5 dB SNR
    mos = Dnsmos()
    good, bad = mos.score(clean), mos.score(np.clip(noisy, -1, 1))
    assert bad["ovrl"] < good["ovrl"] - 0.5 and bad["bak"] < good["bak"] - 0.5


@needs_eval
@pytest.mark.slow
def test_dirs_mode_end_to_end_with_cache(tmp_path, reference_dir):
    from vaegan_vc.cli import main

    conv = tmp_path / "converted"
    for utt in UTTS[:2]:
        write_wav(conv / "SF1_to_TM1" / f"{utt}.wav", load_audio(vcc_file("TM1", utt), 22050), 22050)  # the target itself
    write_wav(conv / "SF1_to_TM1" / "100003.wav", np.zeros(8000))
    write_wav(conv / "SF1_to_TM1" / "999999.wav", np.zeros(8000))
    out = tmp_path / "out"
    argv = ["evaluate", "--converted", str(conv), "--reference", str(reference_dir), str(out),
            "--centroid-utts", "3", "--samples", "1", "--no-progress"]
    assert main(argv) == 0
    results = json.loads((out / "metrics.json").read_text())
    metrics = results["overall"]["converted"]["metrics"]
    assert results["overall"]["converted"]["failed"] == 1 and len(results["pairs"]["SF1_to_TM1"]["unmatched"]) == 1
    assert metrics["mcd_db"]["mean"] < 2.0 and metrics["cer"]["mean"] < 0.1 and metrics["accepted"]["mean"] == 1.0
    assert metrics["sim_target"]["mean"] > results["overall"]["baseline"]["metrics"]["sim_target"]["mean"] + 0.1
    assert results["overall"]["baseline"]["metrics"]["mcd_db"]["mean"] > 6.0
    assert "data:audio/wav;base64," in (out / "report.html").read_text()
    assert main(argv) == 1  # refuses to overwrite without --force
    cached = sorted(p.name for p in (out / "cache").rglob("*"))
    assert main(argv + ["--force"]) == 0  # everything cached: no new analysis files
    assert sorted(p.name for p in (out / "cache").rglob("*")) == cached

    # Worker processes (the default above, 2 cores in CI) and one process give the same numbers.
    assert main([str(tmp_path / "serial") if a == str(out) else a for a in argv] + ["--workers", "1"]) == 0
    serial = json.loads((tmp_path / "serial" / "metrics.json").read_text())["utterances"]["converted"]
    for a, b in zip(results["utterances"]["converted"], serial, strict=True):
        assert a["status"] == b["status"] and a.get("transcript") == b.get("transcript")
        for key in ("mcd_db", "sim_target", "dnsmos_ovrl"):
            assert a.get(key) == pytest.approx(b.get(key), abs=1e-3)

    # Nothing that can be scored (only silence): a report of nothing, and a failing exit status.
    silent = tmp_path / "silent"
    write_wav(silent / "SF1_to_TM1" / "100003.wav", np.zeros(8000))
    nothing = ["evaluate", "--converted", str(silent), "--reference", str(reference_dir), str(tmp_path / "none"),
               "--centroid-utts", "3", "--samples", "1", "--no-progress", "--cache-dir", str(out / "cache"), "--no-aids"]
    assert main(nothing) == 1


@needs_eval
@pytest.mark.slow
def test_model_mode_end_to_end(tiny_run, dataset_dir, tmp_path):
    from vaegan_vc.evaluation import evaluate_model

    options = EvalOptions(pairs=(("SF1", "TM1"),), max_utts=2, centroid_utts=2, samples=1, progress=False)
    results = evaluate_model(tiny_run, dataset_dir, tmp_path / "out", options)
    assert results["mode"] == "model" and results["overall"]["converted"]["utterances"] >= 1
    assert set(results["overall"]) == {"converted", "baseline", "ceiling"}
    record = results["utterances"]["converted"][0]
    assert 0.0 <= record["ssim_recon"] <= 1.0 and "ssim_cycle" in record
    assert (tmp_path / "out" / "converted" / "SF1_to_TM1" / f"{record['utt_id']}.wav").is_file()
    assert (tmp_path / "out" / "report.html").is_file()
    with pytest.raises(VaeganError, match="speaker 'XX9' is not in the model"):
        evaluate_model(tiny_run, dataset_dir, tmp_path / "out2", EvalOptions(pairs=(("SF1", "XX9"),), progress=False))


def test_verdict_says_in_one_sentence_what_is_reached():
    from vaegan_vc.evaluation.report import verdict

    def results(**means):
        return {"overall": {"converted": {"metrics": {k: {"mean": v} for k, v in means.items()}}}}

    good = verdict(results(sim_target=0.85, sim_source=0.6, accepted=0.9, cer=0.02, dnsmos_ovrl=3.2))
    assert good.startswith("Verdict: the conversion takes the target's voice") and "keeps the words" in good and "sounds clean" in good
    bad = verdict(results(sim_target=0.65, sim_source=0.70, accepted=0.0, cer=0.3, dnsmos_ovrl=2.5))
    assert "does not yet take" in bad and "loses some of the words" in bad and "does not yet sound clean" in bad
    assert verdict(results()) == "Verdict: nothing could be scored."


def test_model_mode_takes_sources_the_model_never_heard(tiny_run, dataset_dir, tmp_path, monkeypatch):
    """Any source voice, one of the model's targets: only the target must be a model speaker."""
    from vaegan_vc.data.dataset import Dataset
    from vaegan_vc.convert import load_model
    from vaegan_vc.evaluation import modelmode

    loaded = load_model(tiny_run)
    ds = Dataset(dataset_dir)
    loaded.speakers = loaded.model.speakers = ["TM1", "XX"]  # as if SF1 had been left out of training
    assert modelmode._model_pairs(loaded, ds, (("SF1", "TM1"),)) == [("SF1", "TM1")]
    with pytest.raises(VaeganError, match="speaker 'SF1' is not in the model"):
        modelmode._model_pairs(loaded, ds, (("TM1", "SF1"),))
