#!/usr/bin/python3
"""Checks behind tests/cli_recipes.sh: the "Many runs" recipes of README.md, the Slurm
array script and the Kubernetes Indexed Job, as far as they can be checked without a
cluster, and the comparison of a sharded result with an unsharded one.

    recipes.py sbatch FILE            check the #SBATCH lines; print the array's task ids
    recipes.py sbatch-cmd FILE        print the script's one command line
    recipes.py k8s FILE               check the Indexed Job; print N, then the command
    recipes.py readme-parallel README print the "Many runs" section's parallel lines
    recipes.py unshard LINE           a parallel line without --shard and its ::: group
    recipes.py same A B [LOGA LOGB]   A and B hold the same result (every directory
                                      with a manifest.json under them: the same
                                      manifest, index.html, files and decoded pixels),
                                      and the event files under LOGA and LOGB the
                                      same records less wall times

Exit 0 when the check passes, 1 naming what is wrong. Python standard library, plus
Debian's python3-yaml for the Kubernetes file (run with /usr/bin/python3).
"""
import json
import os
import re
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))


class Bad(Exception):
    pass


# ---- Slurm ----------------------------------------------------------------------
# sbatch's options as of Slurm 23 (man sbatch): long name -> value check (None: a flag).
INT = r"[0-9]+"
SIZE = r"[0-9]+[KMGT]?"
TIME = r"([0-9]+|[0-9]+:[0-9]{2}|[0-9]+:[0-9]{2}:[0-9]{2}|[0-9]+-[0-9]+(:[0-9]{2}(:[0-9]{2})?)?)"
ARRAY = r"[0-9]+(-[0-9]+(:[0-9]+)?)?(,[0-9]+(-[0-9]+(:[0-9]+)?)?)*(%[0-9]+)?"
FILENAME = r"[^\s]+"
ANY = r".+"
SBATCH_LONG = {
    "account": ANY, "array": ARRAY, "begin": ANY, "chdir": FILENAME, "clusters": ANY,
    "comment": ANY, "constraint": ANY, "cpus-per-gpu": INT, "cpus-per-task": INT,
    "dependency": ANY, "error": FILENAME, "exclude": ANY, "exclusive": None,
    "export": ANY, "gpus": ANY, "gpus-per-node": ANY, "gpus-per-task": ANY, "gres": ANY,
    "hold": None, "input": FILENAME, "job-name": r"[^\s]+", "licenses": ANY,
    "mail-type": r"[A-Z_0-9,]+", "mail-user": ANY, "mem": SIZE, "mem-per-cpu": SIZE,
    "mem-per-gpu": SIZE, "mincpus": INT, "nice": r"-?[0-9]+", "no-requeue": None,
    "nodelist": ANY, "nodes": r"[0-9]+(-[0-9]+)?", "ntasks": INT,
    "ntasks-per-node": INT, "open-mode": r"append|truncate", "output": FILENAME,
    "oversubscribe": None, "partition": ANY, "priority": ANY, "qos": ANY,
    "requeue": None, "reservation": ANY, "signal": ANY, "threads-per-core": INT,
    "time": TIME, "time-min": TIME, "tmp": SIZE, "wckey": ANY,
}
SBATCH_SHORT = {"A": "account", "a": "array", "b": "begin", "C": "constraint",
                "c": "cpus-per-task", "D": "chdir", "d": "dependency", "e": "error",
                "G": "gpus", "H": "hold", "i": "input", "J": "job-name", "L": "licenses",
                "M": "clusters", "N": "nodes", "n": "ntasks", "o": "output",
                "p": "partition", "q": "qos", "t": "time", "w": "nodelist", "x": "exclude"}


def sbatch_directives(path):
    """[(line number, option, value)] of the #SBATCH lines, which sbatch reads only
    above the first command; a #SBATCH line below one would be silently ignored."""
    out, seen_cmd = [], False
    with open(path) as f:
        lines = f.read().splitlines()
    if not lines or not lines[0].startswith("#!"):
        raise Bad("%s: line 1 is not a #! line (sbatch needs one)" % path)
    for no, line in enumerate(lines, 1):
        s = line.strip()
        if s.startswith("#SBATCH"):
            if seen_cmd:
                raise Bad("%s:%d: #SBATCH below the first command: sbatch ignores it" % (path, no))
            words = shlex.split(s[len("#SBATCH"):], comments=True)
            if not words:
                raise Bad("%s:%d: an empty #SBATCH line" % (path, no))
            w = words[0]
            m = re.fullmatch(r"--([a-z-]+)(=(.*))?", w)
            if m:
                name, val = m.group(1), m.group(3)
                if val is None and len(words) > 1:
                    val = words[1]
            elif re.fullmatch(r"-[A-Za-z]", w):
                if w[1] not in SBATCH_SHORT:
                    raise Bad("%s:%d: unknown sbatch option %s" % (path, no, w))
                name, val = SBATCH_SHORT[w[1]], " ".join(words[1:]) or None
            else:
                raise Bad("%s:%d: not an option: %r" % (path, no, w))
            if name not in SBATCH_LONG:
                raise Bad("%s:%d: unknown sbatch option --%s" % (path, no, name))
            pat = SBATCH_LONG[name]
            if pat is None and val is not None:
                raise Bad("%s:%d: --%s takes no value" % (path, no, name))
            if pat is not None and (val is None or not re.fullmatch(pat, val)):
                raise Bad("%s:%d: --%s: bad value %r" % (path, no, name, val))
            out.append((no, name, val))
        elif s and not s.startswith("#"):
            seen_cmd = True
    return out


