#!/usr/bin/env bash
# Deployment files, checked without a Docker engine or a Kubernetes cluster:
#   - docker-compose.yml: every build context, Dockerfile, mounted path and ${VARIABLE} exists or
#     is defined (.env.example or a default); pipeline-worker scales (2 replicas, no fixed name or
#     host port); health checks; env names the app and worker really read;
#   - the Dockerfiles: multi-stage, COPY sources present and not docker-ignored, non-root
#     runtime, HEALTHCHECK;
#   - deploy/k8s/*.yaml: kinds, apiVersions, required fields, selectors, probes, secrets only by
#     reference, the KEDA ScaledObject;
#   - Grafana provisioning and dashboards: JSON, datasources, targets, variables;
#   - promtool check config / check rules, and promtool test rules on synthetic series;
#   - systemd-analyze verify on the worker unit;
#   - the compose init script, deploy/sql/roles.sql and the KEDA query against a real cluster.
# Needs /usr/bin/python3 with yaml (python3-yaml), promtool (prometheus), jq.
. "$(dirname "$0")/../lib/harness.sh"
cd "$ZX_ROOT" || bail "no repository root"
PY=/usr/bin/python3
"$PY" -c 'import yaml' 2>/dev/null || bail "python3-yaml is missing (apt-get install python3-yaml)"
command -v promtool >/dev/null || bail "promtool is missing (apt-get install prometheus)"
TMP=$(mktemp -d /tmp/zixly-deploy.XXXXXX)
zx_on_exit "rm -rf '$TMP'"

# ------------------------------------------------------------------ static checks (python)
# Prints one line per check: "ok<TAB>name" or "not ok<TAB>name<TAB>diagnostic".
run_checks() {
"$PY" - "$ZX_ROOT" <<'PY'
import fnmatch, glob, json, os, re, sys
import yaml

root = sys.argv[1]
os.chdir(root)

def report(cond, name, diag=""):
    print(("ok" if cond else "not ok") + "\t" + name + ("\t" + str(diag).replace("\n", " | ") if not cond and diag else ""))
    sys.stdout.flush()

def load_yaml(path, multi=False):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None] if multi else yaml.safe_load(f)

# ---------------------------------------------------------------- known settings of the parts
def worker_settings():
    names = set()
    for p in ("worker/src/config.c",):
        if os.path.exists(p):
            names |= set(re.findall(r'"(ZIXLY_[A-Z_]+|DATABASE_URL)"', open(p).read()))
    return names | {"PGPASSWORD", "PGPASSFILE", "PGSSLMODE"}

def app_settings():
    names = set()
    for p in glob.glob("kore-app/src/*.c") + ["scripts/zixly-app"]:
        if os.path.exists(p):
            names |= set(re.findall(r'"?(ZIXLY_[A-Z_]+|DATABASE_URL)"?', open(p).read()))
    return names | {"PGPASSWORD", "PGPASSFILE", "PGSSLMODE"}

WORKER_ENV = worker_settings()
APP_ENV = app_settings()

# ---------------------------------------------------------------- .env.example
env_example = {}
for line in open(".env.example"):
    m = re.match(r"^\s*([A-Z_][A-Z0-9_]*)=(.*)$", line)
    if m:
        env_example[m.group(1)] = m.group(2)
report(len(env_example) > 0, ".env.example defines variables")

# ---------------------------------------------------------------- docker-compose.yml
raw = open("docker-compose.yml").read()
compose = yaml.safe_load(raw)
services = compose.get("services", {})
report(set(services) >= {"postgres", "zixly-app", "pipeline-worker", "prometheus", "grafana"},
       "compose: postgres, zixly-app, pipeline-worker, prometheus and grafana services",
       sorted(services))

undefined = []
for m in re.finditer(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?+][^}]*)?\}", raw):
    var, mod = m.group(1), m.group(2) or ""
    if mod.startswith((":-", "-")):
        continue
    if var not in env_example:
        undefined.append(var)
bare = re.findall(r"(?<![\$\\])\$([A-Za-z_][A-Za-z0-9_]*)", raw)
report(not undefined and not bare,
       "compose: every ${VARIABLE} has a default or is in .env.example",
       "undefined: %s, bare $VAR: %s" % (sorted(set(undefined)), bare))
secret_vars = [v for v in env_example if re.search(r"PASSWORD|SECRET", v)]
report(all(env_example[v].strip() == "" for v in secret_vars) and secret_vars,
       ".env.example leaves every secret empty (no committed secrets)", secret_vars)
required = set(re.findall(r"\$\{([A-Z_0-9]+):\?", raw))
report(set(secret_vars) <= required,
       "compose refuses to start without each secret (${VAR:?...})", set(secret_vars) - required)

def dockerignore_patterns():
    pats = []
    for line in open(".dockerignore"):
        line = line.strip()
        if line and not line.startswith("#"):
            pats.append(line)
    return pats

IGNORE = dockerignore_patterns()

def ignored(path):
    """Simplified .dockerignore matching (last match wins, ! re-includes)."""
    path = os.path.normpath(path)
    result = False
    for pat in IGNORE:
        neg = pat.startswith("!")
        p = pat[1:] if neg else pat
        p = p.rstrip("/")
        parts = path.split(os.sep)
        hit = False
        for i in range(1, len(parts) + 1):
            prefix = os.sep.join(parts[:i])
            if fnmatch.fnmatch(prefix, p) or (p.startswith("**/") and fnmatch.fnmatch(prefix, p[3:])) \
                    or (p.startswith("**/") and fnmatch.fnmatch(parts[i - 1], p[3:])):
                hit = True
                break
        if hit:
            result = not neg
    return result

def dockerfile_stages(path):
    lines, cur = [], ""
    for line in open(path):
        s = line.rstrip("\n")
        if s.strip().startswith("#") and not cur:
            continue
        if s.endswith("\\"):
            cur += s[:-1] + " "
            continue
        cur += s
        if cur.strip():
            lines.append(cur.strip())
        cur = ""
    stages = []
    for l in lines:
        word = l.split(None, 1)[0].upper()
        if word == "FROM":
            stages.append({"from": l.split()[1], "lines": []})
        elif stages:
            stages[-1]["lines"].append(l)
    return stages

