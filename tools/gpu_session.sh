#!/usr/bin/env bash
# PREPARED, NOT YET RUN: the device was paused for new loans in the session that wrote it.
# (benchmarks/gpu.sh is the log-prob benchmark that did run on an H200.)
# One short GPU session on a machine with torch/transformers but no hub access and no vLLM (the lent device):
#   1. the environment (GPU, versions);
#   2. ICoT's full-gpu profile on a hub-free model (a GPT-2 built from a config), 4x4 multiplication, through
#      the runner (papermill, report, metrics); the epoch count is sized from a measured speed probe so the
#      whole run fits ICOT_BUDGET_S seconds;
#   3. the Tulu quick world on the GPU, when that notebook exists.
# The device has torch/transformers but not trl, datasets or papermill: carry them as wheels in .whl/
# (see the device tool's README). Results are copied (flat) into $OUT. Usage: OUT=/tmp/gpu bash tools/gpu_session.sh
set -uo pipefail
OUT=${OUT:-/tmp/gpu-session}; mkdir -p "$OUT"
ICOT_BUDGET_S=${ICOT_BUDGET_S:-200}
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    2>&1 | grep -v "WARNING" | tail -3
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD/src:${PYTHONPATH:-} HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
log() { echo "[$(date +%H:%M:%S)] $*"; }

log "1. environment"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader; nproc;
  python3 -c "import sys, torch, transformers, trl, datasets, papermill; print(sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda, 'transformers', transformers.__version__, 'trl', trl.__version__, 'datasets', datasets.__version__, 'papermill', papermill.__version__)";
  python3 -c "import importlib.util as u; print('vllm installed:', u.find_spec('vllm') is not None)"; } 2>&1 | tee "$OUT/env.txt"

log "2. ICoT full-gpu profile, hub-free model (speed probe first)"
EPOCHS=$(python3 - "$ICOT_BUDGET_S" <<'PY'
import sys, time, torch
from transformers import GPT2Config, GPT2LMHeadModel
budget = float(sys.argv[1])
cfg = GPT2Config(vocab_size=24, n_positions=128, n_layer=4, n_embd=128, n_head=4)
m = GPT2LMHeadModel(cfg).cuda()
opt = torch.optim.AdamW(m.parameters(), lr=1e-3)
x = torch.randint(0, 24, (128, 72), device="cuda")
for i in range(60):
    if i == 10:
        torch.cuda.synchronize(); t = time.perf_counter()
    loss = m(input_ids=x, labels=x).loss; loss.backward(); opt.step(); opt.zero_grad()
torch.cuda.synchronize()
sps = 50 / (time.perf_counter() - t)
steps_per_epoch = 100000 // 128
# three methods share the budget; ~40% goes to decoding, evaluation and start-up
epochs = int(max(2, min(40, 0.6 * budget * sps / (3 * steps_per_epoch))))
print(f"probe: {sps:.0f} steps/s at batch 128 -> {epochs} epochs", file=sys.stderr)
print(epochs)
PY
)
log "epochs: $EPOCHS"
start=$(date +%s)
python3 -m helpers.run 09_icot -f params/09_icot/full-gpu.yaml --run-name gpu-hubfree --outputs /tmp/outputs \
  -p 'tasks=["mult:4"]' -p init_from=config:gpt2-mini -p n_train=100000 -p n_valid=128 -p n_test=1000 \
  -p n_epochs=$EPOCHS -p batch_size=128 -p learning_rate=0.001 -p pretrain_epochs=$(( EPOCHS / 3 )) \
  -p remove_per_epoch=12 -p 'task_overrides={}' -p eval_every=0 -p checkpoint_every=2000 \
  -p n_speed=50 -p eval_batch_size=500 2>&1 | tail -25
log "ICoT took $(( $(date +%s) - start )) s"
d=/tmp/outputs/09_icot/gpu-hubfree
for f in metrics.json run.json report.html params.yaml; do cp "$d/$f" "$OUT/icot-$f" 2>/dev/null; done

if [ -f notebooks/06_tulu.ipynb ] && [ -f params/06_tulu/quick.yaml ]; then
  log "3. Tulu quick world on the GPU"
  start=$(date +%s)
  python3 -m helpers.run 06_tulu -f params/06_tulu/quick.yaml --run-name gpu --outputs /tmp/outputs 2>&1 | tail -15
  log "Tulu took $(( $(date +%s) - start )) s"
  for f in metrics.json report.html; do cp "/tmp/outputs/06_tulu/gpu/$f" "$OUT/tulu-$f" 2>/dev/null; done
fi
log done
