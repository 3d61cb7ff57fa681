# make setup: virtualenv at .venv with everything; make run: the app on the demo model;
# make test: the whole suite (offscreen Qt); make bench: speed table vs plain Keras.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.resect-installed

.PHONY: setup run test bench lint bundle icons clean

setup: $(STAMP)

$(STAMP): pyproject.toml tools/install_system_deps.sh
	bash tools/install_system_deps.sh
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	# runtime: `convert --verify` runs a tf.keras 2 original with tf.keras 2 (and the tests write Keras 2
	# files with it). --no-deps: tf-keras requires `tensorflow`, which would install the full wheel beside
	# tensorflow-cpu; it needs nothing else (see pyproject.toml).
	$(PY) -m pip install -q --no-deps tf-keras==2.21.0
	# KerasHub models (Backbones, Tasks, presets): keras-hub declares tensorflow-text, which pulls the full
	# `tensorflow` wheel beside tensorflow-cpu (a second TensorFlow), plus kagglehub / huggingface-hub for
	# downloads Resect never makes. `import keras_hub` needs only regex (pyproject) and tokenizers, whose own
	# declared dependency (huggingface-hub) is for downloads too: both go in with --no-deps.
	$(PY) -m pip install -q --no-deps keras-hub==0.32.0 tokenizers==0.23.3
	touch $(STAMP)

run: setup
	$(PY) main.py

# Two passes: every test but the timing ones on TEST_WORKERS processes (pytest-xdist; the suite
# is mostly single-threaded Python, so two cores nearly halve it), then the `serial` ones alone,
# so nothing competes with what they time. The second pass may select nothing (exit 5) when
# PYTEST_ARGS narrows the run.
TEST_WORKERS ?= 2
PYTEST := QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider

test: setup
	$(PYTEST) -n $(TEST_WORKERS) -m "not serial" $(PYTEST_ARGS)
	$(PYTEST) -m serial $(PYTEST_ARGS) || [ $$? -eq 5 ]

bench: setup
	$(PY) bench/run.py

lint: setup
	$(VENV)/bin/ruff check core app cli tests bench resources packaging
	$(VENV)/bin/ruff format --check core app cli tests bench resources packaging
	$(VENV)/bin/lint-imports

# One-folder PyInstaller bundle in dist/resect/ (slow; not part of `make test`), then smoke-test and measure it.
bundle: setup
	$(PY) -m pip install -q pyinstaller==6.22.3 pyinstaller-hooks-contrib==2026.9
	$(VENV)/bin/pyinstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller packaging/pyinstaller/resect.spec
	bash packaging/pyinstaller/smoke.sh dist/resect

# Re-render packaging/linux/icons from resources/resect.svg (tests/test_packaging.py checks they are fresh).
icons: setup
	$(PY) packaging/linux/make_icons.py

clean:
	rm -rf build dist *.egg-info