def array_ids(spec):
    """The task ids of --array=SPEC (0-7, 1-9:2, 0,3,5; %M only limits concurrency)."""
    ids = []
    for part in spec.split("%")[0].split(","):
        m = re.fullmatch(r"([0-9]+)(-([0-9]+)(:([0-9]+))?)?", part)
        lo = int(m.group(1))
        hi = int(m.group(3)) if m.group(3) else lo
        step = int(m.group(5)) if m.group(5) else 1
        if hi < lo or step < 1:
            raise Bad("--array=%s: empty range %s" % (spec, part))
        ids.extend(range(lo, hi + 1, step))
    return sorted(set(ids))


def cmd_sbatch(path):
    d = sbatch_directives(path)
    arrays = [v for _, n, v in d if n == "array"]
    if len(arrays) != 1:
        raise Bad("%s: wants one #SBATCH --array line, has %d" % (path, len(arrays)))
    print(" ".join(str(i) for i in array_ids(arrays[0])))


def cmd_sbatch_cmd(path):
    """The body must be one cifar-act line (so it is what the README says it is)."""
    with open(path) as f:
        body = [(no, l.strip()) for no, l in enumerate(f.read().splitlines(), 1)
                if l.strip() and not l.strip().startswith("#")]
    if len(body) != 1 or not re.match(r"(\S*/)?cifar-act ", body[0][1]):
        raise Bad("%s: the body is not one cifar-act line: %s" % (path, body))
    if not re.search(r" --data[ =]", body[0][1]):
        raise Bad("%s:%d: no --data (the data must be on a shared file system)" % (path, body[0][0]))
    if "--shard auto" not in body[0][1]:
        raise Bad("%s:%d: no --shard auto" % (path, body[0][0]))
    print(body[0][1])


# ---- Kubernetes -----------------------------------------------------------------
def need(cond, what):
    if not cond:
        raise Bad(what)


def opt(argv, name):
    """The value after option name in argv (or in --name=V), else None."""
    for i, a in enumerate(argv):
        if a == name and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith(name + "="):
            return a[len(name) + 1:]
    return None


def under(path, mount):
    return path == mount or path.startswith(mount.rstrip("/") + "/")


def cmd_k8s(path):
    import yaml  # Debian's python3-yaml (tools/debian-packages.txt)
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    need(len(docs) == 1, "%s: wants one YAML document, has %d" % (path, len(docs)))
    job = docs[0]
    need(job.get("apiVersion") == "batch/v1", "apiVersion is not batch/v1")
    need(job.get("kind") == "Job", "kind is not Job")
    name = (job.get("metadata") or {}).get("name", "")
    # A Job's name ends up in its pods' hostnames: a DNS label, 63 characters at most.
    need(re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", str(name)),
         "metadata.name %r is not a DNS label" % name)
    spec = job.get("spec") or {}
    need(spec.get("completionMode") == "Indexed", "spec.completionMode is not Indexed")
    n = spec.get("completions")
    need(isinstance(n, int) and 1 <= n <= 100000,
         "spec.completions %r: an Indexed Job needs 1..100000" % n)
    par = spec.get("parallelism", 1)
    need(isinstance(par, int) and 1 <= par, "spec.parallelism %r is not >= 1" % par)
    pod = (spec.get("template") or {}).get("spec") or {}
    need(pod.get("restartPolicy") in ("Never", "OnFailure"),
         "template.spec.restartPolicy %r: a Job's must be Never or OnFailure"
         % pod.get("restartPolicy"))
    conts = pod.get("containers") or []
    need(isinstance(conts, list) and conts, "template.spec.containers is empty")
    volumes = {v.get("name"): v for v in pod.get("volumes") or []}
    ours = None
    for c in conts:
        need(c.get("name") and c.get("image"), "a container without name or image")
        argv = [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]
        for m in c.get("volumeMounts") or []:
            need(m.get("name") in volumes,
                 "volumeMount %r names no volume in template.spec.volumes" % m.get("name"))
            need(str(m.get("mountPath", "")).startswith("/"),
                 "volumeMount %r: mountPath is not absolute" % m.get("name"))
        if argv and os.path.basename(argv[0]) == "cifar-act":
            ours = (c, argv)
    need(ours, "no container runs cifar-act (command: [cifar-act, ...])")
    c, argv = ours
    shard = opt(argv, "--shard")
    need(shard == "auto/%d" % n,
         "--shard %r: wants auto/%d, N = spec.completions (Kubernetes does not put N in "
         "the environment)" % (shard, n))
    mounts = c.get("volumeMounts") or []
    for o, writable in (("--data", False), ("--out", True), ("--logdir", True)):
        p = opt(argv, o)
        if p is None:
            need(o != "--data", "the command has no --data")
            continue
        hit = [m for m in mounts if under(p, str(m.get("mountPath")))]
        need(hit, "%s %s is on no mounted volume (every pod must see it)" % (o, p))
        m = max(hit, key=lambda m: len(str(m.get("mountPath"))))
        need(not writable or not m.get("readOnly"),
             "%s %s is on the read-only mount %s" % (o, p, m.get("mountPath")))
    print(n)
    print(shlex.join(argv))


