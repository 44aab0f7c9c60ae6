"distributed: Ray Data scoring and audits equal the local path (scores, row accounting, duplicate pairs, PII, identity), also after a replica is killed; a real two-node cluster; Ray stays optional"
import itertools, json, os, re, shutil, signal, subprocess, sys, tempfile, time
from pathlib import Path
import numpy as np, pandas as pd, pytest

sys.path.insert(0, str(Path(__file__).parent))
from tiny_models import tiny_prompt_guard, PG1_LABELS
from riskbench import guards as G, audit as A
from riskbench.core import load_eval_set, table_metadata
import ray
from riskbench import distributed as D

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv('RISKBENCH_CACHE_DIR', str(tmp_path/'cache'))
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')


@pytest.fixture(scope='module')
def cluster():
    "ONE local Ray cluster of two CPUs for the module's tests"
    D.start_local(num_cpus=2)
    yield
    ray.shutdown()


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    "The bundled demo prompts, a repeated prompt, a conversation-less bad row and an empty text (rejected rows)"
    p = tmp_path_factory.mktemp('data')/'evalset.jsonl'
    rows = [json.loads(l) for l in (ROOT/'datasets/demo_prompts.jsonl').read_text().splitlines() if l.strip()]
    rows += [dict(rows[3], id='again-3'), dict(id='empty', text='   ', label=0), dict(id='number', text=17, label=1)]
    p.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    return p


def same_table(a:pd.DataFrame, b:pd.DataFrame, eps:float=1e-6):
    "Same rows, order, columns and values; score columns to `eps`"
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    num = [c for c in a.columns if c.startswith('score')]
    pd.testing.assert_frame_equal(a.drop(columns=num), b.drop(columns=num))
    np.testing.assert_allclose(a[num].to_numpy(float), b[num].to_numpy(float), atol=eps, rtol=0)


def test_local_paths_never_import_ray(tmp_path, data):
    "`import riskbench`, --help and a local score run leave `ray` out of sys.modules"
    code = f"""
import sys, contextlib, io
import riskbench, riskbench.guards, riskbench.audit, riskbench.cli
from riskbench.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    assert main(['score', {str(data)!r}, '--out', {str(tmp_path/'s.parquet')!r}, '--no-cache']) == 0
print('ray' in sys.modules, any(m.startswith('ray.') for m in sys.modules))
"""
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[-2:] == ['False', 'False']


def test_engine_ray_without_ray_is_one_line(tmp_path, data):
    "With Ray not importable, --engine ray exits 2 with one line naming the extra, and writes nothing"
    code = f"""
import sys
class NoRay:
    def find_spec(self, name, path=None, target=None):
        if name == 'ray' or name.startswith('ray.'): raise ModuleNotFoundError("No module named 'ray'")
sys.meta_path.insert(0, NoRay())
from riskbench.cli import main
sys.exit(main(['score', {str(data)!r}, '--engine', 'ray', '--out', {str(tmp_path/'s.parquet')!r}]))
"""
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'riskbench[ray]'" in lines[0], r.stderr
    assert not (tmp_path/'s.parquet').exists()


def test_baseline_scores_equal_local(cluster, tmp_path, data):
    "Two replicas: the same table, row accounting, file and fingerprint as the local engine"
    loc, lrep = G.score_file(data, 'baseline', out=tmp_path/'local.parquet', cache=tmp_path/'c1', progress=False)
    dis, drep = D.score_distributed(data, 'baseline', out=tmp_path/'ray.parquet', replicas=2, cache=tmp_path/'c2')
    same_table(dis, loc, eps=1e-9)
    assert drep.summary() == lrep.summary() and drep.read == 752 and drep.rejected == 2
    assert sorted(drep.rejected_rows()['id']) == ['empty', 'number']
    same_table(pd.read_parquet(tmp_path/'ray.parquet'), pd.read_parquet(tmp_path/'local.parquet'), eps=1e-9)
    assert table_metadata(tmp_path/'ray.parquet')['guard'] == table_metadata(tmp_path/'local.parquet')['guard']
    assert dis.attrs['ray_scored'] == 749  # distinct scorable inputs: 'again-3' repeats row 3


def test_tiny_transformer_scores_equal_local(cluster, tmp_path, data):
    "A tiny random-weight Prompt Guard (the real architecture class): scores to 1e-6"
    spec = f"prompt-guard:{tiny_prompt_guard(tmp_path/'pg', PG1_LABELS, seed=3)}"
    df, rep = load_eval_set(data, missing_label='keep')
    df = df.iloc[::5].reset_index(drop=True)
    loc, _ = G.score_table(df, spec, cache=False, progress=False)
    dis, _ = D.score_table_ray(df, spec, cache=False, replicas=1, batch_rows=64)
    same_table(dis, loc, eps=1e-6)
    assert loc['score'].std() > 0  # the scores vary, so equality says something


