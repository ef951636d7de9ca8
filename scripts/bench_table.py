#!/usr/bin/env python3
"""The performance table of docs/performance.md (called by scripts/bench-table, i.e. `make bench`).

Runs reglet-bench (Google Benchmark, 5 repetitions, aggregates only, JSON), then the measurements
that are whole processes rather than benchmarks (peak RSS of `reglet observe`; wall time and peak
RSS of `reglet check` on a generated profile of 1,000 `file` controls), once per engine tier
(`--engine interp`, `--engine aot`), and prints one table: metric, value, unit, target,
comparison, spread. Ratios are computed from the medians of this run.

    scripts/bench-table BUILD_DIR [--json FILE] [--skip-processes] [reglet-bench args...]

--json FILE reuses a saved reglet-bench result instead of running it (the result of every run is
kept in BUILD_DIR/bench/results.json). Arguments it does not know go to reglet-bench, e.g.
--benchmark_filter=fib.
"""

import datetime
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

REPETITIONS = 5
CHECK_CONTROLS = 1000
# The tiers of the whole-process steps when the benchmark results name none (a filtered run).
DEFAULT_TIERS = ["interp", "aot"]
# The compute kernels whose geometric mean of the ratio to native is reported per tier.
KERNELS = ["fib30", "sha256_8MiB", "json_4MiB", "matmul_200"]

# Targets, per tier (the issues' acceptance figures). A metric without a target for a tier shows
# none: the tiers' targets differ, and a figure is only judged against what was asked of it.
TARGETS = {
    "interp": {
        "host_call_overhead_pct": 20,   # vs bare WABT
        "instantiate_us": 50,
        "observe_trivial_us": 100,
        "observe_file_us": 150,
        "observe_rss_mib": 30,
        "check_wall_s": 1.0,
        "check_rss_mib": 200,
    },
    "aot": {
        "kernels_geomean": 1.3,         # × native
        "host_call_ns": 5,
        "instantiate_us": 20,
        "check_wall_s": 0.3,
    },
}


def target(tier, key):
    return TARGETS.get(tier, {}).get(key)


def die(message):
    sys.stderr.write("bench-table: %s\n" % message)
    sys.exit(2)


def note(message):
    sys.stderr.write("bench-table: %s\n" % message)
    sys.stderr.flush()


# --------------------------------------------------------------------------------------------
# Machine


