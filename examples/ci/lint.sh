#!/usr/bin/env bash
# Render every example config, lint the output with vllmkube, then run kubeconform on it.
# Works in any CI: needs python3 with vllmkube installed (`pip install .` from a checkout of its
# repository; it is not on PyPI), and kubeconform on PATH for step 3.
#
#   examples/ci/lint.sh [SCHEMAS]     SCHEMAS: CRD schema folder in kubeconform's layout
#                                     (default ../shared/schemas; a CRDs-catalog checkout works)
set -euo pipefail
cd "$(dirname "$0")/../.."
schemas="${1:-../shared/schemas}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# 1. render: one file per example (the same command users run)
for config in examples/*/vllmkube.yaml; do
  name="$(basename "$(dirname "$config")")"
  vllmkube render -f "$config" > "$out/$name.yaml"
done

# 2. lint: schema layer + vLLM rules; exit 1 on errors, 2 on unusable input
vllmkube lint "$out" --schema-location "$schemas"

# 3. kubeconform: a second, independent schema check with the same schemas
if command -v kubeconform >/dev/null 2>&1; then
  kubeconform -strict -summary -kubernetes-version 1.31.0 \
    -schema-location "$schemas/kubernetes" \
    -schema-location "$schemas/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json" \
    "$out"
else
  echo "kubeconform not on PATH: skipped (https://github.com/yannh/kubeconform)" >&2
fi