RUNTIME_BASES = {"postgres:15-bookworm", "debian:bookworm-slim"}
images_with_healthcheck = set()
for name, svc in services.items():
    b = svc.get("build")
    if not b:
        report(bool(svc.get("image")), "compose %s: an image or a build" % name)
        continue
    ctx = b if isinstance(b, str) else b.get("context", ".")
    df = "Dockerfile" if isinstance(b, str) else b.get("dockerfile", "Dockerfile")
    ctx_ok = os.path.isdir(ctx)
    df_path = os.path.join(ctx, df)
    report(ctx_ok and os.path.isfile(df_path), "compose %s: build context %s and %s exist" % (name, ctx, df),
           df_path)
    if not os.path.isfile(df_path):
        continue
    stages = dockerfile_stages(df_path)
    report(len(stages) >= 2, "%s: multi-stage (%d stages)" % (df, len(stages)))
    final = stages[-1]
    report(final["from"] in RUNTIME_BASES, "%s: runtime image is %s" % (df, final["from"]),
           "expected one of %s" % sorted(RUNTIME_BASES))
    users = [l.split(None, 1)[1] for l in final["lines"] if l.upper().startswith("USER ")]
    report(users and users[-1].split(":")[0] not in ("root", "0"),
           "%s: the runtime stage runs as a non-root USER (%s)" % (df, users[-1] if users else "none"))
    hc = [l for l in final["lines"] if l.upper().startswith("HEALTHCHECK")]
    report(bool(hc) and "NONE" not in hc[0].upper(), "%s: HEALTHCHECK in the runtime stage" % df)
    if hc:
        images_with_healthcheck.add(name)
    missing, ign = [], []
    for st in stages:
        for l in st["lines"]:
            if not l.upper().startswith(("COPY ", "ADD ")):
                continue
            toks = [t for t in l.split()[1:] if not t.startswith("--")]
            if any(t.startswith("--from") for t in l.split()):
                continue
            for src in toks[:-1]:
                p = os.path.join(ctx, src)
                if not glob.glob(p):
                    missing.append(src)
                elif ignored(os.path.relpath(p, ctx)):
                    ign.append(src)
    report(not missing, "%s: every COPY source exists in the build context" % df, missing)
    report(not ign, "%s: no COPY source is excluded by .dockerignore" % df, ign)
    runs = " ".join(l for l in stages[0]["lines"] if l.upper().startswith("RUN "))
    report("apt-get install" in runs and "rm -rf /var/lib/apt/lists" in runs,
           "%s: the build stage installs its toolchain and cleans apt lists" % df)
    fruns = " ".join(l for l in final["lines"] if l.upper().startswith("RUN "))
    report(not re.search(r"\b(gcc|make|clang|-dev)\b", fruns.replace("libc6-dev", "")),
           "%s: no compiler or -dev package in the runtime stage" % df, fruns)

# worker needs these libraries at run time
wdf = open("worker/Dockerfile").read().split("FROM debian:bookworm-slim")[-1]
libs = ["libpq5", "libjson-c5", "libmicrohttpd12", "libcurl4"]
report(all(re.search(r"\b%s\b" % re.escape(l), wdf) for l in libs),
       "worker/Dockerfile: runtime has " + " ".join(libs))
adf = open("kore-app/Dockerfile").read().split("FROM debian:bookworm-slim")[-1]
report(re.search(r"\bkore\b", adf) and "bin/zixly-app" in adf,
       "kore-app/Dockerfile: runtime runs Debian's kore through bin/zixly-app")
edf = open("extension/Dockerfile").read()
report("postgresql-server-dev-15" in edf and "zixly.so" in edf and "/usr/share/postgresql/15/extension" in edf,
       "extension/Dockerfile: built with postgresql-server-dev-15, installs the .so, .control and .sql")

# mounts
named_volumes = set((compose.get("volumes") or {}).keys())
bad_mounts, bad_named = [], []
mounts = {}
for name, svc in services.items():
    for v in svc.get("volumes", []) or []:
        src, tgt = (v.split(":")[0], v.split(":")[1]) if isinstance(v, str) else (v.get("source"), v.get("target"))
        mounts.setdefault(name, {})[tgt] = src
        if src.startswith((".", "/")):
            if not os.path.exists(src):
                bad_mounts.append("%s:%s" % (name, src))
        elif src not in named_volumes:
            bad_named.append("%s:%s" % (name, src))
report(not bad_mounts, "compose: every mounted path exists", bad_mounts)
report(not bad_named, "compose: every named volume is declared", bad_named)

prom = mounts.get("prometheus", {})
pm = prom.get("/etc/prometheus")
report(pm and os.path.isfile(os.path.join(pm, "prometheus.yml")) and os.path.isfile(os.path.join(pm, "alerts.yml")),
       "compose: prometheus gets dashboards/prometheus (prometheus.yml, alerts.yml)", prom)
gm = mounts.get("grafana", {})
prov = gm.get("/etc/grafana/provisioning")
report(prov and os.path.isdir(os.path.join(prov, "datasources")) and os.path.isdir(os.path.join(prov, "dashboards")),
       "compose: grafana gets the provisioning folder", gm)
prov_dash = load_yaml("dashboards/grafana/provisioning/dashboards/zixly.yml")
paths = [p["options"]["path"] for p in prov_dash["providers"]]
report(all(p in gm and glob.glob(os.path.join(gm[p], "*.json")) for p in paths),
       "grafana: the dashboard provider's path is where compose mounts the dashboards", (paths, gm))
ds_text = "".join(open(f).read() for f in glob.glob("dashboards/grafana/provisioning/datasources/*.yml"))
ds_vars = set(re.findall(r"\$\{([A-Z_0-9]+)\}", ds_text))
genv = services["grafana"].get("environment", {})
report(ds_vars <= set(genv), "compose: grafana's environment sets every variable of the datasources",
       ds_vars - set(genv))

