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
import ast
import json
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


def imports_of(path):
    """(module name, line) of every import in a file, and the file's top directory."""
    try:
        with open(path, "rb") as source:
            text = source.read()
        tree = ast.parse(text, filename=path) if b"import" in text else None
    except (OSError, SyntaxError, ValueError):
        return [], ""
    package, top_dir = package_of(path)
    found = []
    if tree is None:
        return found, top_dir
    # A call of import_module() or __import__() names them in the text; else
    # only statements can import, and walking those alone is several times
    # faster than walking every expression.
    calls = b"import_module" in text or b"__import__" in text
    for node in ast.walk(tree) if calls else statements(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".") if package else []
                if node.level - 1 > len(base_parts):
                    continue
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
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
