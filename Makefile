# zixly: top-level build. Each part builds alone; this file ties them together.
#   make          build every part (executables land in bin/)
#   make install  install the PostgreSQL extension (as root)
#   make test     install missing Debian packages, build, install, run every suite
#   make run      start a local cluster, the workers and the app with sample data
#   make bench    the benchmarks of bench/ (RESULT lines, comparable with bench/peers)
#   make clean
PARTS := extension $(wildcard worker) $(wildcard kore-app)

.PHONY: all deps install test run bench clean $(PARTS)

all: deps
	@for p in $(PARTS); do $(MAKE) --no-print-directory -C $$p || exit 1; done

deps:
	@scripts/install-deps.sh

install: all
	$(MAKE) --no-print-directory -C extension install

test: install
	@if [ -f worker/Makefile ]; then $(MAKE) --no-print-directory -C worker SANITIZE=1; fi
	@if [ -f kore-app/Makefile ]; then $(MAKE) --no-print-directory -C kore-app SANITIZE=1; fi
	@if [ -f test/unit/Makefile ]; then $(MAKE) --no-print-directory -C test/unit && \
		$(MAKE) --no-print-directory -C test/unit SANITIZE=1; fi
	test/run.sh

run: install
	scripts/run.sh

bench: install
	bench/run.sh

clean:
	@for p in $(PARTS); do $(MAKE) --no-print-directory -C $$p clean; done
	rm -rf bin build test/output
