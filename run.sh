#!/usr/bin/env bash
# The vaegan-vc recipe, in stages like the original research code: restart anywhere with
#   stage=N ./run.sh          (and stop after a stage with stop_stage=M)
# quick=1 (default) trains a small model for a few minutes on the CPU; quick=0 trains the
# paper's model for 100k steps (use a GPU).
set -euo pipefail
cd "$(dirname "$0")"

stage=${stage:-0}
stop_stage=${stop_stage:-5}
quick=${quick:-1}
speakers=${speakers:-SF1,TM1}                    # any VCC2016 speakers, 2 or more
source_speaker=${source_speaker:-${speakers%%,*}}
target_speaker=${target_speaker:-${speakers##*,}}
features=${features:-seed}                       # seed (Griffin-Lim) or hifigan
corpus_src=${corpus_src:-../shared/data/vcc2016} # a local copy; downloaded when absent
exp=${exp:-exp/vcc2016_$(echo "$speakers" | tr , _)_${features}$([ "$quick" = 1 ] && echo _quick)}
device=${device:-auto}

if [ "$quick" = 1 ]; then
  model=tiny; steps=${steps:-400}; batch=${batch:-4}; every=${every:-200}
else
  model=seed; steps=${steps:-100000}; batch=${batch:-4}; every=${every:-5000}
fi
vc() { .venv/bin/vaegan-vc "$@"; }
run_stage() { [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ]; }

if run_stage 0; then
  echo "=== stage 0: set-up (.venv) ==="
  ./setup.sh
fi

if run_stage 1; then
  echo "=== stage 1: data ==="
  if [ -f "$exp/corpus/corpus.json" ]; then
    echo "corpus already in $exp/corpus"
  elif [ -d "$corpus_src" ]; then
    vc data fetch vcc2016 "$exp/corpus" --source "$corpus_src" --speakers "$speakers"
  else
    vc data fetch vcc2016 "$exp/corpus" --speakers "$speakers"
  fi
fi

if run_stage 2; then
  echo "=== stage 2: prepare ($features features) ==="
  vc prepare "$exp/corpus" "$exp/dataset" --features "$features" --force
fi

if run_stage 3; then
  echo "=== stage 3: train ($model, $steps steps; running it again resumes) ==="
  vc train "$exp/dataset" "$exp/run" --model "$model" --steps "$steps" --batch-size "$batch" \
    --checkpoint-every "$every" --device "$device"
fi

if run_stage 4; then
  echo "=== stage 4: convert a held-out utterance $source_speaker → $target_speaker ==="
  utt=$(.venv/bin/python - "$exp/dataset" "$source_speaker" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(f"{sys.argv[1]}/manifest.jsonl")]
print(next(r["source"] for r in rows if r["speaker"] == sys.argv[2] and r["split"] == "test"))
PY
)
  vc convert "$exp/run" "$exp/corpus/$utt" --target "$target_speaker" "$exp/out_infer" --force
  echo "listen: $exp/out_infer/gen (converted), $exp/out_infer/ref (source through the vocoder);"
  echo "look:   $exp/out_infer/plots, $exp/run/plots; TensorBoard: tensorboard --logdir $exp/run/tb"
fi

if run_stage 5; then
  echo "=== stage 5: evaluate ==="
  if vc evaluate --help >/dev/null 2>&1; then
    vc evaluate "$exp/run" "$exp/dataset" "$exp/eval" --pairs "$source_speaker:$target_speaker,$target_speaker:$source_speaker" --force \
      || echo "evaluation needs the eval extra: EXTRAS=dev,eval ./setup.sh"
  else
    echo "evaluation is not available in this install"
  fi
fi
