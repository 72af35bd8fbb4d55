# Run by tracepack under a bundle's own Python interpreter (python3 -I -c):
# lists the modules that the given source files import, at any depth, and
# where this interpreter would find each one, without importing anything.
#
# Input (the JSON file named by argv[1]): {"files": [paths of .py files]}.
# Output (stdout, JSON): {"stdlib": DIR, "path": [sys.path's directories],
# "modules": [...]}, one element per module found on disk:
#   {"module": "numpy", "origin": FILE or "", "package": DIR or "",
#    "sites": [["/app/web.py", 12], ...]}
# `origin` is the module's file ("" for a namespace package), `package` its
# directory when it is a package. Modules built into the interpreter or frozen
# into it, and names that resolve to nothing (optional imports for other platforms,
# attributes named by "from x import y"), are left out.
#
# What counts as an import: `import a.b`, `from a import b` (a, and a.b when
# that is a module), relative imports (made absolute from the file's place
# below its package's __init__.py files), and importlib.import_module("a") or
# __import__("a") with a literal name; in any function, class, branch or try.
#
# Parsing is most of the time this takes. A module whose compiled file in
# __pycache__ is current (its header holds the source's mtime and size) is
# read from that instead: its code objects, nested ones included, hold one
# IMPORT_NAME instruction per import statement, after the two constants that
# give the level and the names imported "from" it. A file that names
# import_module or __import__, or whose compiled code is not in that shape,
# is parsed.
import ast
import dis
import importlib.util
import json
import marshal
import os
import sys
import sysconfig
from importlib.machinery import FrozenImporter, PathFinder


def package_of(path):
    """The dotted package a file belongs to, and the directory above its
    outermost package (where `import top` would find it)."""
    parts = []
    directory = os.path.dirname(os.path.abspath(path))
    while os.path.isfile(os.path.join(directory, "__init__.py")):
        parts.insert(0, os.path.basename(directory))
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return ".".join(parts), directory


def literal_import_call(node):
    """The module named by import_module("x") / __import__("x"), or None."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    if name not in ("import_module", "__import__") or not node.args:
        return None
    first = node.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value and not first.value.startswith("."):
        return first.value
    return None


STATEMENT_LISTS = ("body", "orelse", "finalbody", "handlers", "cases")


def statements(tree):
    """Every statement of a module, at any depth (in functions, classes,
    branches, loops, with, try and match blocks), without their expressions."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for field in STATEMENT_LISTS:
            children = getattr(node, field, None)
            if isinstance(children, list):
                stack.extend(children)


IMPORT_NAME = dis.opmap["IMPORT_NAME"]
LOAD_CONST = dis.opmap["LOAD_CONST"]
EXTENDED_ARG = dis.EXTENDED_ARG
CACHE = dis.opmap.get("CACHE", -1)


def compiled_code(path):
    """The code object of path's current __pycache__ file, or None."""
    try:
        compiled = importlib.util.cache_from_source(path)
        status = os.stat(path)
        with open(compiled, "rb") as f:
            data = f.read()
        if data[:4] != importlib.util.MAGIC_NUMBER or int.from_bytes(data[4:8], "little") != 0:
            return None  # another version's, or checked by hash
        if int.from_bytes(data[8:12], "little") != int(status.st_mtime) & 0xFFFFFFFF:
            return None
        if int.from_bytes(data[12:16], "little") != status.st_size & 0xFFFFFFFF:
            return None
        return marshal.loads(data[16:])
    except (OSError, ValueError, EOFError, TypeError, NotImplementedError):
        return None


def compiled_imports(code, out):
    """Appends (name, level, fromlist, line) for each IMPORT_NAME of code and
    its nested code; False when one is not preceded by its two constants."""
    raw = code.co_code
    instructions = []
    extended = 0
    for i in range(0, len(raw), 2):
        op, arg = raw[i], raw[i + 1] | extended
        if op == EXTENDED_ARG:
            extended = arg << 8
            continue
        extended = 0
        if op != CACHE:
            instructions.append((i, op, arg))
    lines = None
    for k, (offset, op, arg) in enumerate(instructions):
        if op != IMPORT_NAME:
            continue
        if k < 2 or instructions[k - 1][1] != LOAD_CONST or instructions[k - 2][1] != LOAD_CONST:
            return False
        if lines is None:
            lines = list(code.co_lines())
        line = next((number for start, end, number in lines if start <= offset < end), None)
        level = code.co_consts[instructions[k - 2][2]]
        fromlist = code.co_consts[instructions[k - 1][2]]
        if not isinstance(level, int) or line is None:
            return False
        out.append((code.co_names[arg], level, fromlist or (), line))
    for constant in code.co_consts:
        if hasattr(constant, "co_code") and compiled_imports(constant, out) is False:
            return False
    return True