# scaling
w = services["pipeline-worker"]
report((w.get("deploy") or {}).get("replicas") == 2, "compose: pipeline-worker has deploy.replicas 2")
report("container_name" not in w, "compose: pipeline-worker has no container_name (--scale works)")
fixed = [p for p in (w.get("ports") or []) if ":" in str(p)]
report(not fixed, "compose: pipeline-worker publishes no fixed host port (--scale works)", fixed)
report(all("container_name" not in s for s in services.values()), "compose: no service has a fixed container_name")

# health checks and dependencies
no_hc = [n for n, s in services.items() if not s.get("healthcheck") and n not in images_with_healthcheck]
report(not no_hc, "compose: every service has a health check", no_hc)
bad_dep = []
for n, s in services.items():
    deps = s.get("depends_on") or []
    items = deps.items() if isinstance(deps, dict) else [(d, {}) for d in deps]
    for d, cond in items:
        if d not in services:
            bad_dep.append("%s->%s" % (n, d))
        elif (cond or {}).get("condition") == "service_healthy" and not services[d].get("healthcheck") \
                and d not in images_with_healthcheck:
            bad_dep.append("%s->%s (no health check)" % (n, d))
report(not bad_dep, "compose: depends_on names services (with health checks where waited on)", bad_dep)

def env_names(svc):
    e = svc.get("environment") or {}
    return set(e) if isinstance(e, dict) else {x.split("=")[0] for x in e}

unknown_w = {n for n in env_names(w) if n not in WORKER_ENV}
report(not unknown_w and "DATABASE_URL" in env_names(w),
       "compose: pipeline-worker's environment names only settings the worker reads", unknown_w)
unknown_a = {n for n in env_names(services["zixly-app"]) if n not in APP_ENV}
report(not unknown_a, "compose: zixly-app's environment names only settings the app reads", unknown_a)
wenv = w.get("environment") or {}
report(str(wenv.get("ZIXLY_METRICS_PORT")) == "3001", "compose: workers serve /metrics on 3001 (prometheus.yml's port)")

# ---------------------------------------------------------------- prometheus.yml vs dashboards/alerts
pcfg = load_yaml("dashboards/prometheus/prometheus.yml")
jobs = {j["job_name"] for j in pcfg["scrape_configs"]}
ports = {}
for j in pcfg["scrape_configs"]:
    for sd in j.get("dns_sd_configs", []):
        for n in sd["names"]:
            ports[n] = sd.get("port")
report(ports.get("zixly-app") == 3000 and ports.get("pipeline-worker") == 3001 and
       "zixly-app" in services and "pipeline-worker" in services,
       "prometheus.yml scrapes the compose services zixly-app:3000 and pipeline-worker:3001", ports)
texts = "".join(open(f).read() for f in glob.glob("dashboards/grafana/dashboards/*.json")) + \
        open("dashboards/prometheus/alerts.yml").read()
used = set()
for m in re.finditer(r'job\s*(=~|=)\s*\\?"([^"\\]+)\\?"', texts):
    used |= set(m.group(2).split("|")) if m.group(1) == "=~" else {m.group(2)}
report(used and used <= jobs, "dashboards and alerts select only jobs that prometheus.yml scrapes",
       (sorted(used), sorted(jobs)))

# ---------------------------------------------------------------- Grafana
ds = []
for f in glob.glob("dashboards/grafana/provisioning/datasources/*.yml"):
    ds += load_yaml(f).get("datasources", [])
ds_by_uid = {d["uid"]: d["type"] for d in ds}
report("prometheus" in ds_by_uid.values() and any("postgres" in t for t in ds_by_uid.values()),
       "grafana datasources: a Prometheus and a PostgreSQL one", ds_by_uid)
want = {
    "pipeline-performance": ["Jobs queued per minute", "Success rate", "Job duration p50 / p95 / p99",
                             "Queue depth over time", "Jobs by status", "Top 5 tickers by job count"],
    "system-health": ["CPU per process", "Resident memory per process", "PostgreSQL connections by role and state",
                      "HTTP latency p50 / p95 / p99"],
    "business": ["Jobs processed (all time)", "Active tenants today"],
}
uids = []
BUILTIN = {"__rate_interval", "__interval", "__interval_ms", "__range", "__range_s", "__range_ms",
           "__timeFilter", "__timeGroupAlias", "__timeGroup", "__timeFrom", "__timeTo", "__unixEpochFilter"}
for name, titles in want.items():
    path = "dashboards/grafana/dashboards/%s.json" % name
    try:
        d = json.load(open(path))
    except Exception as e:
        report(False, "%s parses as JSON" % path, e)
        continue
    report(True, "%s parses as JSON" % path)
    uids.append(d.get("uid"))
    panels = d.get("panels", [])
    have = [p.get("title") for p in panels]
    report(all(t in have for t in titles), "%s: the spec's panels (%s)" % (name, ", ".join(titles)),
           [t for t in titles if t not in have])
    vars_ = {v["name"] for v in d.get("templating", {}).get("list", [])}
    bad = []
    for p in panels:
        pds = p.get("datasource") or {}
        tg = p.get("targets") or []
        if pds.get("uid") not in ds_by_uid or ds_by_uid[pds.get("uid")] != pds.get("type"):
            bad.append("%s: datasource %s" % (p.get("title"), pds))
        if not tg:
            bad.append("%s: no targets" % p.get("title"))
        refs = [t.get("refId") for t in tg]
        if len(set(refs)) != len(refs) or None in refs:
            bad.append("%s: refIds %s" % (p.get("title"), refs))
        for t in tg:
            q = t.get("expr") if pds.get("type") == "prometheus" else t.get("rawSql")
            if not q or not str(q).strip():
                bad.append("%s: empty query" % p.get("title"))
                continue
            if (t.get("datasource") or pds).get("uid") != pds.get("uid"):
                bad.append("%s: target datasource differs from the panel's" % p.get("title"))
            for v in re.findall(r"\$\{?(\w+)", q):
                if v not in BUILTIN and v not in vars_:
                    bad.append("%s: unknown variable $%s" % (p.get("title"), v))
        if not p.get("gridPos") or not p.get("description"):
            bad.append("%s: gridPos/description" % p.get("title"))
    report(not bad, "%s: every panel has a provisioned datasource, targets with queries, known variables" % name, bad)
    ids = [p.get("id") for p in panels]
    report(len(set(ids)) == len(ids), "%s: panel ids are unique" % name)
