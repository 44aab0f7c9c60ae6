"distributed: Ray Data scoring and audits equal the local path (scores, row accounting, duplicate pairs, PII, identity), also after a replica is killed; a real two-node cluster; Ray stays optional"
import itertools, json, os, re, shutil, signal, subprocess, sys, tempfile, threading, time
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


def test_local_cluster_workers_do_without_the_iri_checker(cluster):
    "`start_local`'s workers import ray, and so jsonschema, without rfc3987-syntax; the driver's PYTHONPATH is its own"
    seen = ray.get(ray.remote(lambda: ('jsonschema' in sys.modules, 'rfc3987_syntax' in sys.modules)).remote())
    assert seen == (True, False)
    assert 'riskbench-workers-' not in os.environ.get('PYTHONPATH', '')


def test_cli_engine_ray_scores_equal_local(cluster, tmp_path, data, capsys):
    "`riskbench score --engine ray --replicas 2`: the local engine's file, fingerprint, row accounting and rejects"
    from riskbench.cli import main
    loc, lrep = G.score_file(data, 'baseline', out=tmp_path/'local.parquet', cache=tmp_path/'c1', progress=False)
    assert main(['score', str(data), '--engine', 'ray', '--replicas', '2', '--out', str(tmp_path/'ray.parquet')]) == 0
    out = capsys.readouterr().out
    assert 'scored 750 rows' in out and str(lrep) in out and lrep.read == 752 and lrep.rejected == 2
    assert "(id 'empty')" in out and "(id 'number')" in out
    same_table(pd.read_parquet(tmp_path/'ray.parquet'), pd.read_parquet(tmp_path/'local.parquet'), eps=1e-9)
    assert table_metadata(tmp_path/'ray.parquet')['guard'] == table_metadata(tmp_path/'local.parquet')['guard']
    # the replicas scored (and cached, under RISKBENCH_CACHE_DIR) each distinct input once: 'again-3' repeats row 3
    assert len(G.ScoreCache(tmp_path/'cache', loc.attrs['guard'], ('score',)).load()) == 749
    assert main(['score', str(data), '--engine', 'spark', '--out', str(tmp_path/'x.parquet')]) == 2
    assert main(['score', str(data), '--engine', 'ray', '--replicas', '3', '--out', str(tmp_path/'x.parquet')]) == 2
    assert 'needs 3 CPUs, the cluster has 2' in capsys.readouterr().err and not (tmp_path/'x.parquet').exists()


def test_tiny_transformer_scores_equal_local(cluster, tmp_path, data):
    "A tiny random-weight Prompt Guard (the real architecture class): scores to 1e-6"
    spec = f"prompt-guard:{tiny_prompt_guard(tmp_path/'pg', PG1_LABELS, seed=3)}"
    df, rep = load_eval_set(data, missing_label='keep')
    df = df.iloc[::12].reset_index(drop=True)  # 63 rows
    loc, _ = G.score_table(df, spec, cache=False, progress=False)
    dis, _ = D.score_table_ray(df, spec, cache=False, replicas=1, batch_rows=64)
    same_table(dis, loc, eps=1e-6)
    assert loc['score'].std() > 0  # the scores vary, so equality says something
    # a guard with weights is mapped through actors (the baseline, through tasks): one that dies is restarted, its
    # batch retried, and the table is the same
    marker, key = tmp_path/'crashed', D._hashes([df['text'][40]])[0]
    again, rep = D.score_table_ray(df, spec, cache=tmp_path/'c', replicas=1, batch_rows=16, crash_once=(str(marker), key))
    assert marker.exists()  # the actor did die
    same_table(again, loc, eps=1e-6)
    assert len(G.ScoreCache(tmp_path/'c', again.attrs['guard'], ('score',)).load()) == len(df)