def build_type(build):
    try:
        with open(os.path.join(build, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith("CMAKE_BUILD_TYPE:"):
                    return line.split("=", 1)[1].strip() or "none"
    except OSError:
        pass
    return "?"


def machine_header(build):
    model = "unknown"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
                break
    except (OSError, subprocess.CalledProcessError):
        pass
    mem_gib = 0.0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem_gib = int(line.split()[1]) / (1024 * 1024)
    except OSError:
        pass
    return {
        "model": model,
        "cores": os.cpu_count(),
        "memory_gib": mem_gib,
        "kernel": platform.release(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "build": build,
    }


def load_text():
    one, five, fifteen = os.getloadavg()
    return "%.2f %.2f %.2f" % (one, five, fifteen)


# --------------------------------------------------------------------------------------------
# reglet-bench


def run_bench(build, extra_args, json_path):
    binary = os.path.join(build, "bench", "reglet-bench")
    if not os.access(binary, os.X_OK):
        die("%s not found: build it first (cmake --build %s --target reglet-bench)" % (binary, build))
    args = [
        binary,
        "--benchmark_repetitions=%d" % REPETITIONS,
        "--benchmark_report_aggregates_only=true",
        "--benchmark_format=json",
    ] + extra_args
    note("running %s (a few minutes; keep the machine otherwise idle)" % " ".join(args))
    proc = subprocess.run(args, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        die("reglet-bench exited %d" % proc.returncode)
    with open(json_path, "w") as f:
        f.write(proc.stdout)
    return json.loads(proc.stdout)


TO_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def parse_bench(data):
    """{run_name: {aggregate: real_time_ns, ..., "counters": {...}, "error": str}}"""
    runs = {}
    for b in data.get("benchmarks", []):
        # Without the suffixes of UseRealTime() and of a fixed Iterations(N).
        name = re.sub(r"(/iterations:\d+)?(/real_time)?$", "", b.get("run_name", b["name"]))
        entry = runs.setdefault(name, {"counters": {}})
        if b.get("error_occurred"):
            entry["error"] = b.get("error_message", "error")
            continue
        agg = b.get("aggregate_name")
        if agg is None:  # repetitions=1 without aggregates
            agg = "median"
        if agg == "cv":
            entry["cv"] = b["real_time"]  # a fraction, not a time
            continue
        entry[agg] = b["real_time"] * TO_NS[b.get("time_unit", "ns")]
        if agg == "median":  # the stddev aggregate of a constant counter is 0, not the counter
            for key in ("per_iter", "wasm_bytes", "image_bytes", "tokens"):
                if key in b:
                    entry["counters"][key] = b[key]
    return runs


# --------------------------------------------------------------------------------------------
# Whole-process measurements


def time_process(args, cwd=None):
    """Runs args; returns (wall seconds, peak RSS in KiB, exit code, output)."""
    use_time = shutil.which("time") or (os.access("/usr/bin/time", os.X_OK) and "/usr/bin/time")
    if use_time:
        # GNU time -v reports "Maximum resident set size (kbytes)" of the child.
        full = [use_time, "-v"] + args
        start = time.perf_counter()
        proc = subprocess.run(full, capture_output=True, text=True, cwd=cwd)
        wall = time.perf_counter() - start
        match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
        rss = int(match.group(1)) if match else None
        status = re.search(r"Exit status: (\d+)", proc.stderr)
        code = int(status.group(1)) if status else proc.returncode
        return wall, rss, code, proc.stdout + proc.stderr
    # No GNU time: wait4() gives this child's own rusage (ru_maxrss in KiB on Linux).
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=cwd)
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss, proc.returncode, output.decode(errors="replace")


def summary(values):
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "cv": (statistics.stdev(values) / statistics.mean(values)) if len(values) > 1 else 0.0,
    }


def engine_args(build, tier):
    """reglet's engine flags for a tier. The AOT tier uses the cache reglet-bench uses
    (BUILD/bench/aot-cache): a plugin that is not built in (os_release.wasm) is compiled by the
    unmeasured warm-up run, and the measured runs load the cached object."""
    args = ["--engine", tier]
    if tier == "aot":
        args += ["--aot-cache", os.path.abspath(os.path.join(build, "bench", "aot-cache"))]
    return args


def measure_observe_rss(build, tier):
    reglet = os.path.join(build, "reglet")
    plugin = os.path.join(build, "sdk", "os_release.wasm")
    if not os.path.exists(plugin):
        die("%s not found (cmake --build %s)" % (plugin, build))
    args = [reglet, "observe", plugin, "--config", "{}",
            "--grant", "fs:read:/etc/os-release", "--grant", "fs:read:/usr/lib/os-release"]
    args += engine_args(build, tier)
    # One unmeasured run first: the page cache, and on the AOT tier the compiled object (GNU
    # time's peak RSS would otherwise be the C compiler's, a child of reglet).
    _, _, code, output = time_process(args)
    if code != 0:
        die("reglet observe os_release (%s) failed (exit %s):\n%s" % (tier, code, output))
    rss = []
    for _ in range(REPETITIONS):
        _, peak, code, output = time_process(args)
        if code != 0 or peak is None:
            die("reglet observe os_release failed (exit %s):\n%s" % (code, output))
        rss.append(peak / 1024.0)
    return {"rss_mib": summary(rss), "plugin_bytes": os.path.getsize(plugin)}


def generate_check_profile(build):
    """CHECK_CONTROLS `file` controls over files that exist (created here, in the build dir), with
    the grants in the profile's grants: section."""
    base = os.path.abspath(os.path.join(build, "bench", "check-%d" % CHECK_CONTROLS))
    files = os.path.join(base, "files")
    os.makedirs(files, exist_ok=True)
    paths = []
    for i in range(CHECK_CONTROLS):
        path = os.path.join(files, "file-%04d.conf" % i)
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write("setting_%d = %d\n" % (i, i))
            os.chmod(path, 0o644)
        paths.append(path)
    lines = [
        "# Generated by scripts/bench_table.py: %d file controls (reglet check benchmark)."
        % CHECK_CONTROLS,
        "profile: {name: bench-check-%d, version: 1.0.0, description: generated}" % CHECK_CONTROLS,
        "plugins: [file]",
        "grants:",
        "  file:",
        "    - \"fs:read:%s/**\"" % files,
        "controls:",
        "  defaults: {severity: medium, timeout: 30s}",
        "  items:",
    ]
    for i, path in enumerate(paths):
        lines += [
            "    - id: file-%04d" % i,
            "      name: file %d exists and is a regular file" % i,
            "      observations:",
            "        - plugin: file",
            "          config: {path: \"%s\"}" % path,
            "          expect: [\"data.exists == true\", \"not data.is_dir\", "
            "\"data.mode == \\\"0644\\\"\"]",
        ]
    profile = os.path.join(base, "profile.yaml")
    with open(profile, "w") as f:
        f.write("\n".join(lines) + "\n")
    return base, profile


def measure_check(build, tier):
    reglet = os.path.join(build, "reglet")
    base, profile = generate_check_profile(build)
    report = os.path.join(base, "report.json")
    args = [reglet, "check", profile, "--format", "json", "-o", report, "--no-progress"]
    args += engine_args(build, tier)
    # One unmeasured run first: it fills the page cache the measured runs then share.
    _, _, code, output = time_process(args)
    if code != 0:
        die("reglet check (%s) on the generated profile exited %d (expected 0):\n%s"
            % (tier, code, output[-2000:]))
    walls, rss = [], []
    for _ in range(REPETITIONS):
        wall, peak, code, output = time_process(args)
        if code != 0 or peak is None:
            die("reglet check (%s) exited %d:\n%s" % (tier, code, output[-2000:]))
        walls.append(wall)
        rss.append(peak / 1024.0)
    with open(report) as f:
        counts = json.load(f).get("summary", {})
    if counts.get("passed") != CHECK_CONTROLS:
        die("expected %d passed controls, the report says %s" % (CHECK_CONTROLS, counts))
    return {"wall_s": summary(walls), "rss_mib": summary(rss), "profile": profile,
            "controls": CHECK_CONTROLS}


# --------------------------------------------------------------------------------------------
# The table


class Table:
    def __init__(self, repetitions):
        self.repetitions = repetitions
        self.rows = []

    def section(self, title):
        self.rows.append(("section", title))

    def row(self, metric, value, unit, target="", comparison="", spread=""):
        self.rows.append(("row", (metric, value, unit, target, comparison, spread)))

    def render(self):
        header = ("metric", "value", "unit", "target", "comparison",
                  "spread: min–max of %d runs" % self.repetitions)
        body = [r[1] for r in self.rows if r[0] == "row"]
        widths = [max(len(header[i]), *(len(r[i]) for r in body)) if body else len(header[i])
                  for i in range(len(header))]

        def line(cells):
            return "| " + " | ".join(c.ljust(widths[i]) for i, c in enumerate(cells)) + " |"

        out = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        for kind, content in self.rows:
            if kind == "section":
                out.append(line(("**%s**" % content,) + ("",) * (len(header) - 1)))
            else:
                out.append(line(content))
        return "\n".join(out)


def fmt(value, digits=None):
    if value is None:
        return "n/a"
    if digits is None:
        digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    return "%.*f" % (digits, value)


def repetitions_of(data):
    for b in data.get("benchmarks", []):
        if "repetitions" in b:
            return b["repetitions"]
    return 1


def spread_of(entry, scale):
    if not entry or "min" not in entry:
        return ""
    text = "%s–%s" % (fmt(entry["min"] / scale), fmt(entry["max"] / scale))
    if "cv" in entry:
        text += ", cv %.1f%%" % (entry["cv"] * 100)
    return text


def verdict(ok):
    return "**met**" if ok else "**NOT met**"


def fmt_target(value):
    return ("%g" % value)


KERNEL_ROWS = [
    # (benchmark prefix, label, MiB processed per run or None)
    ("fib30", "fib(30)", None),
    ("sha256_8MiB", "SHA-256 of 8 MiB", 8),
    ("json_4MiB", "JSON tokenizer over 4 MiB", 4),
    ("matmul_200", "200×200 matrix multiply (double)", None),
]


def geomean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values))