# ---- README ---------------------------------------------------------------------
def cmd_readme_parallel(path):
    """The `parallel ...` command lines of the fenced blocks in "## Many runs"."""
    with open(path) as f:
        text = f.read()
    m = re.search(r"^## Many runs\n(.*?)(?=^## )", text, re.S | re.M)
    if not m:
        raise Bad("%s: no '## Many runs' section" % path)
    lines, inb = [], False
    for line in m.group(1).splitlines():
        if line.lstrip().startswith("```"):
            inb = not inb
            continue
        s = line.strip()
        if (inb or line.startswith("    ")) and re.match(r"parallel ", s):
            need(re.search(r" --data[ =]", s), "%s: a parallel line without --data: %s" % (path, s))
            lines.append(re.sub(r"\s+#.*$", "", s))
    if not lines:
        raise Bad("%s: '## Many runs' has no parallel command line" % path)
    print("\n".join(lines))


def cmd_unshard(line):
    """The same parallel line without --shard: the unsharded runs it stands for. The
    ::: group that only fed --shard goes too; with no group left, the bare command."""
    t = shlex.split(line)
    need(t[0] == "parallel", "not a parallel line: %s" % line)
    start = next((i for i, a in enumerate(t) if os.path.basename(a) == "cifar-act"), None)
    need(start is not None, "no cifar-act in: %s" % line)
    end = t.index(":::") if ":::" in t else len(t)
    cmd, groups = t[start:end], []
    for a in t[end:]:
        if a == ":::":
            groups.append([])
        else:
            groups[-1].append(a)
    s = opt(cmd, "--shard")
    need(s is not None, "no --shard in: %s" % line)
    i = cmd.index("--shard") if "--shard" in cmd else next(
        j for j, a in enumerate(cmd) if a.startswith("--shard="))
    del cmd[i:i + (2 if cmd[i] == "--shard" else 1)]
    ref = re.fullmatch(r"\{(\d*)\}/\d+", s)
    need(ref, "--shard %r is not {}/N or {K}/N" % s)
    g = int(ref.group(1) or 1)
    need(ref.group(1) or len(groups) == 1, "--shard {}/N with %d ::: groups" % len(groups))
    need(1 <= g <= len(groups), "--shard %s: no ::: group %d" % (s, g))
    del groups[g - 1]

    def renum(a):  # {k} for k > g moves down one, as its group did
        return re.sub(r"\{(\d+)\}", lambda m: "{%d}" % (int(m.group(1)) - (int(m.group(1)) > g)), a)
    cmd = [renum(a) for a in cmd]
    if not groups:
        need(not re.search(r"\{\d*\}", " ".join(cmd)), "a {} with no ::: group left")
        print(shlex.join(cmd))
    else:
        print(shlex.join(t[:start] + cmd + [x for gr in groups for x in [":::"] + gr]))


