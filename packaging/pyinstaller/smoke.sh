#!/usr/bin/env bash
# Smoke-test and measure a PyInstaller bundle: packaging/pyinstaller/smoke.sh [BUNDLE_DIR]
# (default dist/resect). Runs from a temp dir, so nothing from the checkout can leak in:
# --version, --help, inspect on the bundled demo model (file only, then with TensorFlow),
# render, apply of a recipe with --verify, the app's Keras worker process, and the GUI under offscreen Qt until it has drawn the demo
# model's graph, then for 15 s. Prints size and times.
set -euo pipefail
bundle="$(cd "${1:-dist/resect}" && pwd)"
exe="$bundle/resect"
demo="$bundle/_internal/resect/resources/demo_model.keras"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
export TF_CPP_MIN_LOG_LEVEL=3 HOME="$work"

seconds() {  # seconds() LABEL CMD...: run CMD (output to $work/out), print LABEL and wall time
  local label="$1" start ms
  shift
  start=$(date +%s%N)
  if ! "$@" >"$work/out" 2>"$work/err"; then
    echo "FAILED: $label" >&2
    cat "$work/out" "$work/err" >&2
    exit 1
  fi
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  printf '%-50s %3d.%03d s\n' "$label" $((ms / 1000)) $((ms % 1000))
}

test -x "$exe" && test -f "$demo"
seconds "resect --version" "$exe" --version
grep -qx "resect [0-9][0-9a-z.]*" "$work/out"
seconds "resect --help" "$exe" --help
grep -q "inspect" "$work/out"
seconds "resect inspect --fast DEMO" "$exe" inspect --fast "$demo"
grep -q "Total params: 31,242" "$work/out"
seconds "resect inspect DEMO (TensorFlow)" "$exe" inspect "$demo"
grep -q "shared_embed" "$work/out"
# Keras must really have loaded it: a model Keras cannot load still prints (exit 0) with a warning
if grep -qi "^resect:\|cannot" "$work/err"; then echo "FAILED: inspect with TensorFlow warned:" >&2; cat "$work/err" >&2; exit 1; fi
seconds "resect render DEMO -o graph.png" "$exe" render "$demo" -o "$work/graph.png"
test -s "$work/graph.png"
cat >"$work/recipe.resect.json" <<'RECIPE'
{"format": "resect-recipe/1", "edits": [
  {"op": "set_input_shape", "input": "image", "shape": [64, 64, 3]},
  {"op": "replace_head", "at": "embed_concat",
   "layers": [{"class_name": "Dense", "config": {"units": 2, "activation": "softmax"}}]},
  {"op": "set_trainable", "trainable": false, "below": "block2_out"}]}
RECIPE
seconds "resect apply DEMO RECIPE -o out.keras --verify" "$exe" apply "$demo" "$work/recipe.resect.json" -o "$work/out.keras" --verify
grep -q "verify: max abs diff" "$work/out" && test -s "$work/out.keras"

# The app's Keras worker (`sys.executable -m resect.core.keras_backend.service`, entry.py's -m):
# ask it for the demo model's shapes and wait for its answer.
keras_worker() {
  local line result=""
  coproc WORKER { "$exe" -m resect.core.keras_backend.service 2>"$work/worker.err"; }
  echo "{\"id\": 1, \"op\": \"shapes\", \"path\": \"$demo\"}" >&"${WORKER[1]}"
  while IFS= read -r -t 120 line <&"${WORKER[0]}"; do
    case "$line" in
      *'"event": "done"'*) result=done; break ;;
      *'"event": "failed"'* | *import_failed*) echo "$line"; break ;;
    esac
  done
  eval "exec ${WORKER[1]}>&-"
  wait "$WORKER_PID" || true
  [ "$result" = done ]
}
seconds "Keras worker: demo model shapes" keras_worker
seconds "resect (GUI, offscreen) to graph drawn" env QT_QPA_PLATFORM=offscreen RESECT_BENCH_EXIT_AFTER_DRAW=1 timeout 120 "$exe"
grep -o "drawn_after_s=[0-9.]*" "$work/out"
# The real app (TensorFlow loading in the background) must still be running after 15 s.
status=0
QT_QPA_PLATFORM=offscreen timeout 15 "$exe" >"$work/out" 2>"$work/err" || status=$?
if [ "$status" != 124 ] || grep -q Traceback "$work/err"; then
  echo "FAILED: the GUI did not keep running for 15 s (exit $status)" >&2
  cat "$work/err" >&2
  exit 1
fi
echo "GUI on the demo model ran 15 s without an error"
echo "size: $(du -sh "$bundle" | cut -f1) ($(find "$bundle" -type f | wc -l) files)"
