package main

// anchorScript is the anchor: what the Python scanners in common use
// (Hugging Face's picklescan, ModelScan) do with a PyTorch zip, reduced to
// its core. It opens the archive with zipfile, reads every member whose
// name ends in .pkl, walks its opcodes with pickletools.genops and
// collects the GLOBAL/INST names and the STACK_GLOBAL names built from
// the strings pushed just before (following the memo), then classifies
// them against a small allow-list and deny-list. It prints one JSON
// object: the members it read, the imports found and its verdict.
//
// It is written for this benchmark (no code taken from those projects);
// it reads what they read, which is what the timing compares.
const anchorScript = `import json
import pickletools
import sys
import zipfile

SAFE = {
    ("collections", "OrderedDict"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_parameter"),
    ("torch", "BFloat16Storage"), ("torch", "HalfStorage"), ("torch", "FloatStorage"),
    ("torch", "DoubleStorage"), ("torch", "LongStorage"), ("torch", "IntStorage"),
    ("torch", "ByteStorage"), ("torch", "BoolStorage"),
}
DANGEROUS_MODULES = {"os", "posix", "nt", "subprocess", "sys", "socket", "shutil",
                     "runpy", "webbrowser", "pty", "ctypes", "importlib", "pickle",
                     "_pickle", "code", "commands", "pip"}
DANGEROUS_NAMES = {("builtins", n) for n in
                   ("eval", "exec", "compile", "open", "getattr", "setattr",
                    "__import__", "apply", "breakpoint", "input")}
STRINGS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE",
           "SHORT_BINSTRING", "BINSTRING", "STRING"}
PUTS = {"PUT", "BINPUT", "LONG_BINPUT"}
GETS = {"GET", "BINGET", "LONG_BINGET"}


def imports(data):
    found, strings, memo, last = [], [], {}, None
    for op, arg, _ in pickletools.genops(data):
        name, pushed = op.name, None
        if name in ("GLOBAL", "INST"):
            module, _, attr = arg.partition(" ")
            found.append((module, attr))
        elif name in STRINGS:
            pushed = arg
        elif name in PUTS:
            if last is not None:
                memo[arg] = last
            pushed = last
        elif name == "MEMOIZE":
            memo[len(memo)] = last
            pushed = last
        elif name in GETS:
            pushed = memo.get(arg)
        elif name == "STACK_GLOBAL":
            if len(strings) >= 2:
                found.append((strings[-2], strings[-1]))
            else:
                found.append(("?", "?"))
        if pushed is not None and name not in PUTS and name != "MEMOIZE":
            strings.append(pushed)
        last = pushed
    return found


def safety(module, name):
    if (module, name) in SAFE:
        return "innocuous"
    if module.split(".")[0] in DANGEROUS_MODULES or (module, name) in DANGEROUS_NAMES:
        return "dangerous"
    return "suspicious"


def main(path):
    rank = {"innocuous": 0, "suspicious": 1, "dangerous": 2}
    verdict, members, found = "innocuous", [], {}
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if not info.filename.endswith(".pkl"):
                continue
            members.append(info.filename)
            for module, name in imports(zf.read(info)):
                s = safety(module, name)
                found[module + "." + name] = s
                if rank[s] > rank[verdict]:
                    verdict = s
    json.dump({"members": members, "imports": found, "verdict": verdict}, sys.stdout)


main(sys.argv[1])
`