def absolute(package, level, module):
    """The absolute name of an import, or None when a relative one leaves
    the top package."""
    if not level:
        return module or ""
    parts = package.split(".") if package else []
    if level - 1 > len(parts):
        return None
    parts = parts[: len(parts) - (level - 1)]
    return ".".join(parts + ([module] if module else []))


def imports_of(path):
    """(module name, line) of every import in a file, and the file's top directory."""
    try:
        with open(path, "rb") as source:
            text = source.read()
    except OSError:
        return [], ""
    package, top_dir = package_of(path)
    found = []
    if b"import" not in text:
        return found, top_dir
    # A call of import_module() or __import__() names them in the text.
    calls = b"import_module" in text or b"__import__" in text
    code = None if calls else compiled_code(path)
    records = []
    if code is not None and compiled_imports(code, records):
        for name, level, fromlist, line in records:
            base = absolute(package, level, name)
            if base is None:
                continue
            if base:
                found.append((base, line))
            for member in fromlist:
                if member != "*":
                    found.append((base + "." + member if base else member, line))
        return found, top_dir
    try:
        tree = ast.parse(text, filename=path)
    except (SyntaxError, ValueError):
        return [], ""
    # Without a call of import_module() or __import__() only statements can
    # import, and walking those alone is several times faster than walking
    # every expression.
    for node in ast.walk(tree) if calls else statements(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = absolute(package, node.level, node.module)
            if base is None:
                continue
            if base:
                found.append((base, node.lineno))
            for alias in node.names:
                if alias.name != "*":
                    found.append((base + "." + alias.name if base else alias.name, node.lineno))
        elif isinstance(node, ast.Call):
            name = literal_import_call(node)
            if name:
                found.append((name, node.lineno))
    return found, top_dir


def find_module(name, first_dir):
    """The spec of `name` as this interpreter's path finder sees it (with the
    file's own top directory first, as sys.path[0] is for a script), or None."""
    parts = name.split(".")
    if parts[0] in sys.builtin_module_names:
        return None
    search = [first_dir] + sys.path
    spec = None
    for i in range(len(parts)):
        if FrozenImporter.find_spec(".".join(parts[: i + 1])) is not None:
            return None  # built into the interpreter: its file is never read
        try:
            spec = PathFinder.find_spec(".".join(parts[: i + 1]), search)
        except (ImportError, ValueError, OSError, KeyError):
            # KeyError: a namespace package inside a regular one
            # (numpy/random/_examples) wants its parent in sys.modules.
            return None
        if spec is None:
            return None
        if i + 1 < len(parts):
            search = list(spec.submodule_search_locations or [])
            if not search:
                return None
    return spec


def main():
    with open(sys.argv[1], encoding="utf-8", errors="surrogateescape") as request:
        files = json.load(request)["files"]
    modules = {}
    specs = {}  # (name, top directory) -> spec: most names are imported by many files
    for path in files:
        found, top_dir = imports_of(path)
        for name, line in found:
            key = (name, top_dir)
            if key not in specs:
                specs[key] = find_module(name, top_dir)
            spec = specs[key]
            if spec is None or spec.origin in ("built-in", "frozen"):
                continue
            entry = modules.get(name)
            if entry is None:
                locations = list(spec.submodule_search_locations or [])
                origin = spec.origin if spec.has_location and spec.origin else ""
                entry = modules[name] = {
                    "module": name,
                    "origin": os.path.realpath(origin) if origin else "",
                    "package": os.path.realpath(locations[0]) if locations else "",
                    "sites": [],
                }
            if [path, line] not in entry["sites"]:
                entry["sites"].append([path, line])
    json.dump(
        {
            "stdlib": os.path.realpath(sysconfig.get_paths()["stdlib"]),
            "path": [os.path.realpath(entry) for entry in sys.path if os.path.isdir(entry)],
            "modules": sorted(modules.values(), key=lambda m: m["module"]),
        },
        sys.stdout,
        ensure_ascii=True,
    )


main()