def test_cache_shared_with_local_and_resumed(cluster, tmp_path, data):
    "Rows the local engine cached are not mapped; a second run maps nothing and gives the same table"
    df, _ = load_eval_set(data, missing_label='keep')
    G.score_table(df.iloc[:300], 'baseline', cache=tmp_path/'c', progress=False)
    first, _ = D.score_table_ray(df, 'baseline', cache=tmp_path/'c')
    assert first.attrs['ray_scored'] == 749 - 300
    again, _ = D.score_table_ray(df, 'baseline', cache=tmp_path/'c')
    assert again.attrs['ray_scored'] == 0
    same_table(again, first, eps=0)
    same_table(first, G.score_table(df, 'baseline', cache=False, progress=False)[0], eps=1e-9)


def test_replica_killed_mid_run_loses_and_duplicates_nothing(cluster, tmp_path, data):
    "A replica kills its process (os._exit) on a marked batch: Ray restarts it, retries the batch, the table is exact"
    df, _ = load_eval_set(data, missing_label='keep')
    key = D._input_hashes([df['text'][400]])[0]
    marker = tmp_path/'crashed'
    dis, rep = D.score_table_ray(df, 'baseline', cache=tmp_path/'c', batch_rows=100, crash_once=(str(marker), key))
    assert marker.exists()  # the replica did die
    loc, lrep = G.score_table(df, 'baseline', cache=False, progress=False)
    same_table(dis, loc, eps=1e-9)
    assert dis['id'].is_unique and set(dis['id']) == set(loc['id']) and rep.summary() == lrep.summary()
    cached = G.ScoreCache(tmp_path/'c', dis.attrs['guard'], ('score',)).load()
    assert len(cached) == 749  # batches finished before the crash were kept, the retried one written once more


def test_cli_engine_ray(cluster, tmp_path, data, capsys):
    "`riskbench score --engine ray --replicas 2` writes the local path's table"
    from riskbench.cli import main
    assert main(['score', str(data), '--engine', 'ray', '--replicas', '2', '--no-cache',
                 '--out', str(tmp_path/'ray.parquet')]) == 0
    assert 'scored 750 rows' in capsys.readouterr().out
    G.score_file(data, 'baseline', out=tmp_path/'local.parquet', cache=False, progress=False)
    same_table(pd.read_parquet(tmp_path/'ray.parquet'), pd.read_parquet(tmp_path/'local.parquet'), eps=1e-9)
    assert main(['score', str(data), '--engine', 'spark', '--out', str(tmp_path/'x.parquet')]) == 2
    assert main(['score', str(data), '--engine', 'ray', '--replicas', '3', '--out', str(tmp_path/'x.parquet')]) == 2
    assert 'needs 3 CPUs, the cluster has 2' in capsys.readouterr().err and not (tmp_path/'x.parquet').exists()


@pytest.fixture(scope='module')
def finetune():
    "The bundled fine-tuning set (planted exact and near duplicates, PII, identity terms) and planted copies"
    df, _ = load_eval_set('bundled:demo_finetune.jsonl')
    extra = df.iloc[[5, 40, 77]].assign(id=lambda d: d['id'] + '-copy',
                                        text=lambda d: d['text'].str.upper() + '  ')  # exact after normalising
    return pd.concat([df, extra], ignore_index=True)


def brute_near_pairs(texts, threshold:float)->set:
    "Oracle: every pair whose word 3-shingle sets (plain Python sets) have Jaccard >= threshold, normalised texts differing"
    tok, row = A.tokenise(texts)
    words = [[] for _ in texts]
    for t, r in zip(tok, row): words[r].append(t)
    sh = [set(zip(w, w[1:], w[2:])) if len(w) >= 3 else {tuple(w)} if w else set() for w in words]
    norm = A.normalise_text(texts).tolist()
    return {(i, j) for i, j in itertools.combinations(range(len(texts)), 2)
            if sh[i] and sh[j] and norm[i] != norm[j] and len(sh[i] & sh[j]) / len(sh[i] | sh[j]) >= threshold}


def test_exact_duplicates_equal_local(cluster, finetune):
    d = D.exact_duplicates_ray(finetune, block_rows=50)
    pd.testing.assert_frame_equal(d, A.exact_duplicates(finetune))
    assert {'ft-0006-copy', 'ft-0041-copy', 'ft-0078-copy'} <= set(d['id'])