report(len(set(uids)) == 3 and None not in uids, "the three dashboards have distinct uids", uids)
report(not re.search(r"tenant_id\s*(=~|=|!=)|by \([^)]*tenant", texts), "no PromQL selects or groups by tenant_id")

# ---------------------------------------------------------------- Kubernetes
KNOWN = {"Deployment": "apps/v1", "Service": "v1", "ConfigMap": "v1", "PodDisruptionBudget": "policy/v1",
         "ScaledObject": "keda.sh/v1alpha1", "TriggerAuthentication": "keda.sh/v1alpha1",
         "Kustomization": "kustomize.config.k8s.io/v1beta1"}
docs = []
for f in sorted(glob.glob("deploy/k8s/*.yaml")):
    try:
        for d in load_yaml(f, multi=True):
            docs.append((f, d))
    except Exception as e:
        report(False, "%s parses" % f, e)
report(len(docs) >= 6, "deploy/k8s: %d documents parse" % len(docs))
bad = []
for f, d in docs:
    k = d.get("kind")
    if KNOWN.get(k) != d.get("apiVersion"):
        bad.append("%s: %s %s" % (f, k, d.get("apiVersion")))
    if k != "Kustomization" and not (d.get("metadata") or {}).get("name"):
        bad.append("%s: %s without metadata.name" % (f, k))
report(not bad, "deploy/k8s: known kinds with their apiVersions and names", bad)
by_kind = {}
for f, d in docs:
    by_kind.setdefault(d["kind"], []).append(d)
report(not by_kind.get("Secret"), "deploy/k8s: no Secret objects (secrets only by reference)")
text_k8s = "".join(open(f).read() for f in glob.glob("deploy/k8s/*.yaml"))
report("kind: Secret" not in text_k8s and "stringData" not in text_k8s and
       not re.search(r"(?i)(password|secret)\s*[:=]\s*['\"]?[A-Za-z0-9+/_-]{6,}", text_k8s.replace("secretKeyRef", "")
                     .replace("secretTargetRef", "")),
       "deploy/k8s: no secret values anywhere")
deps = {d["metadata"]["name"]: d for d in by_kind.get("Deployment", [])}
report(set(deps) >= {"zixly-app", "pipeline-worker"}, "deploy/k8s: Deployments zixly-app and pipeline-worker", sorted(deps))
cms = {d["metadata"]["name"]: d for d in by_kind.get("ConfigMap", [])}
bad = []
secret_refs = set()
for n, d in deps.items():
    spec = d.get("spec", {})
    tmpl = spec.get("template", {})
    labels = tmpl.get("metadata", {}).get("labels", {})
    sel = spec.get("selector", {}).get("matchLabels", {})
    if not sel or any(labels.get(k) != v for k, v in sel.items()):
        bad.append("%s: selector %s does not match template labels %s" % (n, sel, labels))
    pod = tmpl.get("spec", {})
    if not (pod.get("securityContext") or {}).get("runAsNonRoot"):
        bad.append("%s: runAsNonRoot" % n)
    for c in pod.get("containers", []):
        if not c.get("image") or not c.get("name") or not c.get("resources"):
            bad.append("%s: container image/name/resources" % n)
        portnames = {p.get("name") for p in c.get("ports", [])} | {p.get("containerPort") for p in c.get("ports", [])}
        paths = set()
        for probe in ("readinessProbe", "livenessProbe"):
            hg = (c.get(probe) or {}).get("httpGet") or {}
            if hg.get("port") not in portnames:
                bad.append("%s: %s port %s not a container port" % (n, probe, hg.get("port")))
            paths.add(hg.get("path"))
        if paths != {"/health", "/metrics"}:
            bad.append("%s: probes on %s (want /health and /metrics)" % (n, paths))
        if (c.get("securityContext") or {}).get("allowPrivilegeEscalation") is not False:
            bad.append("%s: allowPrivilegeEscalation" % n)
        for e in c.get("env", []):
            vf = e.get("valueFrom") or {}
            if re.search(r"PASSWORD|SECRET|TOKEN", e["name"]):
                if "value" in e or "secretKeyRef" not in vf:
                    bad.append("%s: %s not from a secretKeyRef" % (n, e["name"]))
            if "secretKeyRef" in vf:
                secret_refs.add(vf["secretKeyRef"]["name"])
            if "configMapKeyRef" in vf:
                r = vf["configMapKeyRef"]
                if r["key"] not in (cms.get(r["name"], {}).get("data") or {}):
                    bad.append("%s: %s refers to missing ConfigMap key %s/%s" % (n, e["name"], r["name"], r["key"]))
        known = WORKER_ENV if n == "pipeline-worker" else APP_ENV
        unknown = {e["name"] for e in c.get("env", [])} - known
        # envFrom brings a whole ConfigMap: its ZIXLY_ keys must be settings of the app or worker
        for ef in c.get("envFrom", []):
            cm = cms.get((ef.get("configMapRef") or {}).get("name"))
            if cm is None:
                bad.append("%s: envFrom a missing ConfigMap" % n)
                continue
            unknown |= {k for k in (cm.get("data") or {}) if k.startswith("ZIXLY_")} - (APP_ENV | WORKER_ENV)
        if unknown:
            bad.append("%s: settings the program does not read: %s" % (n, sorted(unknown)))
