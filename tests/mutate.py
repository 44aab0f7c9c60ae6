"""Mutation testing of riskbench's decision rules (`make mutate`; not part of CI).

A decision rule is code whose one-character change (`<` for `<=`, `max` for `min`, `and` for `or`, a constant
off by one) would change a verdict without breaking any arithmetic: the reader's duplicate-id rule, threshold
policies, the register's bands, the language gate, the score cache's key. For each function listed in
`tests/mutation_targets.yaml` this script makes every single-point mutant of its body, runs the tests named
for it against a copy of the package holding the mutant, and counts the mutants the tests kill. Survivors are
printed with their line, so a test can be written for each (or the mutant shown to be equivalent).

Why not mutmut or cosmic-ray: both mutate whole modules (thousands of mutants in riskbench's 1,000-line
modules, hours on two cores) and mutmut 3 runs its mutants from a `mutants/` copy that the CLI subprocesses
of our tests do not import. Scoping to named functions and named tests keeps a full run to minutes.
"""
from __future__ import annotations
import argparse, ast, copy, json, os, shutil, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SWAP_CMP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
            ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
SWAP_BIN = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Mult,
            ast.BitAnd: ast.BitOr, ast.BitOr: ast.BitAnd}
SWAP_NAME = {'min': 'max', 'max': 'min', 'any': 'all', 'all': 'any', 'True': 'False', 'False': 'True'}
SWAP_ATTR = {'min': 'max', 'max': 'min', 'any': 'all', 'all': 'any', 'idxmin': 'idxmax', 'idxmax': 'idxmin',
             'lower': 'upper', 'le': 'lt', 'lt': 'le', 'ge': 'gt', 'gt': 'ge'}


class Mutator(ast.NodeTransformer):
    "Count the mutation points of a function body, or apply the `target`-th one (describing it)"
    def __init__(self, target:int|None=None):
        self.n, self.target, self.done = 0, target, None

    def _hit(self, what:str, node)->bool:
        i = self.n; self.n += 1
        if i == self.target: self.done = f"line {getattr(node, 'lineno', '?')}: {what}"; return True
        return False

    def visit_Compare(self, node):
        self.generic_visit(node)
        for j, op in enumerate(node.ops):
            new = SWAP_CMP.get(type(op))
            if new and self._hit(f"{type(op).__name__} -> {new.__name__}", node): node.ops[j] = new()
        return node

    def visit_BoolOp(self, node):
        self.generic_visit(node)
        new = ast.Or if isinstance(node.op, ast.And) else ast.And
        if self._hit(f"{type(node.op).__name__} -> {new.__name__}", node): node.op = new()
        return node

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, (ast.Not, ast.Invert)) and self._hit(f"drop {type(node.op).__name__}", node): return node.operand
        return node

    def visit_BinOp(self, node):
        self.generic_visit(node)
        new = SWAP_BIN.get(type(node.op))
        if new and self._hit(f"{type(node.op).__name__} -> {new.__name__}", node): node.op = new()
        return node

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        new = SWAP_BIN.get(type(node.op))
        if new and self._hit(f"{type(node.op).__name__}= -> {new.__name__}=", node): node.op = new()
        return node

    def visit_Constant(self, node):
        v = node.value
        if isinstance(v, bool) or v is None or isinstance(v, (str, bytes)): return node
        if isinstance(v, (int, float)) and self._hit(f"{v!r} -> {v + 1!r}", node): return ast.copy_location(ast.Constant(v + 1), node)
        return node

    def visit_Name(self, node):
        new = SWAP_NAME.get(node.id)
        if new and isinstance(node.ctx, ast.Load) and self._hit(f"{node.id} -> {new}", node):
            return ast.copy_location(ast.Name(new, node.ctx), node)
        return node

    def visit_Attribute(self, node):
        self.generic_visit(node)
        new = SWAP_ATTR.get(node.attr)
        if new and self._hit(f".{node.attr} -> .{new}", node): node.attr = new
        return node


def find_function(tree:ast.Module, qualname:str):
    "The def node for `qualname` (`f` or `Class.method`)"
    nodes = tree.body
    *outer, name = qualname.split('.')
    for o in outer:
        nodes = next(n for n in nodes if isinstance(n, ast.ClassDef) and n.name == o).body
    for n in nodes:
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name: return n
    raise SystemExit(f"mutate: no function {qualname}")