def test_table_built_while_scores_come_back(cluster, data, monkeypatch):
    """The driver's table lookups wait for scores still to come (here: sent from another thread after a pause); when
    the map ends with a score missing the lookup says so; a failing map raises its own error, not the lookup's"""
    df, _ = load_eval_set(data, missing_label='keep')
    rs = D.RemoteScores(D.guard_info('baseline', {}))
    todo = D._todo(df, rs, G.max_score_chars(None), False)
    loc, lrep = G.score_table(df, 'baseline', cache=False, progress=False)
    vals = dict(zip(loc['text'], loc['score']))
    batch = pd.DataFrame({'key': todo['key'], 'score': [vals[t] for t in todo['input']], 'reason': None})
    def send():
        time.sleep(0.5)
        for i in range(0, len(batch), 100): D._collect(rs, batch.iloc[i:i + 100])
        rs.close()
    rs.open(); threading.Thread(target=send).start()
    t0 = time.perf_counter(); got, rep = G.score_table(df, rs, cache=False, progress=False)
    assert time.perf_counter() - t0 >= 0.5  # it waited for the scores
    same_table(got, loc, eps=1e-12); assert rep.summary() == lrep.summary()
    rs2 = D.RemoteScores(D.guard_info('baseline', {})); rs2.open(); rs2.close()
    with pytest.raises(RuntimeError, match='no score came back'): G.score_table(df, rs2, cache=False, progress=False)
    def broken(*a, **k): raise D.BadParameter('the map failed')
    monkeypatch.setattr(D, '_map_scores', broken)
    with pytest.raises(D.BadParameter, match='the map failed'): D.score_table_ray(df, 'baseline', cache=False)


def test_cache_shared_replica_killed_and_resumed(cluster, tmp_path, data):
    """Rows the local engine cached are not mapped; a replica (for the baseline, a Ray task) dies (os._exit) on a marked
    batch and Ray retries it: the table is exact, no row lost or duplicated; a second run maps nothing and gives the
    same table"""
    df, _ = load_eval_set(data, missing_label='keep')
    G.score_table(df.iloc[:300], 'baseline', cache=tmp_path/'c', progress=False)
    key = D._hashes([df['text'][400]])[0]  # not cached: the crash is in the map
    marker = tmp_path/'crashed'
    dis, rep = D.score_table_ray(df, 'baseline', cache=tmp_path/'c', batch_rows=100, crash_once=(str(marker), key))
    assert marker.exists()  # the replica did die
    assert dis.attrs['ray_scored'] == 749 - 300
    loc, lrep = G.score_table(df, 'baseline', cache=False, progress=False)
    same_table(dis, loc, eps=1e-9)
    assert dis['id'].is_unique and set(dis['id']) == set(loc['id']) and rep.summary() == lrep.summary()
    cached = G.ScoreCache(tmp_path/'c', dis.attrs['guard'], ('score',)).load()
    assert len(cached) == 749  # batches finished before the crash were kept, the retried one written once more
    again, _ = D.score_table_ray(df, 'baseline', cache=tmp_path/'c')
    assert again.attrs['ray_scored'] == 0
    same_table(again, dis, eps=0)


def test_streamed_file_equals_local_with_hostile_rows(cluster, tmp_path, data):
    """`score_stream_ray` over a JSONL read in ~4 KB blocks (so rows, rejects and a repeated id cross blocks): the
    local engine's file, metadata and row accounting (each reject's row and reason); each distinct input mapped once,
    cached, and a second run maps nothing"""
    lines = data.read_text().splitlines()
    lines[5:5] = ['{"id": "broken", "text": ', json.dumps(dict(id='over', text='x y ' * 15000, label=1))]
    lines += [json.dumps(dict(json.loads(lines[400]), text='a repeated id'))]  # the id of a row many blocks earlier
    p = tmp_path/'hostile.jsonl'; p.write_text('\n'.join(lines) + '\n')
    loc, lrep = G.score_file(p, 'baseline', out=tmp_path/'local.parquet', cache=False, progress=False)
    got, rep = D.score_stream_ray(p, 'baseline', out=tmp_path/'ray.parquet', cache=tmp_path/'c', replicas=2,
                                  block_bytes=4096, batch_rows=64)
    same_table(pd.read_parquet(tmp_path/'ray.parquet'), pd.read_parquet(tmp_path/'local.parquet'), eps=1e-9)
    assert table_metadata(tmp_path/'ray.parquet') == table_metadata(tmp_path/'local.parquet')
    pd.testing.assert_frame_equal(rep.rejected_rows(), lrep.rejected_rows())
    pd.testing.assert_frame_equal(rep.flagged_rows(), lrep.flagged_rows())
    assert rep.summary() == lrep.summary() and lrep.rejected == 4  # broken JSON, repeated id, empty, a number
    assert list(got.columns) == ['id', 'score', 'truncated_for_scoring'] and got['truncated_for_scoring'].sum() == 1
    pd.testing.assert_frame_equal(got, pd.read_parquet(tmp_path/'local.parquet', columns=list(got.columns)))
    assert got.attrs['ray_scored'] == loc['text'].nunique() == len(G.ScoreCache(tmp_path/'c', got.attrs['guard'],
                                                                                ('score',)).load())
    again, _ = D.score_stream_ray(p, 'baseline', out=tmp_path/'new/again.parquet', cache=tmp_path/'c',
                                  block_bytes=4096)  # into a folder not there yet
    assert again.attrs['ray_scored'] == 0
    same_table(pd.read_parquet(tmp_path/'new/again.parquet'), pd.read_parquet(tmp_path/'local.parquet'), eps=1e-9)
    assert not list(tmp_path.glob('.shards-*'))  # the shards are gone once merged


