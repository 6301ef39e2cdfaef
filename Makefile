# strata - the only entry point a user needs. See README.md.
#
#   make            build build/strata (release: optimised, with debug info)
#   make run        install missing packages, build, start the lab (strata serve) in the foreground
#   make test       install missing packages, build with ASan+UBSan, run every test
#   make bench      benchmarks (bench/README.md)
#   make bench-http the HTTP engine against nginx (bench/http.sh)
#   make bench-lab  the lab's pages against nginx plaintext, and a soak (bench/lab.sh)
#   make bench-kv   strata kv against redis-server on one core, and memory per key (bench/kv.sh)
#   make bench-tfb  the TechEmpower database tests against a Node.js peer (bench/tfb.sh)
#   make bench-blog the blog API against the Node.js peer (bench/blog.sh)
#   make fuzz       libFuzzer over every parser (FUZZ_SECONDS per target, default 30)
#   make fmt        clang-format the sources
#   make lint       clang-format check, clang-tidy, cppcheck
#   make install    install build/strata (PREFIX=/usr/local, DESTDIR honoured)
#   make clean      remove the build directories

PREFIX ?= /usr/local
DESTDIR ?=
FUZZ_SECONDS ?= 30
MESON ?= meson
NINJA ?= ninja

BUILD := build
ASAN := build-asan
FUZZ := build-fuzz
SOURCES := $(shell find src tests tools fuzz bench -name '*.[ch]' 2>/dev/null)

.PHONY: all strata run test deps test-deps bench bench-http bench-lab fuzz fmt lint install clean

all: strata

deps:
	@scripts/install-deps.sh build

test-deps:
	@scripts/install-deps.sh test

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD) --prefix=$(PREFIX) -Dtests=false

strata: $(BUILD)/build.ninja
	$(NINJA) -C $(BUILD)

# The main job: until the lab web app exists, the bank's stats and your progress.
# The lab in the foreground: prints the address to open; Ctrl-C stops it cleanly.
# LISTEN=HOST:PORT and DATA=DIR override the defaults (127.0.0.1:8080, $$XDG_DATA_HOME/strata).
LISTEN ?= 127.0.0.1:8080
run: deps
	@$(MAKE) --no-print-directory strata
	@$(BUILD)/strata questions stats
	@echo
	exec $(BUILD)/strata serve --listen $(LISTEN) $(if $(DATA),--data $(DATA))

$(ASAN)/build.ninja:
	$(MESON) setup $(ASAN) -Dbuildtype=debug -Doptimization=1 -Db_sanitize=address,undefined \
		-Db_lundef=false -Dtests=true

test: test-deps
	@$(MAKE) --no-print-directory $(ASAN)/build.ninja
	$(NINJA) -C $(ASAN)
	@scripts/test.sh $(ASAN)

# Reconfigure so a peer library installed just now (glib) is picked up.
bench: deps
	@scripts/install-deps.sh bench
	@$(MAKE) --no-print-directory $(BUILD)/build.ninja
	$(MESON) setup --reconfigure $(BUILD) >/dev/null
	$(NINJA) -C $(BUILD)
	bench/run.sh $(BUILD)

# The HTTP engine against nginx (several minutes; bench/README.md).
bench-http: deps
	@scripts/install-deps.sh bench
	@$(MAKE) --no-print-directory $(BUILD)/build.ninja
	$(NINJA) -C $(BUILD)
	bench/http.sh $(BUILD)

# The lab's question page and API list against nginx's plaintext, plus a 5-minute soak.
bench-lab: deps
	@scripts/install-deps.sh bench
	@$(MAKE) --no-print-directory $(BUILD)/build.ninja
	$(NINJA) -C $(BUILD)
	bench/lab.sh $(BUILD)

# strata kv against redis-server, both pinned to one core (bench/kv.sh).
.PHONY: bench-kv
bench-kv: deps
	@scripts/install-deps.sh bench
	@$(MAKE) --no-print-directory $(BUILD)/build.ninja
	$(NINJA) -C $(BUILD)
	bench/kv.sh $(BUILD)

# The TechEmpower database tests (PostgreSQL, SQLite) against fastify + pg (bench/tfb.sh).
.PHONY: bench-tfb
bench-tfb: deps
	@scripts/install-deps.sh bench
	@$(MAKE) --no-print-directory $(BUILD)/build.ninja
	$(NINJA) -C $(BUILD)
	bench/tfb.sh $(BUILD)

.PHONY: bench-blog
bench-blog: deps
	@scripts/install-deps.sh bench
	@$(MAKE) --no-print-directory $(BUILD)/build.ninja
	$(NINJA) -C $(BUILD)
	bench/blog.sh $(BUILD)

$(FUZZ)/build.ninja:
	CC=clang $(MESON) setup $(FUZZ) -Dbuildtype=debug -Doptimization=1 -Db_sanitize=address,undefined \
		-Db_lundef=false -Dtests=false -Dfuzzing=true

fuzz: deps
	@scripts/install-deps.sh fuzz
	@$(MAKE) --no-print-directory $(FUZZ)/build.ninja
	$(NINJA) -C $(FUZZ)
	@scripts/fuzz.sh $(FUZZ) $(FUZZ_SECONDS)

fmt:
	@scripts/install-deps.sh lint
	clang-format -i $(SOURCES)

lint: deps
	@scripts/install-deps.sh lint
	@$(MAKE) --no-print-directory strata
	@scripts/lint.sh $(BUILD) $(SOURCES)

install: strata
	$(MESON) configure $(BUILD) --prefix=$(PREFIX)
	$(NINJA) -C $(BUILD)
	DESTDIR=$(DESTDIR) $(MESON) install -C $(BUILD) --no-rebuild --skip-subprojects

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ)
