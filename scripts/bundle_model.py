"""Ship a trained model inside the package: export it in fp16 to src/vaegan_vc/pretrained/NAME/ and
record it (speakers, features, licence, sha256 of each file) in pretrained/registry.json.

    .venv/bin/python scripts/bundle_model.py exp/head4 vcc2016-4 --description "…" --card MODEL_CARD.md
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from vaegan_vc import checkpoint as ckpt

from vaegan_vc.io import sha256_file
from vaegan_vc.bundled import PRETRAINED_DIR, REGISTRY_FILE
from vaegan_vc.convert import load_model

DATA_LICENCE = "weights: MIT (vaegan-vc); trained on VCC 2016 (CC BY 4.0, Toda et al. 2016)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="run folder or model folder")
    parser.add_argument("name", help="the name users give to convert")
    parser.add_argument("--description", required=True)
    parser.add_argument("--card", type=Path, required=True, help="the model card (Markdown) to ship beside it")
    parser.add_argument("--licence", default=DATA_LICENCE)
    args = parser.parse_args(argv)
    loaded = load_model(args.model)
    folder = PRETRAINED_DIR / args.name
    shutil.rmtree(folder, ignore_errors=True)
    ckpt.save_model(folder, loaded.model, loaded.features, half=True)
    shutil.copy(args.card, folder / "MODEL_CARD.md")
    files = [ckpt.MODEL_FILE, ckpt.CONFIG_FILE, "MODEL_CARD.md"]
    path = PRETRAINED_DIR / REGISTRY_FILE
    registry = json.loads(path.read_text()) if path.is_file() else {}
    registry[args.name] = {
        "folder": args.name, "speakers": loaded.speakers, "features": loaded.features.name, "licence": args.licence,
        "description": args.description, "sha256": {f: sha256_file(folder / f) for f in files},
    }
    path.write_text(json.dumps(registry, indent=2) + "\n")
    size = sum((folder / f).stat().st_size for f in files) / 2**20
    print(f"bundled {args.model} as '{args.name}' in {folder} ({size:.1f} MB)")


if __name__ == "__main__":
    sys.exit(main())