def build_table(runs, processes, tiers, repetitions):
    t = Table(repetitions)

    def get(name):
        entry = runs.get(name)
        if entry is None or "error" in entry or "median" not in entry:
            return None
        return entry

    def median(name):
        entry = get(name)
        return entry["median"] if entry else None

    def per_iter(name):
        entry = get(name)
        return entry["median"] / entry["counters"].get("per_iter", 1) if entry else None

    def per_call_delta(prefix, tier):
        # (T(repeat=N) - T(repeat=0)) / N from the medians
        many, none = get("%s/plugin_x100/%s" % (prefix, tier)), get("%s/plugin_x0/%s" % (prefix, tier))
        if not many or not none:
            return None, ""
        n = many["counters"].get("per_iter", 100)
        value = (many["median"] - none["median"]) / n
        low = (many["min"] - none["max"]) / n
        high = (many["max"] - none["min"]) / n
        return value, "%s–%s (worst pairs)" % (fmt(low / 1e3), fmt(high / 1e3))

    def ratio_text(a, b, what):
        if a is None or b is None or b == 0:
            return ""
        return "%s× %s" % (fmt(a / b), what)

    def limit(tier, key, unit):
        """The target column for a tier's metric ("" when the tier has none)."""
        value = target(tier, key)
        return "" if value is None else "≤ %s %s" % (fmt_target(value), unit)

    def judge(tier, key, value):
        """The verdict for a tier's metric ("" when it has no target or no value)."""
        value_target = target(tier, key)
        if value_target is None or value is None:
            return ""
        return verdict(value <= value_target)

    def joined(*parts):
        return ", ".join(p for p in parts if p)

    errors = {name: e["error"] for name, e in runs.items() if "error" in e}

    # --- runtime core
    t.section("Engine / runtime (runtime core)")
    bare = per_iter("host_call/bare_wabt")
    bare_entry = get("host_call/bare_wabt")
    t.row("1. host call, bare WABT interp (baseline)", fmt(bare), "ns/call", "", "",
          spread_of(bare_entry, bare_entry["counters"]["per_iter"]) if bare_entry else "")
    inst = per_iter("host_call/bare_wabt_instrumented")
    inst_entry = get("host_call/bare_wabt_instrumented")
    t.row("   bare WABT, instrumented module (decomposition)", fmt(inst), "ns/call", "",
          ("%+.0f%% vs bare" % ((inst / bare - 1) * 100)) if inst and bare else "",
          spread_of(inst_entry, inst_entry["counters"]["per_iter"]) if inst_entry else "")
    for tier in tiers:
        ours = per_iter("host_call/%s" % tier)
        entry = get("host_call/%s" % tier)
        overhead = (ours / bare - 1) * 100 if ours and bare else None
        comparison = "%+.0f%% vs bare" % overhead if overhead is not None else ""
        if target(tier, "host_call_overhead_pct") is not None:
            goal = "≤ +%d%% vs bare" % target(tier, "host_call_overhead_pct")
            comparison = joined(comparison, judge(tier, "host_call_overhead_pct", overhead))
        else:
            goal = limit(tier, "host_call_ns", "ns")
            comparison = joined(comparison, judge(tier, "host_call_ns", ours))
        t.row("1. host call, engine::HostFunc (%s)" % tier, fmt(ours), "ns/call", goal,
              comparison, spread_of(entry, entry["counters"]["per_iter"]) if entry else "")
        general = per_iter("host_call_general/%s" % tier)
        general_entry = get("host_call_general/%s" % tier)
        if general is not None:
            t.row("   general form (Value conversion, std::function; WASI's) (%s)" % tier,
                  fmt(general), "ns/call", "",
                  ("%.2fx the direct form" % (general / ours)) if ours else "",
                  spread_of(general_entry, general_entry["counters"]["per_iter"])
                  if general_entry else "")
        if tier == "interp" and ours and inst and bare:
            # The same instrumented module on both sides: what our dispatch alone adds.
            t.row("   of which our dispatch (vs bare WABT, same instrumented module)",
                  fmt(ours - inst), "ns/call", "",
                  "%+.0f%% of the bare cost" % ((ours - inst) / bare * 100), "")

    for tier in tiers:
        entry = get("instantiate_image/%s" % tier)
        init = get("instantiate_initialize/%s" % tier)
        label = "2. fresh instance from image (%s)" % tier
        if entry:
            label = "2. fresh instance from image, `file` plugin %d KB wasm, %d KiB image (%s)" % (
                entry["counters"].get("wasm_bytes", 0) / 1000,
                entry["counters"].get("image_bytes", 0) / 1024, tier)
        value = entry and entry["median"] / 1e3
        t.row(label, fmt(value), "µs", limit(tier, "instantiate_us", "µs"),
              joined(judge(tier, "instantiate_us", value),
                     ratio_text(init and init["median"], entry and entry["median"],
                                "faster than instantiate + `_initialize`")),
              spread_of(entry, 1e3))
        t.row("   instantiate without image + `_initialize` (%s)" % tier,
              fmt(init and init["median"] / 1e3), "µs", "", "", spread_of(init, 1e3))

    for tier in tiers:
        # The runtime's own fixed cost (a WAT plugin returning a constant), then the same with
        # the SDK's guest-side JSON parsing and printing added: lean (JsonFields/JsonWriter) and
        # with Json trees.
        for name, label in (("observe_trivial_wat", "trivial WAT plugin"),
                            ("observe_trivial_lean", "trivial SDK plugin, lean JSON"),
                            ("observe_trivial", "trivial SDK plugin, Json trees")):
            entry = get("%s/%s" % (name, tier))
            value = entry and entry["median"] / 1e3
            t.row("3. observe round trip, %s (%s)" % (label, tier), fmt(value), "µs",
                  limit(tier, "observe_trivial_us", "µs"),
                  judge(tier, "observe_trivial_us", value), spread_of(entry, 1e3))

    ratios = {tier: [] for tier in tiers + ["bare_wabt"]}
    for prefix, label, mib in KERNEL_ROWS:
        native = get("%s/native" % prefix)
        for tier in tiers + ["bare_wabt"]:
            entry = get("%s/%s" % (prefix, tier))
            if entry and native:
                ratios[tier].append(entry["median"] / native["median"])
            throughput = ""
            if entry and mib:
                throughput = "%s MiB/s" % fmt(mib / (entry["median"] / 1e9))
            name = ("4. %s in a plugin (%s)" % (label, tier) if tier != "bare_wabt"
                    else "   %s in bare WABT, uninstrumented" % label)
            t.row(name, fmt(entry and entry["median"] / 1e6), "ms", "",
                  joined(ratio_text(entry and entry["median"], native and native["median"],
                                    "native"), throughput), spread_of(entry, 1e6))
        throughput = ("%s MiB/s" % fmt(mib / (native["median"] / 1e9))) if native and mib else ""
        tokens = native and native["counters"].get("tokens")
        t.row("   %s native (gcc -O2)" % label, fmt(native and native["median"] / 1e6), "ms", "",
              joined(throughput, "%d tokens" % tokens if tokens else ""), spread_of(native, 1e6))
    for tier in tiers + ["bare_wabt"]:
        complete = len(ratios[tier]) == len(KERNEL_ROWS)
        value = geomean(ratios[tier]) if complete else None
        name = ("4. kernels, geometric mean of the ratio to native (%s)" % tier
                if tier != "bare_wabt" else "   kernels geomean, bare WABT, uninstrumented")
        t.row(name, fmt(value), "× native",
              ("≤ %s×" % fmt_target(target(tier, "kernels_geomean"))
               if target(tier, "kernels_geomean") else ""),
              joined(judge(tier, "kernels_geomean", value),
                     "of %s" % ", ".join(p for p, _, _ in KERNEL_ROWS) if complete else
                     "incomplete: %d of %d kernels" % (len(ratios[tier]), len(KERNEL_ROWS))),
              "")

    if "observe" in processes:
        for tier in tiers:
            o = processes["observe"].get(tier)
            if not o:
                continue
            rss = o["rss_mib"]
            t.row("5. peak RSS, `reglet observe` os_release.wasm (%d KB) (%s)"
                  % (o["plugin_bytes"] / 1000, tier),
                  fmt(rss["median"]), "MiB", limit(tier, "observe_rss_mib", "MiB"),
                  judge(tier, "observe_rss_mib", rss["max"]),
                  "%s–%s" % (fmt(rss["min"]), fmt(rss["max"])))

    # --- AOT compilation
    cold = get("aot_compile/cold/trivial")
    hit = get("aot_compile/cache_hit/trivial")
    loaded = get("aot_compile/loaded/trivial")
    if cold or hit or loaded:
        t.section("AOT compilation (aot tier)")
        size = ""
        if cold and cold["counters"].get("wasm_bytes"):
            size = " (%d KB wasm)" % (cold["counters"]["wasm_bytes"] / 1000)
        t.row("11. compile a plugin cold: C generation + cc -O2 + dlopen, trivial SDK plugin%s"
              % size, fmt(cold and cold["median"] / 1e6), "ms", "", "", spread_of(cold, 1e6))
        t.row("11. load from the cache (new process): hash + dlopen + bind",
              fmt(hit and hit["median"] / 1e6), "ms", "",
              ratio_text(cold and cold["median"], hit and hit["median"], "faster than cold"),
              spread_of(hit, 1e6))
        t.row("    load again in the same process (object already mapped)",
              fmt(loaded and loaded["median"] / 1e3), "µs", "", "", spread_of(loaded, 1e3))

    # --- outside world
    t.section("Host functions (outside world)")
    stat_native = get("fs_stat/native")
    names_native = get("fs_stat/native_with_names")
    host_stat = get("fs_stat/host_only")
    for tier in tiers:
        value, spread = per_call_delta("fs_stat", tier)
        t.row("6. fs_stat per call through a plugin (%s)" % tier, fmt(value and value / 1e3), "µs",
              "", ratio_text(value, stat_native and stat_native["median"], "native stat()"),
              spread)
    t.row("   fs_stat host function alone (no guest)", fmt(host_stat and host_stat["median"] / 1e3),
          "µs", "", ratio_text(host_stat and host_stat["median"],
                               stat_native and stat_native["median"], "native stat()"),
          spread_of(host_stat, 1e3))
    t.row("   native stat() + getpwuid_r + getgrgid_r",
          fmt(names_native and names_native["median"] / 1e3), "µs", "", "",
          spread_of(names_native, 1e3))
    t.row("   native stat()", fmt(stat_native and stat_native["median"] / 1e3, 3), "µs", "", "",
          spread_of(stat_native, 1e3))
    host_env = get("env_get/host_only")
    for tier in tiers:
        value, spread = per_call_delta("env_get", tier)
        t.row("7. env_get per call through a plugin (%s)" % tier, fmt(value and value / 1e3), "µs",
              "", "", spread)
    t.row("   env_get host function alone (no guest)", fmt(host_env and host_env["median"] / 1e3),
          "µs", "", "", spread_of(host_env, 1e3))
    for tier in tiers:
        entry = get("observe_file/%s" % tier)
        value = entry and entry["median"] / 1e3
        t.row("8. `file` observation end to end (%s)" % tier, fmt(value), "µs",
              limit(tier, "observe_file_us", "µs"), judge(tier, "observe_file_us", value),
              spread_of(entry, 1e3))
    curl = get("http_get/libcurl")
    for tier in tiers:
        entry = get("http_get/%s" % tier)
        t.row("9. HTTP GET, loopback, http plugin (%s)" % tier, fmt(entry and entry["median"] / 1e3),
              "µs", "", ratio_text(entry and entry["median"], curl and curl["median"],
                                   "libcurl directly"), spread_of(entry, 1e3))
    t.row("   HTTP GET, loopback, libcurl directly", fmt(curl and curl["median"] / 1e3), "µs", "",
          "", spread_of(curl, 1e3))

    # --- reglet command
    if "check" in processes:
        t.section("reglet check (reglet command)")
        for tier in tiers:
            c = processes["check"].get(tier)
            if not c:
                continue
            wall, rss = c["wall_s"], c["rss_mib"]
            t.row("10. `reglet check`, %d `file` controls: wall time (%s)" % (c["controls"], tier),
                  fmt(wall["median"], 3), "s", limit(tier, "check_wall_s", "s"),
                  judge(tier, "check_wall_s", wall["median"]),
                  "%s–%s, cv %.1f%%" % (fmt(wall["min"], 3), fmt(wall["max"], 3),
                                        wall["cv"] * 100))
            t.row("10. `reglet check`, %d `file` controls: peak RSS (%s)" % (c["controls"], tier),
                  fmt(rss["median"]), "MiB", limit(tier, "check_rss_mib", "MiB"),
                  judge(tier, "check_rss_mib", rss["max"]),
                  "%s–%s" % (fmt(rss["min"]), fmt(rss["max"])))
    return t, errors


