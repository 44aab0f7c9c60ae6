"""The notebooks keep the lesson shape (issue 20's targets), and the modules' import graph has no cycles.

The figures are computed here the way the project's `nbstats` tool computes them: over the code cells of
`nbs/*.ipynb`, an exported cell's size is its non-blank lines without `#|` directives; definitions are the
functions and classes at its top level; long lines are code lines over 120 characters."""
import ast, json, statistics, re
from pathlib import Path
from conftest import ROOT

def shape(root:Path=ROOT)->dict:
    sizes, defs, long_lines, lines, with_out, nbs = [], [], 0, 0, 0, 0
    for f in sorted((root/'nbs').glob('*.ipynb')):
        nb, has_out = json.loads(f.read_text(encoding='utf-8')), False
        nbs += 1
        for c in nb['cells']:
            if c['cell_type'] != 'code': continue
            src = ''.join(c['source']); has_out |= bool(c.get('outputs'))
            body = [l for l in src.splitlines() if not l.startswith('#|')]
            lines += len(body); long_lines += sum(len(l) > 120 for l in body)
            if any(l.strip().startswith(('#| export', '#|export')) for l in src.splitlines()):
                sizes.append(len([l for l in body if l.strip()]))
                try: tree = ast.parse('\n'.join(body))
                except SyntaxError: tree = ast.Module(body=[], type_ignores=[])
                defs.append(sum(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) for n in tree.body))
        with_out += has_out
    return dict(notebooks=nbs, exported_cells=len(sizes), median_lines=statistics.median(sizes), max_lines=max(sizes),
                defs_per_cell=sum(defs) / len(defs), outputs_share=with_out / nbs, long_line_share=long_lines / lines)

def test_notebooks_keep_the_lesson_shape():
    s = shape()
    assert s['exported_cells'] > 500, s
    assert s['median_lines'] <= 15 and s['max_lines'] <= 60, s
    assert s['defs_per_cell'] <= 1.3, s
    assert s['outputs_share'] >= 0.7, s
    assert s['long_line_share'] <= 0.03, s

def test_shape_can_fail(tmp_path):
    "The measure sees a long, many-definition cell"
    (tmp_path/'nbs').mkdir()
    cell = '#| export\n' + '\n'.join(f'def f{i}(): return {i}' for i in range(70))
    nb = dict(cells=[dict(cell_type='code', source=cell, outputs=[], metadata={})], metadata={}, nbformat=4, nbformat_minor=5)
    (tmp_path/'nbs'/'00_x.ipynb').write_text(json.dumps(nb))
    s = shape(tmp_path)
    assert s['max_lines'] == 70 and s['defs_per_cell'] == 70 and s['outputs_share'] == 0

def module_imports(root:Path=ROOT)->dict:
    "riskbench module -> the riskbench modules it imports at module level (imports inside functions are lazy, left out)"
    mods = {p.stem for p in (root/'riskbench').glob('*.py') if not p.stem.startswith('_')}
    graph = {}
    for m in sorted(mods):
        tree, deps = ast.parse((root/'riskbench'/f'{m}.py').read_text(encoding='utf-8')), set()
        for node in tree.body:  # top-level statements only
            stmts = [node] + ([n for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))]
                              if isinstance(node, (ast.If, ast.Try)) else [])
            for n in stmts:
                if isinstance(n, ast.ImportFrom):
                    name = n.module or ''
                    if n.level == 1: deps |= {name.split('.')[0]} if name else {a.name for a in n.names}
                    elif name.startswith('riskbench.'): deps.add(name.split('.')[1])
                    elif name == 'riskbench': deps |= {a.name for a in n.names}
                elif isinstance(n, ast.Import):
                    deps |= {a.name.split('.')[1] for a in n.names if a.name.startswith('riskbench.')}
        graph[m] = sorted(d for d in deps & mods if d != m)
    return graph

def cycles(graph:dict)->list:
    "Every cycle found by depth-first search, as a list of module names"
    found, state = [], {}
    def visit(m, path):
        state[m] = 'open'
        for d in graph.get(m, []):
            if state.get(d) == 'open': found.append(path[path.index(d):] + [d])
            elif d not in state: visit(d, path + [d])
        state[m] = 'done'
    for m in graph:
        if m not in state: visit(m, [m])
    return found

def test_the_import_graph_has_no_cycles():
    g = module_imports()
    assert {'core', 'guards', 'thresholds', 'system', 'products', 'bias', 'audit'} <= set(g), sorted(g)
    assert g['core'] == [], g['core']                      # core imports no sibling
    assert 'bias' not in g['audit'], g['audit']             # the dataset audit stands without the bias module
    assert not cycles(g), cycles(g)

def test_cycle_finder_can_fail():
    assert cycles({'a': ['b'], 'b': ['c'], 'c': ['a']}) == [['a', 'b', 'c', 'a']]
    assert cycles({'a': ['b'], 'b': []}) == []