report(not bad, "deploy/k8s Deployments: selectors, non-root, resources, probes on /health and /metrics, secrets via secretKeyRef", bad)
report(secret_refs >= {"zixly-db", "zixly-app"}, "deploy/k8s: database passwords and the JWT secret come from secrets", secret_refs)
bad = []
for s in by_kind.get("Service", []):
    sel = s["spec"].get("selector", {})
    target = [d for d in deps.values() if all(d["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in sel.items())]
    if not sel or not target:
        bad.append("%s: selector %s matches no Deployment" % (s["metadata"]["name"], sel))
        continue
    cports = {p.get("name") for c in target[0]["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])} | \
             {p.get("containerPort") for c in target[0]["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
    for p in s["spec"].get("ports", []):
        if p.get("targetPort", p.get("port")) not in cports:
            bad.append("%s: targetPort %s" % (s["metadata"]["name"], p.get("targetPort")))
report(not bad and {s["metadata"]["name"] for s in by_kind.get("Service", [])} >= {"zixly-app", "pipeline-worker"},
       "deploy/k8s Services for the app and workers select their pods and ports", bad)
so = by_kind.get("ScaledObject", [])
ta = {t["metadata"]["name"]: t for t in by_kind.get("TriggerAuthentication", [])}
bad = []
if not so:
    bad.append("no ScaledObject")
for s in so:
    sp = s["spec"]
    if sp["scaleTargetRef"]["name"] not in deps or sp["scaleTargetRef"]["name"] != "pipeline-worker":
        bad.append("scaleTargetRef %s" % sp["scaleTargetRef"])
    if not (1 <= sp.get("maxReplicaCount", 0)) or sp.get("minReplicaCount", 0) > sp.get("maxReplicaCount", 0):
        bad.append("replica bounds")
    for t in sp.get("triggers", []):
        md = t.get("metadata", {})
        if t.get("type") != "postgresql":
            bad.append("trigger type %s" % t.get("type"))
        if "zixly_queue_stats()" not in md.get("query", "") or "targetQueryValue" not in md:
            bad.append("query/targetQueryValue")
        if "password" in md or "connection" in md:
            bad.append("credentials inline in the trigger")
        ar = (t.get("authenticationRef") or {}).get("name")
        if ar not in ta:
            bad.append("authenticationRef %s" % ar)
        else:
            refs = ta[ar]["spec"].get("secretTargetRef", [])
            if not refs or any(r.get("name") not in secret_refs for r in refs):
                bad.append("TriggerAuthentication %s: secretTargetRef %s" % (ar, refs))
report(not bad, "deploy/k8s: KEDA ScaledObject scales pipeline-worker on zixly_queue_stats(), credentials by TriggerAuthentication", bad)
kz = by_kind.get("Kustomization", [{}])[0]
report(all(os.path.isfile(os.path.join("deploy/k8s", r)) for r in kz.get("resources", [])) and
       len(kz.get("resources", [])) == len(glob.glob("deploy/k8s/*.yaml")) - 1,
       "deploy/k8s/kustomization.yaml lists every manifest", kz.get("resources"))
open(os.environ.get("KEDA_QUERY_OUT", "/dev/null"), "w").write(so[0]["spec"]["triggers"][0]["metadata"]["query"] if so else "")

# ---------------------------------------------------------------- README.md, Operations
readme = re.search(r"^## Operations\n(.*?)(?=^## |\Z)", open("README.md").read(), re.M | re.S).group(1)
named = set(re.findall(r"(?<![\w/.-])((?:deploy|dashboards|extension|worker|kore-app|sql|bin)/[\w@./-]*[\w@])", readme))
missing = sorted(p for p in named if "<" not in p and not glob.glob(p) and p != "bin/zixly-worker")
report(named and not missing, "README Operations names only files that exist (%d)" % len(named), missing)
for what in ("docker compose up", "--scale pipeline-worker", "ALTER EXTENSION zixly UPDATE",
             "zixly-worker@", "kubectl apply -k deploy/k8s"):
    report(what in readme, "README Operations explains: %s" % what)
alerts_doc = set(re.findall(r"^\| (Zixly\w+) \|", readme, re.M))
alerts_def = {r["alert"] for g in load_yaml("dashboards/prometheus/alerts.yml")["groups"] for r in g["rules"] if "alert" in r}
report(alerts_doc == alerts_def, "README Operations documents every alert of alerts.yml", alerts_def ^ alerts_doc)
secrets_doc = re.search(r"set the (\w+) secrets", readme)
report(secrets_doc and {"six": 6}.get(secrets_doc.group(1)) == len(secret_vars),
       "README Operations' count of .env secrets matches .env.example", len(secret_vars))

# ---------------------------------------------------------------- systemd env example
envex = {}
for line in open("deploy/systemd/worker.env.example"):
    m = re.match(r"^([A-Z_][A-Z0-9_]*)=", line)
    if m:
        envex[m.group(1)] = 1
report(envex and set(envex) <= WORKER_ENV and "DATABASE_URL" in envex,
       "deploy/systemd/worker.env.example sets only settings the worker reads", set(envex) - WORKER_ENV)
PY
}

export KEDA_QUERY_OUT=$TMP/keda.sql
while IFS=$'\t' read -r status name detail; do
	if [ "$status" = ok ]; then ok 0 "$name"; else ok 1 "$name"; [ -z "$detail" ] || diag "$detail"; fi
done < <(run_checks 2>"$TMP/py.err")
[ ! -s "$TMP/py.err" ] && ok 0 "the static checks ran to the end" || { ok 1 "the static checks ran to the end"; diag "$(cat "$TMP/py.err")"; }

# ------------------------------------------------------------------ the Dockerfiles' build stages, replayed
# No Docker engine here, but this host is Debian 12 like the images: each Dockerfile's build stage
# is replayed in a scratch root (its WORKDIR and COPY lines, honouring .dockerignore; its RUN lines
# except apt-get, whose packages install-deps.sh has put on this host), then every
# COPY --from=build source of the runtime stage must exist there.
build_stages() {
"$PY" - "$ZX_ROOT" "$TMP" <<'PY'
import fnmatch, os, re, shutil, subprocess, sys
root, tmp = sys.argv[1], sys.argv[2]
os.chdir(root)

def report(cond, name, diag=""):
    print(("ok" if cond else "not ok") + "\t" + name + ("\t" + str(diag).replace("\n", " | ")[-1500:] if not cond and diag else ""))
    sys.stdout.flush()

IGNORE = [l.strip() for l in open(".dockerignore") if l.strip() and not l.startswith("#")]
def ignored(path):
    parts, result = os.path.normpath(path).split(os.sep), False
    for pat in IGNORE:
        neg = pat.startswith("!"); p = (pat[1:] if neg else pat).rstrip("/")
        for i in range(1, len(parts) + 1):
            pre = os.sep.join(parts[:i])
            if fnmatch.fnmatch(pre, p) or (p.startswith("**/") and fnmatch.fnmatch(parts[i - 1], p[3:])):
                result = not neg
                break
    return result

def stages(path):
    out, cur = [], ""
    for line in open(path):
        s = line.rstrip("\n")
        if s.strip().startswith("#") and not cur:
            continue
        if s.endswith("\\"):
            cur += s[:-1] + " "; continue
        cur += s
        if cur.strip():
            w = cur.split(None, 1)
            if w[0].upper() == "FROM":
                out.append([])
            elif out:
                out[-1].append((w[0].upper(), w[1] if len(w) > 1 else ""))
        cur = ""
    return out

def copy(src, dst, into_dir):
    if os.path.isdir(src):
        for d, _, files in os.walk(src):
            for f in files:
                rel = os.path.relpath(os.path.join(d, f), src)
                if ignored(os.path.join(d, f)):
                    continue
                t = os.path.join(dst, rel)
                os.makedirs(os.path.dirname(t), exist_ok=True)
                shutil.copy2(os.path.join(d, f), t)
    elif not ignored(src):
        t = os.path.join(dst, os.path.basename(src)) if into_dir else dst
        os.makedirs(os.path.dirname(t), exist_ok=True)
        shutil.copy2(src, t)

for name, df in (("postgres", "extension/Dockerfile"), ("app", "kore-app/Dockerfile"), ("worker", "worker/Dockerfile")):
    R = os.path.join(tmp, "root-" + name)
    st = stages(df)
    workdir, failed = "/", None
    for word, rest in st[0]:
        if word == "WORKDIR":
            workdir = rest.strip()
            os.makedirs(R + workdir, exist_ok=True)
        elif word == "COPY":
            toks = [t for t in rest.split() if not t.startswith("--")]
            srcs, dst = toks[:-1], toks[-1]
            dabs = dst if dst.startswith("/") else os.path.join(workdir, dst)
            for src in srcs:
                copy(src, R + dabs, dst.endswith("/") or len(srcs) > 1)
        elif word == "RUN" and "apt-get" not in rest:
            cmd = re.sub(r"(?<![\w.])/out\b", R + "/out", rest)
            p = subprocess.run(["bash", "-c", cmd], cwd=R + workdir, capture_output=True, text=True)
            if p.returncode != 0:
                failed = "%s: %s" % (cmd[:200], (p.stdout + p.stderr)[-1200:])
                break
    report(failed is None, "%s: the build stage's RUN steps succeed on the sources it COPYs" % df, failed)
    missing = []
    for word, rest in st[-1]:
        if word == "COPY" and "--from=build" in rest:
            toks = [t for t in rest.split() if not t.startswith("--")]
            missing += [s for s in toks[:-1] if not os.path.exists(R + s)]
    report(failed is None and not missing, "%s: every COPY --from=build source is produced" % df, missing)
PY
}
while IFS=$'\t' read -r status name detail; do
	if [ "$status" = ok ]; then ok 0 "$name"; else ok 1 "$name"; [ -z "$detail" ] || diag "$detail"; fi
done < <(build_stages 2>"$TMP/build.err")
[ ! -s "$TMP/build.err" ] && ok 0 "the build-stage replay ran to the end" || { ok 1 "the build-stage replay ran to the end"; diag "$(cat "$TMP/build.err")"; }
out=$("$TMP/root-worker/src/bin/zixly-worker" --version 2>&1)
rc=$?; ok $rc "the worker built as in its image runs (--version: $out)"

# ------------------------------------------------------------------ promtool
out=$(promtool check config dashboards/prometheus/prometheus.yml 2>&1)
rc=$?; ok $rc "promtool check config dashboards/prometheus/prometheus.yml"; [ $rc = 0 ] || diag "$out"
out=$(promtool check rules dashboards/prometheus/alerts.yml 2>&1)
rc=$?; ok $rc "promtool check rules dashboards/prometheus/alerts.yml"; [ $rc = 0 ] || diag "$out"

# Alert behaviour on synthetic series: each alert fires when it should and not otherwise.
# (annotations are left out of the copy: the expected alerts below name labels only)
"$PY" -c 'import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
for g in d["groups"]:
    for r in g["rules"]:
        r.pop("annotations", None)
yaml.safe_dump(d, open(sys.argv[2], "w"))' dashboards/prometheus/alerts.yml "$TMP/alerts.yml"
cat >"$TMP/alerts_test.yml" <<'EOF'
rule_files: [alerts.yml]
evaluation_interval: 30s
tests:
  # QUEUED grows by 10 a minute for 30 minutes: fires once it has grown for 10 minutes.
  - interval: 30s
    input_series:
      - series: 'pipeline_queue_depth{job="zixly-app",instance="a:3000",status="QUEUED"}'
        values: '0+5x60'
      - series: 'up{job="zixly-app",instance="a:3000"}'
        values: '1x60'
      - series: 'up{job="pipeline-worker",instance="w:3001"}'
        values: '1x60'
      - series: 'zixly_worker_ready{job="pipeline-worker",instance="w:3001"}'
        values: '1x60'
    alert_rule_test:
      - eval_time: 4m
        alertname: ZixlyQueueDepthGrowing
        exp_alerts: []
      - eval_time: 25m
        alertname: ZixlyQueueDepthGrowing
        exp_alerts:
          - exp_labels: {severity: warning, status: QUEUED}
      - eval_time: 25m
        alertname: ZixlyNoWorkerUp
        exp_alerts: []
      - eval_time: 25m
        alertname: ZixlyNoWorkerReady
        exp_alerts: []
      - eval_time: 25m
        alertname: ZixlyAppDown
        exp_alerts: []
      - eval_time: 25m
        alertname: ZixlyDatabaseUnreachable
        exp_alerts: []
  # A flat queue does not fire.
  - interval: 30s
    input_series:
      - series: 'pipeline_queue_depth{job="zixly-app",instance="a:3000",status="QUEUED"}'
        values: '500x60'
    alert_rule_test:
      - eval_time: 25m
        alertname: ZixlyQueueDepthGrowing
        exp_alerts: []
  # 20 % of attempts fail (retried or dead-lettered): fires; 5 %: does not.
  - interval: 1m
    input_series:
      - series: 'pipeline_jobs_processed_total{job="pipeline-worker",instance="w:3001",job_type="trading-sweep",status="completed"}'
        values: '0+80x30'
      - series: 'pipeline_jobs_processed_total{job="pipeline-worker",instance="w:3001",job_type="trading-sweep",status="retried"}'
        values: '0+15x30'
      - series: 'pipeline_jobs_processed_total{job="pipeline-worker",instance="w:3001",job_type="trading-sweep",status="failed"}'
        values: '0+5x30'
    alert_rule_test:
      - eval_time: 20m
        alertname: ZixlyJobFailureRateHigh
        exp_alerts:
          - exp_labels: {severity: warning}
  - interval: 1m
    input_series:
      - series: 'pipeline_jobs_processed_total{job="pipeline-worker",instance="w:3001",job_type="noop",status="completed"}'
        values: '0+95x30'
      - series: 'pipeline_jobs_processed_total{job="pipeline-worker",instance="w:3001",job_type="noop",status="failed"}'
        values: '0+5x30'
      - series: 'pipeline_jobs_processed_total{job="pipeline-worker",instance="w:3001",job_type="noop",status="released"}'
        values: '0+50x30'
    alert_rule_test:
      - eval_time: 20m
        alertname: ZixlyJobFailureRateHigh
        exp_alerts: []
  # Workers and app gone; the app up but without the database's queue depth.
  - interval: 30s
    input_series:
      - series: 'up{job="pipeline-worker",instance="w:3001"}'
        values: '1 1 0x20'
      - series: 'up{job="zixly-app",instance="a:3000"}'
        values: '0x20'
      - series: 'up{job="zixly-app",instance="b:3000"}'
        values: '1x20'
    alert_rule_test:
      - eval_time: 1m
        alertname: ZixlyNoWorkerUp
        exp_alerts: []
      - eval_time: 5m
        alertname: ZixlyNoWorkerUp
        exp_alerts:
          - exp_labels: {severity: critical}
      - eval_time: 5m
        alertname: ZixlyAppDown
        exp_alerts:
          - exp_labels: {severity: critical, job: zixly-app, instance: "a:3000"}
      - eval_time: 5m
        alertname: ZixlyDatabaseUnreachable
        exp_alerts:
          - exp_labels: {severity: critical, job: zixly-app, instance: "b:3000"}
  # Two workers up, neither ready (no database, or an outdated extension): fires after 2
  # minutes; one of them ready again: quiet.
  - interval: 30s
    input_series:
      - series: 'up{job="pipeline-worker",instance="w1:3001"}'
        values: '1x40'
      - series: 'up{job="pipeline-worker",instance="w2:3001"}'
        values: '1x40'
      - series: 'zixly_worker_ready{job="pipeline-worker",instance="w1:3001"}'
        values: '0x20 1x20'
      - series: 'zixly_worker_ready{job="pipeline-worker",instance="w2:3001"}'
        values: '0x40'
    alert_rule_test:
      - eval_time: 1m
        alertname: ZixlyNoWorkerReady
        exp_alerts: []
      - eval_time: 5m
        alertname: ZixlyNoWorkerReady
        exp_alerts:
          - exp_labels: {severity: critical}
      - eval_time: 5m
        alertname: ZixlyNoWorkerUp
        exp_alerts: []
      - eval_time: 15m
        alertname: ZixlyNoWorkerReady
        exp_alerts: []
  # A worker failed to store a grid: warns for the next 10 minutes, then quiet.
  - interval: 1m
    input_series:
      - series: 'zixly_worker_artifact_failures_total{job="pipeline-worker",instance="w1:3001"}'
        values: '0 0 0 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1'
    alert_rule_test:
      - eval_time: 2m
        alertname: ZixlyArtifactStoreFailing
        exp_alerts: []
      - eval_time: 5m
        alertname: ZixlyArtifactStoreFailing
        exp_alerts:
          - exp_labels: {severity: warning, job: pipeline-worker, instance: "w1:3001"}
      - eval_time: 25m
        alertname: ZixlyArtifactStoreFailing
        exp_alerts: []
  - interval: 30s
    input_series: []
    alert_rule_test:
      - eval_time: 5m
        alertname: ZixlyAppDown
        exp_alerts:
          - exp_labels: {severity: critical, job: zixly-app}
EOF
out=$(cd "$TMP" && promtool test rules alerts_test.yml 2>&1)
rc=$?; ok $rc "promtool test rules: each alert fires on its condition and stays quiet otherwise"; [ $rc = 0 ] || diag "$out"

# ------------------------------------------------------------------ systemd
if command -v systemd-analyze >/dev/null; then
	exe=/bin/true
	[ -x "$ZX_BIN/zixly-worker" ] && exe=$ZX_BIN/zixly-worker
	mkdir -p "$TMP/units"
	sed "s|^ExecStart=/usr/local/bin/zixly-worker|ExecStart=$exe|" deploy/systemd/zixly-worker@.service \
		>"$TMP/units/zixly-worker@3001.service"
	grep -q "^ExecStart=$exe\$" "$TMP/units/zixly-worker@3001.service"
	ok $? "the unit's ExecStart is /usr/local/bin/zixly-worker (rewritten to $exe for the check)"
	out=$(SYSTEMD_LOG_LEVEL=notice systemd-analyze verify "$TMP/units/zixly-worker@3001.service" 2>&1)
	rc=$?
	ok "$([ $rc = 0 ] && [ -z "$out" ] && echo 0 || echo 1)" "systemd-analyze verify zixly-worker@3001.service: no errors, no warnings"
	[ -z "$out" ] || diag "$out"
else
	echo "ok $((_zx_tap_n += 1)) # SKIP systemd-analyze is not installed"
fi

# ------------------------------------------------------------------ the compose init script on a real cluster
zx_cluster_start
zx_db_create deploy_init --no-extension
share=$TMP/share
mkdir -p "$share"
cp deploy/sql/roles.sql sql/load_prices.sql data/eustockmarkets.csv "$share/"
out=$(POSTGRES_DB=deploy_init POSTGRES_USER=postgres ZIXLY_SHARE=$share ZIXLY_WEB_DB_PASSWORD=w1 \
	ZIXLY_RUNNER_DB_PASSWORD=r1 ZIXLY_MONITOR_DB_PASSWORD=m1 sh deploy/compose/initdb/10-zixly.sh 2>&1)
rc=$?; ok $rc "deploy/compose/initdb/10-zixly.sh runs as the postgres image would run it"; [ $rc = 0 ] || diag "$out"
like "$(zx_sql "SELECT extversion FROM pg_extension WHERE extname = 'zixly'")" '^[0-9]+\.[0-9]+' "it creates the zixly extension"
like "$(zx_sql "SELECT count(*) FROM zixly.prices")" '^[1-9][0-9]*$' "it loads the sample prices"
is "$(zx_sql "SELECT string_agg(r.rolname || ':' || coalesce(m.rolname, '-') || ':' || (r.rolpassword IS NOT NULL), ',' ORDER BY r.rolname)
	FROM pg_authid r LEFT JOIN pg_auth_members am ON am.member = r.oid LEFT JOIN pg_roles m ON m.oid = am.roleid AND m.rolname LIKE 'zixly%'
	WHERE r.rolname IN ('zixly_web', 'zixly_runner') AND (m.rolname IS NOT NULL)")" \
	"zixly_runner:zixly_worker:true,zixly_web:zixly_app:true" "login roles: zixly_web in zixly_app, zixly_runner in zixly_worker, with passwords"
out=$(POSTGRES_DB=deploy_init POSTGRES_USER=postgres ZIXLY_SHARE=$share ZIXLY_LOAD_SAMPLE_PRICES=0 sh deploy/compose/initdb/10-zixly.sh 2>&1)
rc=$?; ok $rc "running it again (roles.sql is idempotent) works"; [ $rc = 0 ] || diag "$out"

# The app as laid out in its image (/opt/zixly: bin/zixly-app, build/kore-app/zixly.so,
# kore-app/conf) starts from that tree alone and answers /health.
port=$(zx_free_port)
if [ -x "$TMP/root-app/out/bin/zixly-app" ]; then
	mv "$TMP/root-app/out" "$TMP/opt-zixly"
	DATABASE_URL="host=$PGHOST port=$PGPORT user=postgres dbname=deploy_init" ZIXLY_DEV=1 ZIXLY_HTTP_PORT=$port \
		ZIXLY_BIND=0.0.0.0 zx_spawn "$TMP/app.log" "$TMP/opt-zixly/bin/zixly-app"
	zx_wait_for "the image-layout app" 20 curl -fsS "http://127.0.0.1:$port/health"
	rc=$?; ok $rc "the app's image layout runs (bin/zixly-app with ZIXLY_BIND=0.0.0.0) and answers /health"
	[ $rc = 0 ] || diag "$(tail -5 "$TMP/app.log")"
	zx_stop "$ZX_LAST_PID"
else
	ok 1 "the app's image layout runs"; diag "no $TMP/root-app/out/bin/zixly-app"
fi

# zixly_monitor: reads across tenants, cannot write, runs the KEDA query.
psql -qX -c "SELECT zixly_enqueue('noop', '{}', tenant_id => 'a'), zixly_enqueue('noop', '{}', tenant_id => 'b'),
	zixly_enqueue('noop', '{}', tenant_id => 'b', run_at => now() + interval '1 day')" >/dev/null
mon() { psql -qXAt -U zixly_monitor -v ON_ERROR_STOP=1 -c "$1" 2>&1; }
is "$(mon "$(cat "$KEDA_QUERY_OUT")")" "3" "the KEDA ScaledObject's query runs as zixly_monitor and counts every tenant's QUEUED jobs"
is "$(mon "SELECT count(DISTINCT tenant_id) FROM zixly.monitor_jobs")" "2" "zixly_monitor sees every tenant's jobs (zixly.monitor_jobs)"
like "$(mon "SELECT result FROM zixly.pipeline_jobs LIMIT 1")" 'permission denied' "zixly_monitor cannot read job results"
psql -qX -c "SELECT zixly_enqueue('trading-sweep', '{\"ticker\":\"DAX\",\"fast_range\":[10,20],\"slow_range\":[20,30],\"step\":5,\"strategy_type\":\"SMA\",\"webhook_url\":\"https://hooks.example/t?token=s3cret\"}', tenant_id => 'a')" >/dev/null
like "$(mon "SELECT parameters FROM zixly.pipeline_jobs LIMIT 1")" 'permission denied' \
	"zixly_monitor cannot read jobs' parameters, where webhook URLs (and their tokens) are"
is "$(mon "SELECT string_agg(DISTINCT ticker, ',') FROM zixly.monitor_jobs")" DAX "... only the ticker, through zixly.monitor_jobs"
ok "$(mon "SELECT * FROM zixly.monitor_jobs" | grep -q s3cret && echo 1 || echo 0)" "... and no row of it holds the webhook URL's token"
like "$(mon "SELECT zixly_cancel(id) FROM zixly.pipeline_jobs LIMIT 1")" 'permission denied|read-only' "zixly_monitor cannot change jobs"
like "$(mon "SELECT count(*) FROM zixly.api_keys")" 'permission denied' "zixly_monitor cannot read API keys"
# ... through its own policies, not BYPASSRLS, which would reach every database of the cluster
is "$(zx_sql "SELECT rolbypassrls FROM pg_roles WHERE rolname = 'zixly_monitor'")" f "zixly_monitor has no BYPASSRLS"
psql -qX -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE hr" >/dev/null &&
	psql -qX -v ON_ERROR_STOP=1 -d hr -c "CREATE TABLE salaries (owner_role name, amount int);
		INSERT INTO salaries VALUES ('someone', 1);
		ALTER TABLE salaries ENABLE ROW LEVEL SECURITY;
		CREATE POLICY own ON salaries USING (owner_role = current_user);
		GRANT SELECT ON salaries TO PUBLIC" >/dev/null
is "$(psql -qXAt -U zixly_monitor -d hr -c "SELECT count(*) FROM salaries" 2>&1)" 0 \
	"... so another database's row-level security still holds for it"
done_testing
