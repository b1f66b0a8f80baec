"""`vaegan-vc evaluate MODEL DATASET OUT --music`: scoring a timbre transfer between instruments.

Per pair (SRC → TGT), on the split's notes of SRC, with 95 % confidence intervals:
- **mel SSIM** of the reconstruction (SRC → SRC) and of the cycle (SRC → TGT → SRC), the measure of
  Bonnici et al. (2021);
- **pitch kept:** per note, the median absolute difference in cents between the conversion's F0
  and the source's (frames voiced in both; both tracked with librosa's pYIN, which unlike WORLD's
  DIO and Harvest never took a real rendered note for its subharmonic, see pitch.extract_f0); the median over notes and the
  share of notes within 50 cents;
- **timbre reached:** the share of conversions a classifier assigns to TGT. The classifier is a
  logistic regression trained here on the real train-split notes of every instrument of the
  dataset; its accuracy on the real notes of the same split is reported beside it;
- **Fréchet distance** between the embeddings of the real TGT notes and of the conversions.

The embedding of a note is the mean and standard deviation over time of 20 MFCCs of its
music-preset log-mel (40 numbers). It needs no learnt model: no instrument-embedding network
(VGGish, PANNs, OpenL3, CLAP) ships its weights inside an installable package, and this one is
fully reproducible. The Fréchet distance is computed after a PCA (fitted on the real train notes)
to `FD_DIMS` dimensions, because a few dozen notes cannot estimate a 40 × 40 covariance.

Two reading aids frame each row, as for speech: **no conversion** (the source note itself, scored
as if it were the conversion) and **vocoder only** (the real TGT note through features + vocoder).
Conversions keep the source's pitch (pitch mode "keep"): an instrument plays the notes it is given.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.fft import dct

from ..audio import mel_features, save_audio
from ..io import refuse_overlap, refuse_to_overwrite, write_json, write_text
from ..errors import VaeganError
from ..pitch import extract_f0
from ..progress import progress_bar
from .ssim import mel_ssim
from .stats import mean_ci, share_ci

log = logging.getLogger(__name__)

N_MFCC = 20
FD_DIMS = 8
WITHIN_CENTS = 50.0
JUDGE_F0 = "pyin"


def embedding(mel: np.ndarray) -> np.ndarray:
    """Normalised log-mel [n_mels, T] → mean and std over time of its first 20 MFCCs [40]."""
    mfcc = dct(mel, type=2, norm="ortho", axis=0)[:N_MFCC]
    return np.concatenate([mfcc.mean(axis=1), mfcc.std(axis=1)]).astype(np.float64)


def cents_error(f0_out: np.ndarray, f0_src: np.ndarray) -> float | None:
    """Median |1200·log2(out / src)| over frames voiced in both, or None with fewer than 5 such frames."""
    n = min(len(f0_out), len(f0_src))
    a, b = f0_out[:n], f0_src[:n]
    both = (a > 0) & (b > 0)
    if both.sum() < 5:
        return None
    return float(np.median(np.abs(1200.0 * np.log2(a[both] / b[both]))))


def frechet_distance(x: np.ndarray, y: np.ndarray) -> float | None:
    """Fréchet distance between Gaussians fitted to two sets of embeddings [n, d]; None below 2 each."""
    from scipy.linalg import sqrtm

    if len(x) < 2 or len(y) < 2:
        return None
    mu_x, mu_y = x.mean(axis=0), y.mean(axis=0)
    cov_x, cov_y = np.atleast_2d(np.cov(x, rowvar=False)), np.atleast_2d(np.cov(y, rowvar=False))
    root = sqrtm(cov_x @ cov_y)
    root = root.real if np.iscomplexobj(root) else root
    return float(((mu_x - mu_y) ** 2).sum() + np.trace(cov_x + cov_y - 2 * root))


@dataclass
class TimbreJudge:
    """The classifier and the PCA behind 'timbre reached' and the Fréchet distance."""

    classifier: object
    pca: object
    instruments: list[str]
    accuracy: dict

    @classmethod
    def fit(cls, ds, split: str) -> "TimbreJudge":
        from sklearn.decomposition import PCA
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        instruments = list(ds.speakers)
        train = [(embedding(ds.mel(u).numpy()), s) for s in instruments for u in ds.select(s, "train")]
        if len({s for _, s in train}) < 2:
            raise VaeganError(f"{ds.folder}: the timbre classifier needs train notes of at least two instruments")
        x, y = np.stack([e for e, _ in train]), [s for _, s in train]
        classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0)).fit(x, y)
        pca = make_pipeline(StandardScaler(), PCA(n_components=min(FD_DIMS, len(x) - 1, x.shape[1]))).fit(x)
        held = [(embedding(ds.mel(u).numpy()), s) for s in instruments for u in ds.select(s, split)]
        correct = [classifier.predict(e[None])[0] == s for e, s in held]
        return cls(classifier, pca, instruments, share_ci(correct))

    def predict(self, embeddings: np.ndarray) -> list[str]:
        return list(self.classifier.predict(embeddings))

    def fd(self, a: np.ndarray, b: np.ndarray) -> float | None:
        return frechet_distance(self.pca.transform(a), self.pca.transform(b))


def _summarise(rows: list[dict], target: str, judge: TimbreJudge, real_target: np.ndarray) -> dict:
    """The measures of one row (a pair's conversions, or an aid) over its notes."""
    cents = [r["cents"] for r in rows]
    embeddings = np.stack([r["embedding"] for r in rows])
    predicted = judge.predict(embeddings)
    out = {
        "notes": len(rows),
        "pitch_median_cents": float(np.median([c for c in cents if c is not None])) if any(c is not None for c in cents) else None,
        "pitch_within_50": share_ci([None if c is None else c <= WITHIN_CENTS for c in cents]),
        "classified_as_target": share_ci([p == target for p in predicted]),
        "frechet": judge.fd(real_target, embeddings),
    }
    for key in ("ssim_recon", "ssim_cycle"):
        if rows and key in rows[0]:
            out[key] = mean_ci([r[key] for r in rows])
    return out


def note_f0(wav: np.ndarray, features) -> np.ndarray:
    """The judge's F0 track [T]: pYIN, the tracker that was right on every real rendered note (see
    pitch.extract_f0); every row, the source's reference included, uses it."""
    return extract_f0(wav, features, method=JUDGE_F0)


def _note_row(wav: np.ndarray, mel: np.ndarray, f0_ref: np.ndarray, features) -> dict:
    return {"embedding": embedding(mel), "cents": cents_error(note_f0(wav, features), f0_ref)}


def evaluate_music(model_path: Path, dataset_dir: Path, out_dir: Path, pairs=None, split: str = "test",
                   vocoder_name: str | None = None, max_notes: int | None = None, force: bool = False,
                   progress: bool = True) -> dict:
    """Convert and score every `split` note of each pair; write OUT_DIR/{metrics.json, report.md,
    converted/SRC_to_TGT/<note>.wav, SRC_to_TGT.png}. Returns the metrics."""
    from ..convert import load_model
    from ..data.dataset import Dataset
    from ..vocoders import load_vocoder
    from .plans import choose_pairs

    ds = Dataset(dataset_dir)
    loaded = load_model(model_path)
    loaded.features.check_compatible(ds.features, f"model {loaded.path}", f"dataset {ds.folder}")
    if not ds.has_f0:
        raise VaeganError(f"{ds.folder}: no F0 tracks (prepare it again with this version)")
    out_dir = Path(out_dir)
    refuse_overlap(out_dir, {"dataset": ds.folder})
    refuse_to_overwrite(out_dir, force)
    pairs = choose_pairs(loaded.speakers, pairs, f"the model {loaded.path}")
    scorer = _PairScorer(ds, loaded, load_vocoder(vocoder_name, loaded.features), TimbreJudge.fit(ds, split), split, out_dir)
    results = {"instruments_accuracy_on_real_notes": scorer.judge.accuracy, "embedding": f"mean+std of {N_MFCC} MFCCs",
               "pitch_tracker": f"librosa {JUDGE_F0}", "split": split, "pairs": {}}
    for src, tgt in progress_bar(pairs, desc="music pairs", unit="pair", disable=not progress):
        results["pairs"][f"{src}_to_{tgt}"] = scorer.score(src, tgt, max_notes)
    write_json(out_dir / "metrics.json", results)
    write_text(out_dir / "report.md", music_report(results))
    return results


@dataclass
class _PairScorer:
    """Scores one direction at a time: its conversions, the no-conversion floor, the vocoder-only ceiling."""

    ds: object
    loaded: object
    vocoder: object
    judge: TimbreJudge
    split: str
    out_dir: Path
    real: dict[str, np.ndarray] = field(default_factory=dict)  # instrument → its real notes' embeddings

    def score(self, src: str, tgt: str, max_notes: int | None) -> dict:
        notes = sorted(self.ds.select(src, self.split), key=lambda u: u.utt_id)[:max_notes]
        if not notes:
            raise VaeganError(f"{self.ds.folder}: {src} has no '{self.split}' notes")
        by_id = {u.utt_id: u for u in self.ds.select(tgt, self.split)}
        rows = {"conversion": [], "no_conversion": [], "vocoder_only": []}
        for u in notes:
            for name, row in self._note(u, src, tgt, by_id.get(u.utt_id)).items():
                rows[name].append(row)
        key = f"{src}_to_{tgt}"
        _figure(self.out_dir / f"{key}.png", self.ds, notes[0], tgt, by_id, self.loaded.features,
                self.out_dir / "converted" / key / f"{notes[0].utt_id}.wav")
        return {name: _summarise(r, tgt, self.judge, self._real(tgt)) for name, r in rows.items() if r}

    def _real(self, instrument: str) -> np.ndarray:
        """Embeddings [n, 40] of the instrument's real notes in the split (computed once per instrument)."""
        if instrument not in self.real:
            self.real[instrument] = np.stack([embedding(self.ds.mel(u).numpy()) for u in self.ds.select(instrument, self.split)])
        return self.real[instrument]

    def _note(self, u, src: str, tgt: str, parallel) -> dict[str, dict]:
        """One note's rows: converted (+ SSIM of the reconstruction and the cycle), as it is, and the
        real target playing it (`parallel`, when the corpus has it) through the vocoder."""
        from ..convert import PitchOptions, convert_features
        from ..vocoders import vocode_long

        features, keep = self.loaded.features, PitchOptions(mode="keep")
        mel, f0 = self.ds.mel(u), self.ds.f0(u)
        out_mel = convert_features(self.loaded, mel, tgt, f0, keep)
        wav = vocode_long(self.vocoder, out_mel).numpy()
        save_audio(self.out_dir / "converted" / f"{src}_to_{tgt}" / f"{u.utt_id}.wav", wav, features.sample_rate)
        f0_ref = note_f0(self.ds.wav(u), features)
        row = _note_row(wav, mel_features(wav, features).numpy(), f0_ref, features)
        recon = convert_features(self.loaded, mel, src, f0, keep)
        cycle = convert_features(self.loaded, out_mel, src, f0, keep)
        row.update(ssim_recon=mel_ssim(recon.numpy(), mel.numpy()), ssim_cycle=mel_ssim(cycle.numpy(), mel.numpy()))
        out = {"conversion": row, "no_conversion": _note_row(self.ds.wav(u), mel.numpy(), f0_ref, features)}
        if parallel is not None:
            vocoded = vocode_long(self.vocoder, self.ds.mel(parallel)).numpy()
            out["vocoder_only"] = _note_row(vocoded, mel_features(vocoded, features).numpy(),
                                            note_f0(self.ds.wav(parallel), features), features)
        return out


def _figure(path: Path, ds, u, target: str, by_id: dict, features, converted_wav: Path) -> None:
    """Spectrograms of one note: the source, its conversion, and the real target playing it."""
    import soundfile as sf

    from ..plots import mel_panels_figure, save_figure

    wav, _ = sf.read(str(converted_wav), dtype="float32")
    panels = [(f"source: {u.speaker} {u.utt_id}", ds.mel(u).numpy()),
              (f"conversion → {target}", mel_features(wav, features).numpy())]
    if u.utt_id in by_id:
        panels.append((f"real {target} playing {u.utt_id}", ds.mel(by_id[u.utt_id]).numpy()))
    save_figure(mel_panels_figure(panels), path)


def _fmt(entry, digits: int = 2) -> str:
    if entry is None:
        return "–"
    if isinstance(entry, dict):
        if entry.get("mean") is None:
            return "–"
        ci = entry.get("ci95")
        return f"{entry['mean']:.{digits}f}" + (f" ± {ci:.{digits}f}" if ci is not None else "")
    return f"{entry:.{digits}f}" if isinstance(entry, float) else str(entry)


def music_report(results: dict) -> str:
    """The headline table in Markdown: one row per pair and aid."""
    acc = results["instruments_accuracy_on_real_notes"]
    lines = [f"# Timbre transfer ({results['split']} split)", "",
             f"Classifier accuracy on real notes: {_fmt(acc)} (n = {acc['n']}); embedding: {results['embedding']}; "
             f"pitch: {results.get('pitch_tracker', 'pyworld dio')}.", "",
             "| pair | row | notes | SSIM recon ↑ | SSIM cycle ↑ | pitch error (median cents) ↓ | within 50 cents ↑ | "
             "classified as target ↑ | Fréchet ↓ |",
             "|---|---|---|---|---|---|---|---|---|"]
    for pair, rows in results["pairs"].items():
        for name, row in rows.items():
            lines.append(f"| {pair} | {name.replace('_', ' ')} | {row['notes']} | {_fmt(row.get('ssim_recon'), 3)} | "
                         f"{_fmt(row.get('ssim_cycle'), 3)} | {_fmt(row['pitch_median_cents'], 1)} | "
                         f"{_fmt(row['pitch_within_50'])} | {_fmt(row['classified_as_target'])} | {_fmt(row['frechet'], 1)} |")
    return "\n".join(lines) + "\n"