def test_from_refs_keeps_the_blocks_and_their_metadata(cluster, monkeypatch):
    "`from_refs`: the blocks put as read, in order, one block each, metadata from the driver (not `from_pandas_refs`)"
    monkeypatch.setattr(ray.data, 'from_pandas_refs', lambda *a, **k: pytest.fail('one Ray task per block'))
    parts = [pd.DataFrame({'key': [f'k{i}{j}' for j in range(n)], 'input': ['x' * j for j in range(n)]})
             for i, n in enumerate((5, 1, 3))]
    ds = D.from_refs([D.put_block(b) for b in parts])
    assert ds.num_blocks() == 3 and ds.count() == 9
    pd.testing.assert_frame_equal(ds.to_pandas().reset_index(drop=True), pd.concat(parts, ignore_index=True))


def test_stream_shards_written_while_scores_come_back(cluster, tmp_path, data, monkeypatch):
    """The streamed writer writes each block's shard once its scores are back, before the map ends (here: a map that
    sends the local scores in small batches); the file equals the local one; a failed map leaves no table at `out`"""
    loc, _ = G.score_file(data, 'baseline', out=tmp_path/'local.parquet', cache=False, progress=False)
    vals, seen = dict(zip(loc['text'], loc['score'])), []
    def slow_map(ds, rs, *a):
        b = ds.to_pandas()
        for i in range(0, len(b), 100):
            part = b.iloc[i:i + 100]
            D._collect(rs, pd.DataFrame({'key': part['key'], 'score': [vals[t] for t in part['input']], 'reason': None}))
            time.sleep(0.1)
            seen.append(len(list(tmp_path.glob('.shards-*/shard-*.parquet'))))
    monkeypatch.setattr(D, '_map_scores', slow_map)
    got, rep = D.score_stream_ray(data, 'baseline', out=tmp_path/'ray.parquet', cache=False, block_bytes=4096)
    assert len(seen) > 2 and seen[-2] > 0  # shards were on disk while scores were still to come
    same_table(pd.read_parquet(tmp_path/'ray.parquet'), pd.read_parquet(tmp_path/'local.parquet'), eps=1e-12)
    def broken(*a, **k): raise D.BadParameter('the map failed')
    monkeypatch.setattr(D, '_map_scores', broken)
    with pytest.raises(D.BadParameter, match='the map failed'):
        D.score_stream_ray(data, 'baseline', out=tmp_path/'failed.parquet', cache=False, block_bytes=4096)
    assert not (tmp_path/'failed.parquet').exists() and not list(tmp_path.glob('.shards-*'))


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
    d = D.exact_duplicates_ray(finetune, block_rows=160)  # two blocks: the groupby still crosses them
    pd.testing.assert_frame_equal(d, A.exact_duplicates(finetune))
    assert {'ft-0006-copy', 'ft-0041-copy', 'ft-0078-copy'} <= set(d['id'])


