"""The metrics table: names, units and direction of each metric, and their per-group summaries."""

from __future__ import annotations

from .stats import mean_ci, share_ci

# key → (label, unit, better: "lower" / "higher", group)
METRICS: dict[str, tuple[str, str, str, str]] = {
    "mcd_db": ("MCD", "dB", "lower", "spectrum"),
    "logf0_rmse": ("log-F0 RMSE", "ln Hz", "lower", "prosody"),
    "f0_corr": ("F0 correlation", "", "higher", "prosody"),
    "vde": ("voicing error", "share", "lower", "prosody"),
    "sim_target": ("similarity to target", "cos", "higher", "speaker"),
    "sim_source": ("similarity to source", "cos", "lower", "speaker"),
    "accepted": ("accepted as target", "share", "higher", "speaker"),
    "cer": ("CER", "share", "lower", "intelligibility"),
    "wer": ("WER", "share", "lower", "intelligibility"),
    "dnsmos_sig": ("DNSMOS SIG", "MOS", "higher", "naturalness"),
    "dnsmos_bak": ("DNSMOS BAK", "MOS", "higher", "naturalness"),
    "dnsmos_ovrl": ("DNSMOS OVRL", "MOS", "higher", "naturalness"),
    "dnsmos_p808": ("DNSMOS P.808", "MOS", "higher", "naturalness"),
    "ssim_recon": ("mel SSIM, reconstruction", "", "higher", "model"),
    "ssim_cycle": ("mel SSIM, cycle", "", "higher", "model"),
}
SHARES = {"accepted"}


def summarize(records: list[dict]) -> dict[str, dict]:
    """{metric: mean/CI summary} over the successfully scored records (status "ok")."""
    ok = [r for r in records if r.get("status") == "ok"]
    out = {}
    for key in METRICS:
        values = [r.get(key) for r in ok if key in r]
        if not values:
            continue
        out[key] = share_ci(values) if key in SHARES else mean_ci(values)
    return out


def group_summary(records: list[dict]) -> dict:
    """Counts plus the metric summaries of one group (a pair, or everything)."""
    return {
        "utterances": len(records),
        "scored": sum(r.get("status") == "ok" for r in records),
        "failed": sum(r.get("status") != "ok" for r in records),
        "metrics": summarize(records),
    }