def main():
    argv = sys.argv[1:]
    if not argv or argv[0].startswith("-"):
        die("usage: scripts/bench-table BUILD_DIR [--json FILE] [--skip-processes] [bench args]")
    build = argv[0]
    json_in, skip_processes, extra = None, False, []
    i = 1
    while i < len(argv):
        if argv[i] == "--json" and i + 1 < len(argv):
            json_in = argv[i + 1]
            i += 2
            continue
        if argv[i] == "--skip-processes":
            skip_processes = True
        else:
            extra.append(argv[i])
        i += 1

    machine = machine_header(build)
    load_before = load_text()
    if json_in:
        with open(json_in) as f:
            data = json.load(f)
    else:
        data = run_bench(build, extra, os.path.join(build, "bench", "results.json"))
    runs = parse_bench(data)
    # The tiers reglet-bench measured, in the order of bench::tiers() (interp first).
    tiers = sorted({name.rsplit("/", 1)[1] for name in runs if name.startswith("observe_trivial/")},
                   key=lambda tier: (DEFAULT_TIERS + [tier]).index(tier))
    processes = {}
    if not skip_processes:
        process_tiers = tiers or DEFAULT_TIERS
        processes = {"observe": {}, "check": {}}
        for tier in process_tiers:
            note("peak RSS of reglet observe --engine %s (1 warm-up + %d runs)"
                 % (tier, REPETITIONS))
            processes["observe"][tier] = measure_observe_rss(build, tier)
            note("reglet check --engine %s on %d generated file controls (1 warm-up + %d runs)"
                 % (tier, CHECK_CONTROLS, REPETITIONS))
            processes["check"][tier] = measure_check(build, tier)
        if not tiers:
            tiers = process_tiers
    load_after = load_text()
    repetitions = repetitions_of(data)
    table, errors = build_table(runs, processes, tiers, repetitions)
    print("Reglet performance — %s" % machine["date"])
    print("machine: %s, %s cores, %.0f GiB, Linux %s; build: %s (%s)" % (
        machine["model"], machine["cores"], machine["memory_gib"], machine["kernel"],
        machine["build"], build_type(build)))
    print("load average (1/5/15 min): %s before, %s after; values are medians of %d repetitions"
          " (benchmarks) and %d runs (processes); tiers: %s"
          % (load_before, load_after, repetitions, REPETITIONS, ", ".join(tiers) or "none"))
    print()
    print(table.render())
    if errors:
        print()
        for name, message in sorted(errors.items()):
            print("FAILED %s: %s" % (name, message))
        sys.exit(1)


if __name__ == "__main__":
    main()