def test_near_duplicates_equal_local_and_brute_force(cluster, finetune):
    "Pairs and Jaccard values of the local audit, and the pairs of a brute-force Jaccard over all pairs"
    d = D.near_duplicates_ray(finetune, 'text', block_rows=160)
    pd.testing.assert_frame_equal(d, A.near_duplicates(finetune, 'text'), check_exact=False, atol=1e-12)
    pos = {v: i for i, v in enumerate(finetune['id'])}
    assert {(pos[a], pos[b]) for a, b in zip(d['id_a'], d['id_b'])} == brute_near_pairs(finetune['text'], 0.5)
    assert len(d) >= 5 and (d['split_a'] != d['split_b']).any()  # planted pairs, some across splits (leakage)


def test_near_duplicates_from_files_equal_local(cluster, tmp_path, finetune, monkeypatch):
    """A Parquet folder (three files, read by the workers in blocks of 64 rows) and a JSONL file: the local audit's pairs,
    with one key partition (a one-CPU cluster) as with two"""
    t = finetune[['id', 'text', 'split']]
    (tmp_path/'pq').mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(t)), 3)): t.iloc[part].to_parquet(tmp_path/f'pq/{i}.parquet')
    t.to_json(tmp_path/'ft.jsonl', orient='records', lines=True)
    want = A.near_duplicates(finetune, 'text')
    for src in (tmp_path/'pq', tmp_path/'ft.jsonl'):
        pd.testing.assert_frame_equal(D.near_duplicates_ray(src, block_rows=64), want, check_exact=False, atol=1e-12)
    monkeypatch.setattr(D, '_partitions', lambda: 1)
    pd.testing.assert_frame_equal(D.near_duplicates_ray(tmp_path/'pq', block_rows=64), want, check_exact=False, atol=1e-12)
    with pytest.raises(D.BadFile, match='no such file'): D.near_duplicates_ray(tmp_path/'nothing.parquet')
    with pytest.raises(D.BadColumn, match="no column 'response'"): D.near_duplicates_ray(tmp_path/'pq', 'response')


def test_guard_info_kept_for_a_model_folder(cluster, tmp_path, monkeypatch):
    "A second job reads a local model's description from the cache folder (no load); a changed file loads it again"
    folder = tiny_prompt_guard(tmp_path/'pg', PG1_LABELS, seed=3)
    spec, cache = f"prompt-guard:{folder}", str(tmp_path/'c')
    info = D.guard_info(spec, {}, 0, cache)
    assert info['fingerprint'] == G.load_guard(spec).fingerprint and len(list((tmp_path/'c/guard-info').iterdir())) == 1
    monkeypatch.setattr(D, '_info', None)  # a load now fails
    assert D.guard_info(spec, {}, 0, cache) == info
    with pytest.raises(AttributeError): D.guard_info(spec, {'max_length': 64}, 0, cache)  # other options: a new key
    f = next(Path(folder).glob('config.json')); os.utime(f, ns=(0, 0))
    with pytest.raises(AttributeError): D.guard_info(spec, {}, 0, cache)
    assert D._info_key('baseline', {}) is None and D._info_key('prompt-guard:meta-llama/Prompt-Guard-86M', {}) is None


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
print('RESULT', json.dumps(dict(nodes=len([n for n in ray.nodes() if n['Alive']]), cpus=ray.cluster_resources()['CPU'],
                      node2=bool(n2), rows=len(s))))
