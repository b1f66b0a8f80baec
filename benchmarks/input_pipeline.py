"""CropSampler on the CPU: random crops per second, and memory that must not grow with the corpus.

Each dataset is measured in a fresh Python process, so that one's memory-mapped pages never
count towards the other's. Memory comes from /proc/self/status: RssAnon is the process's own
memory (it must stay flat); RssFile counts file-backed pages, among them those of the
memory-mapped feature files that have been read ("features", from /proc/self/smaps), which the
kernel can drop at any time, so VmRSS grows up to the size of the features on disk without the
process owning that memory.

    python benchmarks/input_pipeline.py                    # 2 speakers (SF1, TM1) vs all 10
    python benchmarks/input_pipeline.py --small DS2 --large DS10 --crops 50000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from common import PAIR_SPEAKERS, CpuMeter, add_common_args, check_data, environment, memory_mib, wait_for_idle, work_dir

TARGET_CROPS_PER_S = 2000
# An early reading: features are stored [n_mels, frames], so one crop touches n_mels pages, and the
# kernel maps in neighbouring cached pages on each fault; the mapped features saturate early.
EARLY_CROPS = 64


def mapped_mib(folder: Path) -> float:
    """Resident pages of the memory-mapped files under `folder`, from /proc/self/smaps, in MiB."""
    prefix, total, inside = str(folder.resolve()), 0, False
    with open("/proc/self/smaps") as f:
        for line in f:
            first = line.split(maxsplit=1)[0]
            if "-" in first and not first.endswith(":"):  # a mapping's header line
                inside = line.rstrip().split()[-1].startswith(prefix)
            elif inside and first == "Rss:":
                total += int(line.split()[1])
    return total / 1024


def measure(folder: Path, crop: int, batches: list[int], n_crops: int, seconds: float, threads: int, wait_idle: float) -> dict:
    """Runs in a fresh process: memory after each stage, then crops/s per batch size."""
    import torch

    from vaegan_vc.data.dataset import CropSampler, Dataset

    torch.set_num_threads(threads)

    def snapshot() -> dict[str, float]:
        return {**memory_mib(), "mapped": mapped_mib(folder)}

    result = {"memory": {"after imports": snapshot()}}
    dataset = Dataset(folder)
    sampler = CropSampler(dataset, dataset.speakers, crop, torch.device("cpu"))
    result["memory"]["after Dataset + CropSampler"] = snapshot()
    result["features_mib"] = sum(f.stat().st_size for f in (folder / "features").glob("*.npy")) / 2**20
    result["speakers"] = len(dataset.speakers)
    result["train_frames"] = sum(u.frames for u in dataset.utterances if u.split == "train")

    rng = torch.Generator().manual_seed(0)
    speakers = dataset.speakers
    done, calls, batch = 0, 0, EARLY_CROPS // 2
    start = time.perf_counter()
    while done < n_crops:
        sampler.sample(speakers[calls % len(speakers)], batch, rng)
        done, calls = done + batch, calls + 1
        if done == EARLY_CROPS:
            result["memory"][f"after {done} crops"] = snapshot()
    result["first_pass_crops_per_s"] = done / (time.perf_counter() - start)
    result["memory"][f"after {done} crops"] = snapshot()

    result["crops_per_s"] = {}
    for batch in batches:
        wait_for_idle(wait_idle)
        for i in range(10):  # warm-up
            sampler.sample(speakers[i % len(speakers)], batch, rng)
        calls, start = 0, time.perf_counter()
        with CpuMeter() as cpu:
            while time.perf_counter() - start < seconds:
                sampler.sample(speakers[calls % len(speakers)], batch, rng)
                calls += 1
        result["crops_per_s"][str(batch)] = {
            "crops_per_s": calls * batch / cpu.wall, "ms_per_call": cpu.wall / calls * 1000, "cpu": str(cpu),
        }
    result["memory"]["at the end"] = snapshot()
    return result


def run_child(folder: Path, args: argparse.Namespace) -> dict:
    cmd = [
        sys.executable, __file__, "--child", str(folder), "--crop", str(args.crop), "--crops", str(args.crops),
        "--seconds", str(args.seconds), "--threads", str(args.threads), "--wait-idle", str(args.wait_idle),
        "--batches", *map(str, args.batches),
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def ensure_dataset(data: Path, out: Path, speakers: list[str] | None, workers: int | None) -> Path:
    from vaegan_vc.config import feature_preset
    from vaegan_vc.data.prepare import DATASET_FILE, prepare

    if not (out / DATASET_FILE).is_file():
        print(f"preparing {out.name} ({'all speakers' if speakers is None else ', '.join(speakers)}) …", flush=True)
        prepare(data, out, feature_preset("seed"), speakers=speakers, workers=workers, force=True, progress=False)
    return out


def report(name: str, r: dict, args: argparse.Namespace) -> None:
    print(f"\n{name}: {r['speakers']} speakers, {r['train_frames']} train frames, features on disk {r['features_mib']:.1f} MiB")
    for batch, m in r["crops_per_s"].items():
        verdict = "met" if m["crops_per_s"] >= TARGET_CROPS_PER_S else "MISSED"
        print(f"  batch {int(batch):>3}: {m['crops_per_s']:8.0f} crops/s ({m['ms_per_call']:.2f} ms per call; {m['cpu']})"
              f"  [target >= {TARGET_CROPS_PER_S}: {verdict}]")
    print(f"  first pass, pages not yet mapped (batch {EARLY_CROPS // 2}): {r['first_pass_crops_per_s']:.0f} crops/s")
    print(f"  {'memory (MiB)':<34}{'VmRSS':>9}{'RssAnon':>9}{'RssFile':>9}{'features':>10}")
    for stage, m in r["memory"].items():
        print(f"  {stage:<34}{m['VmRSS']:9.1f}{m['RssAnon']:9.1f}{m['RssFile']:9.1f}{m['mapped']:10.1f}")
    mem = list(r["memory"].values())
    print(f"  growth from the sampler to the end: RssAnon {mem[-1]['RssAnon'] - mem[1]['RssAnon']:+.1f} MiB, "
          f"RssFile {mem[-1]['RssFile'] - mem[1]['RssFile']:+.1f} MiB, of which mapped features "
          f"{mem[-1]['mapped'] - mem[1]['mapped']:+.1f} MiB (at most the {r['features_mib']:.1f} MiB on disk, reclaimable)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("--small", type=Path, default=None, help="a prepared 2-speaker dataset (default: prepare SF1, TM1)")
    parser.add_argument("--large", type=Path, default=None, help="a prepared many-speaker dataset (default: prepare all)")
    parser.add_argument("--crop", type=int, default=128, help="frames per crop (default: %(default)s)")
    parser.add_argument("--batches", type=int, nargs="+", default=[4, 32])
    parser.add_argument("--crops", type=int, default=20000, help="crops drawn before the memory reading (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=3.0, help="timed seconds per batch size (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads, as in training (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=None, help="prepare processes when a dataset is made (default: one per usable core)")
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(measure(args.child, args.crop, args.batches, args.crops, args.seconds, args.threads, args.wait_idle)))
        return
    check_data(parser, args.data)

    print(environment(args.threads))
    with work_dir(args.work_dir) as work:
        small = args.small or ensure_dataset(args.data, work / "vcc2016-pair", PAIR_SPEAKERS, args.workers)
        large = args.large or ensure_dataset(args.data, work / "vcc2016-all", None, args.workers)
        results = {name: run_child(folder, args) for name, folder in (("small", small), ("large", large))}
    report(f"small dataset {small}", results["small"], args)
    report(f"large dataset {large}", results["large"], args)
    end_small, end_large = (list(results[k]["memory"].values())[-1] for k in ("small", "large"))
    ratio = results["large"]["features_mib"] / results["small"]["features_mib"]
    diff = {k: end_large[k] - end_small[k] for k in ("RssAnon", "VmRSS", "RssFile", "mapped")}
    print(f"\nlarge vs small ({ratio:.1f}x the features): RssAnon {diff['RssAnon']:+.1f} MiB, VmRSS {diff['VmRSS']:+.1f} MiB "
          f"(of which file-backed {diff['RssFile']:+.1f} MiB, mapped features {diff['mapped']:+.1f} MiB)")


if __name__ == "__main__":
    sys.exit(main())