# ---- the comparison -------------------------------------------------------------
# The merged manifest.json holds no timings or shard bookkeeping (shardcore's merge
# writes what one unsharded run writes, byte for byte as of this test), so it is
# compared whole: a key that differs is a difference.
def first_diff(a, b, where="manifest"):
    if type(a) is not type(b):
        return "%s: %r vs %r" % (where, a, b)
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return "%s.%s: only in %s" % (where, k, "the sharded" if k in a else "the unsharded")
            # Each run has its own logdir, and an event file's name holds a time and a pid.
            if where == "manifest" and k in ("logdir", "event_file"):
                if k == "event_file" and not str(a[k]).startswith("events.out.tfevents."):
                    return "%s.%s: %r" % (where, k, a[k])
                continue
            d = first_diff(a[k], b[k], "%s.%s" % (where, k))
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return "%s: %d vs %d entries" % (where, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_diff(x, y, "%s[%d]" % (where, i))
            if d:
                return d
        return None
    return None if a == b else "%s: %r vs %r" % (where, a, b)


def png_same(a, b, pngdiff):
    with open(a, "rb") as f, open(b, "rb") as g:
        if f.read() == g.read():
            return True  # the same bytes decode to the same pixels
    return subprocess.run([pngdiff, a, b], capture_output=True).returncode == 0


def same_dir(a, b, pngdiff):
    need(os.path.isfile(os.path.join(a, "manifest.json")),
         "%s/manifest.json is missing (no merge happened?)" % a)
    with open(os.path.join(a, "manifest.json")) as f:
        ma = json.load(f)
    with open(os.path.join(b, "manifest.json")) as f:
        mb = json.load(f)
    d = first_diff(ma, mb)
    need(d is None, "%s vs %s: %s" % (a, b, d))
    with open(os.path.join(a, "index.html"), "rb") as f, \
            open(os.path.join(b, "index.html"), "rb") as g:
        need(f.read() == g.read(), "%s/index.html differs from %s/index.html" % (a, b))
    fa = sorted(n for n in os.listdir(a) if not n.startswith("."))
    fb = sorted(n for n in os.listdir(b) if not n.startswith("."))
    need(fa == fb, "%s vs %s: files differ: %s" % (a, b, sorted(set(fa) ^ set(fb))))
    pngs = [n for n in fa if n.endswith(".png")]
    need(pngs, "%s: no PNG" % a)
    for n in pngs:
        need(png_same(os.path.join(a, n), os.path.join(b, n), pngdiff),
             "%s/%s: pixels differ from %s/%s" % (a, n, b, n))
    return len(pngs)


def events(logdir):
    """{(step, tag): summary value bytes} of every event file in logdir, and the set of
    text summaries (written once per file, so their steps and count may differ)."""
    import tfevents_read as tf
    vals, texts = {}, set()
    files = [f for f in os.listdir(logdir) if f.startswith("events.out.tfevents.")]
    need(files, "%s: no event file" % logdir)
    for f in files:
        for _, _, payload in tf.read_records(os.path.join(logdir, f)):
            step, _, desc = tf.describe(payload)
            for fno, _, v in tf.fields(payload):
                if fno != 5:
                    continue
                for sf, _, sv in tf.fields(v):
                    tag = next((x.decode() for vf, _, x in tf.fields(sv) if vf == 1), "")
                    kinds = [k for t, k, _ in desc if t == tag]
                    if kinds and kinds[0] == "text":
                        texts.add((tag, sv))
                        continue
                    need((step, tag) not in vals, "%s: step %d %s twice" % (logdir, step, tag))
                    vals[(step, tag)] = sv
    return vals, texts


def cmd_same(a, b, loga=None, logb=None):
    pngdiff = os.environ.get("PNGDIFF", "build/tests/pngdiff")
    def results(top):  # every directory with a manifest.json, less our hidden ones
        rel = (os.path.relpath(r, top) for r, _, fs in os.walk(top) if "manifest.json" in fs)
        return sorted(r for r in rel if not any(p.startswith(".") and p != "."
                                                for p in r.split(os.sep)))
    dirs, refs = results(a), results(b)
    need(refs, "%s: no manifest.json under it" % b)
    need(dirs == refs, "result directories differ: %s vs %s" % (dirs, refs))
    n = sum(same_dir(os.path.join(a, d), os.path.join(b, d), pngdiff) for d in dirs)
    msg = "%d directories, %d PNGs the same" % (len(dirs), n)
    if loga:
        va, ta = events(loga)
        vb, tb = events(logb)
        need(set(va) == set(vb), "%s vs %s: steps/tags differ: %s" % (
            loga, logb, sorted(set(va) ^ set(vb))[:6]))
        bad = [k for k in va if va[k] != vb[k]]
        need(not bad, "%s vs %s: different values at %s" % (loga, logb, sorted(bad)[:6]))
        need(ta == tb, "%s vs %s: the text summaries differ" % (loga, logb))
        msg += "; %d event values the same" % len(va)
    print(msg)


def main(argv):
    cmds = {"sbatch": cmd_sbatch, "sbatch-cmd": cmd_sbatch_cmd, "k8s": cmd_k8s,
            "readme-parallel": cmd_readme_parallel, "unshard": cmd_unshard,
            "same": cmd_same}
    if len(argv) < 3 or argv[1] not in cmds:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        cmds[argv[1]](*argv[2:])
    except Bad as e:
        print("recipes.py %s: %s" % (argv[1], e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
