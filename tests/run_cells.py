"""Run a notebook's code cells in order in one namespace, `#| gpu` cells included, for a machine without nbdev (the
lent GPU machine): `PYTHONPATH=$PWD:$PWD/.carry python3 tests/run_cells.py nbs/03_guards.ipynb`, with fastcore copied
into an ignored `.carry/` folder. Prints each gpu cell's last value; exit 1 when any cell failed (each failure is shown,
and the run goes on). `SKIP_GPU=1` leaves the gpu cells out."""
import json, sys, os, time, traceback, ast
nb = json.load(open(sys.argv[1])); skip_gpu = os.environ.get('SKIP_GPU')
ns = {'__name__': '__main__'}; failed = []
os.chdir(os.path.dirname(os.path.abspath(sys.argv[1])))
for i, c in enumerate(nb['cells']):
    if c['cell_type'] != 'code': continue
    src = ''.join(c['source'])
    if '#| eval: false' in src or (skip_gpu and '#| gpu' in src): continue
    t = time.perf_counter()
    tree = ast.parse(src)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    try:
        exec(compile(tree, f'cell{i}', 'exec'), ns)
        v = eval(compile(ast.Expression(last.value), f'cell{i}', 'eval'), ns) if last else None
    except Exception:
        print(f'cell {i} FAILED:\n{src[:300]}'); traceback.print_exc(); failed.append(i); continue
    if '#| gpu' in src: print(f'gpu cell {i} ok in {time.perf_counter()-t:.1f}s: {v!r}')
print('all cells ok' if not failed else f'FAILED cells: {failed}'); sys.exit(1 if failed else 0)