def mutants(source:str, qualname:str)->list:
    "Every single-point mutant of `qualname` in `source`: a list of (description, mutated module source)"
    tree = ast.parse(source)
    fn = find_function(tree, qualname)
    counter = Mutator(); body = copy.deepcopy(fn)
    for stmt in body.body[1:] if ast.get_docstring(body) else body.body: counter.visit(stmt)
    lines = source.splitlines(keepends=True)
    start = (fn.decorator_list[0].lineno if fn.decorator_list else fn.lineno) - 1
    indent = lines[fn.lineno - 1][:len(lines[fn.lineno - 1]) - len(lines[fn.lineno - 1].lstrip())]
    out = []
    for i in range(counter.n):
        m = Mutator(i); node = copy.deepcopy(fn)
        node.body = [m.visit(s) if not (k == 0 and ast.get_docstring(fn)) else s for k, s in enumerate(node.body)]
        code = ast.unparse(ast.fix_missing_locations(node))
        code = ''.join(indent + l if l.strip() else l for l in code.splitlines(keepends=True)) + '\n'
        out.append((m.done, ''.join(lines[:start]) + code + ''.join(lines[fn.end_lineno:])))
    return out


def copy_tree(dest:Path):
    "A copy of the package, tests and data that a mutant can be written into"
    for name in ('riskbench', 'tests', 'datasets', 'templates', 'nbs'):
        shutil.copytree(ROOT/name, dest/name, symlinks=True, ignore=shutil.ignore_patterns('__pycache__', '.ipynb_checkpoints'))
    for name in ('settings.ini', 'pyproject.toml'): shutil.copy2(ROOT/name, dest/name)


def run_tests(work:Path, tests:list, timeout:float)->str:
    "killed, survived or timeout, for the tests run in `work`"
    env = {**os.environ, 'PYTHONPATH': str(work), 'PYTHONDONTWRITEBYTECODE': '1'}
    try:
        r = subprocess.run([sys.executable, '-m', 'pytest', '-x', '-q', '-p', 'no:cacheprovider', '-p', 'no:randomly', *tests],
                           cwd=work, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired: return 'timeout'
    if r.returncode == 5: return 'no tests'  # pytest collected nothing: a target's test selection is wrong
    return 'survived' if r.returncode == 0 else 'killed'


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--targets', default=str(ROOT/'tests'/'mutation_targets.yaml'))
    ap.add_argument('--only', default=None, help='run only the targets whose function name contains this')
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--json', default=None, help='write the results here')
    a = ap.parse_args(argv)
    import yaml
    targets = yaml.safe_load(Path(a.targets).read_text())['targets']
    if a.only: targets = [t for t in targets if a.only in t['function']]
    jobs = []
    for t in targets:
        src = (ROOT/t['module']).read_text(encoding='utf-8')
        for desc, code in mutants(src, t['function']): jobs.append((t, desc, code))
    print(f"{len(jobs)} mutants in {len(targets)} functions", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        works = []
        for w in range(a.workers):
            d = Path(tmp)/f'w{w}'; d.mkdir(); copy_tree(d); works.append(d)
        base = {}
        for t in targets:  # the tests must pass on the unmutated code, and their time bounds a mutant's run
            t0 = time.time(); st = run_tests(works[0], t['tests'], 600)
            if st != 'survived': raise SystemExit(f"mutate: the tests of {t['function']} fail on the unmutated code: {' '.join(t['tests'])}")
            base[t['function']] = time.time() - t0
            print(f"  baseline {t['function']}: tests pass in {base[t['function']]:.1f} s", flush=True)
        free = list(works)
        def one(job):
            t, desc, code = job
            work = free.pop()
            try:
                target = work/t['module']; orig = target.read_text(encoding='utf-8')
                target.write_text(code, encoding='utf-8')
                try: return t, desc, run_tests(work, t['tests'], max(30, 5*base[t['function']]))
                finally: target.write_text(orig, encoding='utf-8')
            finally: free.append(work)
        results = []
        with ThreadPoolExecutor(a.workers) as ex:
            for k, (t, desc, st) in enumerate(ex.map(one, jobs), 1):
                results.append(dict(module=t['module'], function=t['function'], mutant=desc, status=st))
                if st == 'survived': print(f"  survived  {t['function']}  {desc}", flush=True)
                if k % 20 == 0: print(f"  {k}/{len(jobs)}", flush=True)
    by = {}
    for r in results: by.setdefault(r['function'], []).append(r['status'] != 'survived')
    print(f"\n{'function':48} killed / mutants")
    for f, ks in by.items(): print(f"{f:48} {sum(ks):3d} / {len(ks):3d}  {100*sum(ks)/len(ks):5.1f}%")
    killed = sum(r['status'] != 'survived' for r in results)
    print(f"mutation score: {killed} / {len(results)} = {100*killed/max(len(results), 1):.1f}% killed")
    if a.json: Path(a.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == '__main__': sys.exit(main())