"""
        r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env, timeout=300)
        pids += _ray_processes(tmp)
        assert r.returncode == 0, r.stderr[-3000:]
        # Ray's raylet may print to stdout too (a worker killed at shutdown, say): read only the line the script marked
        marked = [l[len('RESULT '):] for l in r.stdout.splitlines() if l.startswith('RESULT ')]
        assert len(marked) == 1, r.stdout[-3000:]
        got = json.loads(marked[0])
        assert got == dict(nodes=2, cpus=2.0, node2=True, rows=750)  # 2 one-CPU tasks at a time: one on each node
        G.score_file(data, 'baseline', out=tmp_path/'local.parquet', cache=False, progress=False)
        same_table(pd.read_parquet(tmp_path/'ray.parquet'), pd.read_parquet(tmp_path/'local.parquet'), eps=1e-9)
    finally:
        _kill_tree(sorted(set(pids + _ray_processes(tmp))))
        shutil.rmtree(tmp, ignore_errors=True)


# ---- product generation and system evaluation on Ray ----
from tiny_lm import tiny_chat_lm
from openai_server import OpenAIServer
from riskbench import products as P, system as S


@pytest.fixture(scope='module')
def chat_lm(tmp_path_factory): return tiny_chat_lm(tmp_path_factory.mktemp('chat'), seed=3)


@pytest.fixture(scope='module')
def prompts():
    "Demo prompts (unsafe and benign), a repeated one, an empty text and a conversation the chat template rejects"
    rows = [json.loads(l) for l in (ROOT/'datasets/demo_prompts.jsonl').read_text().splitlines() if l.strip()]
    df = pd.DataFrame(rows[:36])[['id', 'text', 'label']]
    extra = pd.DataFrame(dict(id=['again', 'empty', 'tool'], text=[df['text'][4], '  ', 'x'], label=[1, 0, 0]))
    df = pd.concat([df, extra], ignore_index=True)
    df['conversation'] = [None] * (len(df) - 1) + [[{'role': 'tool', 'content': 'b'}]]
    return df


def same_system(a:pd.DataFrame, ra, b:pd.DataFrame, rb):
    "Same system table (rows, columns, values, attrs) and the same row accounting"
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs == b.attrs and ra.summary() == rb.summary() and ra.rejects == rb.rejects


def test_hf_system_equals_local_and_shares_the_cache(cluster, tmp_path, chat_lm, prompts):
    "Two replicas of the tiny chat LM: the local system table and accounting; one replica killed mid-run changes nothing"
    spec, local = f'hf:{chat_lm}', P.load_model(f'hf:{chat_lm}', max_new_tokens=6)
    first, _ = S.evaluate_system(prompts, local, output_guard='baseline', output_threshold=2, cache_dir=tmp_path/'l')
    kw = dict(output_guard='baseline', output_threshold=float(first['output_score'].median()))  # blocks about half
    loc, lrep = S.evaluate_system(prompts, local, cache_dir=tmp_path/'l', **kw)
    m = D.ray_model(spec, replicas=2, max_new_tokens=6, crash_once=(str(tmp_path/'crashed'), prompts['text'][20]))
    assert m.cacheable and len(m.actors) == 2
    dis, drep = S.evaluate_system(prompts, m, cache_dir=tmp_path/'c', **kw)
    assert (tmp_path/'crashed').exists()       # the replica did die, and Ray ran its batch again
    same_system(dis, drep, loc, lrep)
    why = list(drep.reasons())
    assert why == ['text is empty or white space', 'the chat template rejects this conversation']
    assert dis['outcome'].nunique() >= 2 and dis['response'].notna().sum() >= 20
    # the Ray run filled the local cache: the local path now generates nothing
    calls = []
    m.close()
    orig = local.generate_batch
    local.generate_batch = lambda b: calls.append(len(b)) or orig(b)
    again, _ = S.evaluate_system(prompts, local, cache_dir=tmp_path/'c', **kw)
    assert calls == [] and again['response'].tolist() == loc['response'].tolist()


def _reply(messages): return S.demo_model([messages])[0]


def test_endpoint_system_equals_local_with_failing_rows(cluster, tmp_path, prompts):
    "429s retried, a row that always gets 500 and one the server answers empty: per-row errors, as the local path"
    rows = prompts.iloc[:-1]  # no conversation column needed
    passed = S.input_decisions(rows.iloc[:-1], 'baseline').query('~input_blocked')['text'].tolist()
    fail = lambda n, b: (('status', 500) if b['messages'][-1]['content'] == passed[3] else
                         ('content', '') if b['messages'][-1]['content'] == passed[5] else
                         ('status', 429, {'Retry-After': '0'}) if n % 10 == 3 else None)
    kw = dict(input_guard='baseline', output_guard='baseline', judge='baseline', cache_dir=False)
    with OpenAIServer(_reply, script=fail) as srv:
        m = P.load_model(f'openai:demo@{srv.url}', retries=2, concurrency=4); m.backoff = 0.01
        loc, lrep = S.evaluate_system(rows, m, **kw)
        dis, drep = S.evaluate_system(rows, D.ray_model(m, requests_per_second=200), **kw)
    same_system(dis, drep, loc, lrep)
    assert {'HTTP 500 after 3 tries', 'empty response'} <= set(drep.reasons())
    assert dis['outcome'].nunique() >= 3 and dis['judge_score'].notna().any()  # verdicts of every layer


def test_system_inputs_engine_ray(cluster, tmp_path, data):
    "`system_inputs(engine='ray')`: the file-to-table path of `riskbench system`, equal to the local one"
    with OpenAIServer(_reply) as srv:
        args = (str(data), f'openai:demo@{srv.url}', 'baseline')
        loc = S.system_inputs(*args, cache_dir=False, concurrency=4)
        dis = S.system_inputs(*args, cache_dir=False, concurrency=4, engine='ray', requests_per_second=500)
    pd.testing.assert_frame_equal(dis['rows'], loc['rows'])
    assert [r.summary() for r in dis['reports']] == [r.summary() for r in loc['reports']] and dis['model'] == loc['model']


def test_endpoint_paced_and_bounded(cluster):
    "At most `concurrency` requests in flight and starts `1/requests_per_second` apart, across the Ray tasks"
    import threading
    live, peak, starts, lock = [0], [0], [], threading.Lock()
    def slow(messages):
        with lock: live[0] += 1; peak[0] = max(peak[0], live[0]); starts.append(time.monotonic())
        time.sleep(0.15)
        with lock: live[0] -= 1
        return 'ok'
    df = pd.DataFrame(dict(id=[f'r{i}' for i in range(16)], text=[f'question {i}' for i in range(16)]))
    with OpenAIServer(slow) as srv:
        res, rep = D.collect_responses_ray(f'openai:t@{srv.url}', df, requests_per_second=25, concurrency=3,
                                           cache_dir=False)
    assert rep.kept == 16 and 2 <= peak[0] <= 3
    starts.sort()
    assert starts[-1] - starts[0] >= 15 / 25 * 0.9   # 16 starts spaced 40 ms: at least 0.54 s


def test_endpoint_interrupted_then_resumed(cluster, tmp_path):
    "The server stops after 5 answers: one-line error, answers cached; the re-run asks only for the rest"
    df = pd.DataFrame(dict(id=[f'r{i}' for i in range(12)], text=[f'question {i}' for i in range(12)]))
    srv, stopper = OpenAIServer(_reply, latency=0.01).start(), {}
    def script(n, body):
        if n == 6: stopper['t'] = threading.Thread(target=srv.stop); stopper['t'].start()
        return ('status', 503) if n >= 6 else None
    srv.script = script
    m = P.load_model(f'openai:demo@{srv.url}', concurrency=1, retries=2); m.backoff = 0.01
    with pytest.raises(P.EndpointError, match='cannot reach') as e:
        D.collect_responses_ray(m, df, cache_dir=tmp_path/'c')
    assert '\n' not in str(e.value)
    stopper['t'].join()
    with OpenAIServer(_reply) as srv2:
        m2 = P.load_model(f'openai:demo@{srv2.url}', concurrency=2); m2.fingerprint = m.fingerprint
        res, rep = D.collect_responses_ray(m2, df, cache_dir=tmp_path/'c')
        assert srv2.requests == 12 - 5
    loc, lrep = P.collect_responses(S.demo_model, df, cache_dir=False, progress=False)
    assert res['response'].tolist() == loc['response'].tolist() and rep.summary()['kept'] == 12


def test_profile_equals_local(cluster, data):
    "Every table of `audit.profile` (quantiles included, from the counts) on the prompts with splits, one missing"
    df, _ = load_eval_set(data, missing_label='keep')
    df['split'] = pd.Series(np.where(np.arange(len(df)) % 3, 'train', 'test'), dtype=object)
    df.loc[5, 'split'] = None
    p, q = D.profile_ray(df, block_rows=97), A.profile(df)
    assert list(p) == list(q) == ['rows', 'values', 'lengths', 'labels', 'categories', 'splits']
    for k in ('values', 'lengths', 'labels', 'categories'): pd.testing.assert_frame_equal(p[k], q[k])
    assert p['rows'] == q['rows'] == 750 and p['splits'] == q['splits'] and '(missing)' in p['splits']