def test_near_duplicates_equal_local_and_brute_force(cluster, finetune):
    "Pairs and Jaccard values of the local audit, and the pairs of a brute-force Jaccard over all pairs"
    d = D.near_duplicates_ray(finetune, 'text', block_rows=40)
    pd.testing.assert_frame_equal(d, A.near_duplicates(finetune, 'text'), check_exact=False, atol=1e-12)
    pos = {v: i for i, v in enumerate(finetune['id'])}
    assert {(pos[a], pos[b]) for a, b in zip(d['id_a'], d['id_b'])} == brute_near_pairs(finetune['text'], 0.5)
    assert len(d) >= 5 and (d['split_a'] != d['split_b']).any()  # planted pairs, some across splits (leakage)


def test_pii_findings_equal_local(cluster, finetune):
    p = D.pii_findings_ray(finetune, block_rows=37)
    # the values, row order and columns of the audit's own table (string columns may come back as object from Arrow)
    pd.testing.assert_frame_equal(p, A._pii_table(finetune, ['text', 'response']), check_dtype=False)
    assert len(p) and {'email', 'phone'} <= set(p['type'])


def test_identity_mentions_equal_local(cluster, finetune):
    m = D.identity_mentions_ray(finetune, block_rows=37)
    loc = A.identity_mentions(finetune)
    key = list(loc.columns)
    pd.testing.assert_frame_equal(m.sort_values(key).reset_index(drop=True), loc.sort_values(key).reset_index(drop=True),
                                  check_dtype=False)
    assert len(m) > 10


def _kill_tree(pids:list):
    "End the processes we started (by id), children first"
    import psutil
    procs = []
    for p in pids:
        try: pr = psutil.Process(p); procs += pr.children(recursive=True) + [pr]
        except psutil.NoSuchProcess: pass
    for pr in procs:
        with __import__('contextlib').suppress(psutil.NoSuchProcess): pr.send_signal(signal.SIGKILL)


def _ray_processes(temp_dir:str)->list:
    "Ids of the Ray processes whose command line names `temp_dir` (ours only)"
    import psutil
    out = []
    for pr in psutil.process_iter(['pid', 'cmdline']):
        if any(temp_dir in c for c in (pr.info['cmdline'] or [])): out.append(pr.info['pid'])
    return out


@pytest.mark.slow
def test_two_node_cluster(tmp_path, data):
    "`ray start --head` and a second `ray start --address` (one CPU each, its own resource): 2 replicas need both nodes"
    tmp = tempfile.mkdtemp(prefix='rb17', dir='/tmp')  # Unix socket paths must stay short (tmp_path is too long)
    ray_bin = str(Path(sys.executable).parent/'ray')
    env = {**os.environ, 'RAY_AUTH_MODE': 'disabled', 'RAY_USAGE_STATS_ENABLED': '0',
           'RAY_agent_register_timeout_ms': '120000'}
    pids = []
    try:
        head = subprocess.run([ray_bin, 'start', '--head', '--port', '0', '--num-cpus', '1', '--temp-dir', f'{tmp}/h',
                               '--include-dashboard', 'false', '--disable-usage-stats'],
                              capture_output=True, text=True, env=env, timeout=240)
        pids += _ray_processes(tmp)
        assert head.returncode == 0, head.stderr[-2000:]
        addr = re.search(r"--address='([^']+)'", head.stdout).group(1)
        node = subprocess.run([ray_bin, 'start', '--address', addr, '--num-cpus', '1', '--temp-dir', f'{tmp}/w',
                               '--resources', json.dumps({'riskbench_node2': 1}), '--disable-usage-stats'],
                              capture_output=True, text=True, env=env, timeout=240)
        pids += _ray_processes(tmp)
        assert node.returncode == 0, node.stderr[-2000:]
        code = f"""
import ray, json
from riskbench import distributed as D
ray.init(address={addr!r}, log_to_driver=False, logging_level='ERROR')
n2 = ray.get(ray.remote(num_cpus=0, resources={{'riskbench_node2': 1}})(
    lambda: ray.get_runtime_context().get_node_id()).remote())
s, rep = D.score_distributed({str(data)!r}, 'baseline', out={str(tmp_path/'ray.parquet')!r}, replicas=2, cache=False)
print(json.dumps(dict(nodes=len([n for n in ray.nodes() if n['Alive']]), cpus=ray.cluster_resources()['CPU'],
                      node2=bool(n2), rows=len(s))))
"""
        r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env, timeout=300)
        pids += _ray_processes(tmp)
        assert r.returncode == 0, r.stderr[-3000:]
        got = json.loads(r.stdout.strip().splitlines()[-1])
        assert got == dict(nodes=2, cpus=2.0, node2=True, rows=750)  # 2 one-CPU actors: one on each node
        G.score_file(data, 'baseline', out=tmp_path/'local.parquet', cache=False, progress=False)
        same_table(pd.read_parquet(tmp_path/'ray.parquet'), pd.read_parquet(tmp_path/'local.parquet'), eps=1e-9)
    finally:
        _kill_tree(sorted(set(pids + _ray_processes(tmp))))
        shutil.rmtree(tmp, ignore_errors=True)
