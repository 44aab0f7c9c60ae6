"""Write the hostile eval-set files of issue 12 into this folder, with what each must give (`expected.json`).

Each file is one break the hostile-input campaign found (or one that already held), kept small. `expected.json` maps a
file name to the exit code the commands must end with (`exit`: 0, or 2 for a one-line error naming the file) and,
for the library's `load_eval_set`, the rows `read`, `kept` and `rejected` (worked out by hand from the bytes below)
or the text of the one-line `error` it raises (`audit_exit` where `riskbench audit` ends otherwise).

    python tests/data/hostile/make_hostile.py
"""
import json
from pathlib import Path

HERE = Path(__file__).parent

def jl(*rows): return b''.join((r if isinstance(r, bytes) else json.dumps(r).encode()) + b'\n' for r in rows)
def good(n, **kw): return [dict(id=f'r{i}', text=f'prompt number {i}', label=i % 2, **kw) for i in range(n)]

FILES = {}   # name -> bytes (or a callable that writes a file or folder at the path)
EXPECT = {}  # name -> dict(exit=0, read=, kept=, rejected=) or dict(exit=2, error=substring)

def add(name, data, **expect): FILES[name] = data; EXPECT[name] = expect

# 1. one invalid UTF-8 byte in a JSON-lines file whose block otherwise parses
add('bad_utf8.jsonl', jl(*good(6), b'{"id": "x", "text": "caf\xe9", "label": 0}',
                         *[dict(id=f's{i}', text=f'more {i}', label=0) for i in range(3)]),
    exit=0, read=10, kept=9, rejected=1)
# 2. CSV rows that used to vanish
add('unterminated_quote.csv', b'id,text,label\n1,"never closed,0\n2,second,1\n3,third,0\n',
    exit=0, read=3, kept=2, rejected=1)
add('quote_overrun.csv', b'id,text,label\n1,"opens,0\n2,b,1\n3,"c,0\n4,d,1\n', exit=0, read=4, kept=2, rejected=2)
add('unquoted_newline.csv', b'id,text,label\n1,a,0\n2,first half\nsecond half,1\n3,d,0\n',
    exit=0, read=4, kept=2, rejected=2)
add('quoted_newline.csv', b'id,text,label\n1,"two\nlines",0\n2,b,1\n', exit=0, read=2, kept=2, rejected=0)
add('wrong_field_counts.csv', b'id,text,label\n1,a\n2,b,1,extra\n3,c,0\n', exit=0, read=3, kept=1, rejected=2)
add('malformed_rows.tsv', b'id\ttext\tlabel\n1\ta\t0\n2\t"b\t1\n3\tc\t1\n', exit=0, read=3, kept=2, rejected=1)
# 3. ids and texts read as written
add('int_ids_with_null.jsonl', jl(dict(id=1, text='a', label=0), dict(id=None, text='b', label=1),
                                  dict(id=3, text='c', label=0)),
    exit=0, read=3, kept=3, rejected=0, ids=['1', None, '3'])
add('ids_past_2_53.jsonl', jl(*[dict(id=2**60 + i, text=f't{i}', label=i % 2) for i in range(10)],
                              dict(id=None, text='x', label=0)),
    exit=0, read=11, kept=11, rejected=0, ids=[str(2**60 + i) for i in range(10)] + [None])
add('date_ids_and_texts.jsonl', jl(dict(id='2024-01-01', text='2024-01-02', label=0),
                                   dict(id='2024-01-03', text='2024-01-04', label=1)),
    exit=0, read=2, kept=2, rejected=0, ids=['2024-01-01', '2024-01-03'])
add('date_ids.csv', b'id,text,label\n2024-01-01,2024-01-02,0\n2024-01-03,hello,1\n', exit=0, read=2, kept=2, rejected=0,
    ids=['2024-01-01', '2024-01-03'])
def int_parquet(p):
    import pandas as pd
    ids = pd.array([7, None, 2**60], dtype='Int64')
    pd.DataFrame(dict(id=ids, text=['a', 'b', 'c'], label=[0, 1, 0])).to_parquet(p)
add('int_ids.parquet', int_parquet, exit=0, read=3, kept=3, rejected=0, ids=['7', None, str(2**60)])
# 11. whole-file problems: one line, exit 2
add('utf16.csv', 'id,text,label\n1,hello,0\n'.encode('utf-16'), exit=2, error='UTF-16')
add('utf16.jsonl', jl(dict(id='1', text='hello', label=0)).decode().encode('utf-16'), exit=2, error='UTF-16')
def bad_state(p):
    p.mkdir(exist_ok=True); (p/'state.json').write_text('{"_data_files": [{"filename": ')
add('hf_bad_state', bad_state, exit=2, error='not a valid datasets state.json')
add('empty.jsonl', b'', exit=2, error='the file holds no rows')
add('empty.csv', b'', exit=2, error='the file holds no rows')
add('header_only.csv', b'id,text,label\n', exit=2, error='the file holds no rows')
add('duplicate_columns.csv', b'id,text,text,label\n1,a,b,0\n', exit=2, error="repeats column names: 'text'")
add('two_synonyms.csv', b'prompt,input,label\na,b,0\n', exit=2, error="'prompt' and 'input' could each be 'text'")
# nothing left to score is bad input for `score`; an audit still reports that every row was rejected
add('every_row_bad.jsonl', jl(b'{"id": "1", "text": ', b'[1, 2]', dict(id='3', text='   ', label=0)),
    exit=2, audit_exit=0,
    read=3, kept=0, rejected=3)
# 12. language codes from the data
add('bad_languages.jsonl', jl(dict(id='1', text='a', label=0, language='<a href=x>'),
                              dict(id='2', text='b', label=1, language='en_US!!'),
                              dict(id='3', text='c', label=0, language='PT_br')),
    exit=0, read=3, kept=3, rejected=0, flagged=2)
# breaks that already held, kept so that they keep holding
add('bom.csv', b'\xef\xbb\xbfid,text,label\n1,a,0\n2,b,1\n', exit=0, read=2, kept=2, rejected=0, ids=['1', '2'])
add('bom.jsonl', b'\xef\xbb\xbf' + jl(*good(3)), exit=0, read=3, kept=3, rejected=0)
add('nul_bytes.jsonl', jl(dict(id='1', text='a\x00b', label=0)) + b'{"id": "2", "te\x00xt": "b"}\n' + jl(*good(2)),
    exit=0, read=4, kept=3, rejected=1)
add('nul_bytes.csv', b'id,text,label\n1,a\x00b,0\n2,b,1\n', exit=0, read=2, kept=2, rejected=0)
add('crlf.csv', b'id,text,label\r\n1,a,0\r\n2,"b\r\nc",1\r\n', exit=0, read=2, kept=2, rejected=0)
add('crlf.jsonl', jl(*good(3)).replace(b'\n', b'\r\n'), exit=0, read=3, kept=3, rejected=0)
add('odd_labels.jsonl', jl(dict(id='1', text='a', label='perhaps'), dict(id='2', text='b', label=2),
                           dict(id='3', text='c', label=None),
                           dict(id='4', text='d', label=True), dict(id='5', text='e', label='UNSAFE')),
    exit=0, read=5, kept=2, rejected=3)
add('duplicate_ids.jsonl', jl(dict(id='a', text='x', label=0), dict(id='a', text='y', label=1),
                              dict(id='b', text='z', label=0)),
    exit=0, read=3, kept=2, rejected=1)
add('malformed_conversations.jsonl', jl(dict(messages=[dict(role='user', content='hi')], label=0),
                                        dict(messages='not json', label=0),
                                        dict(messages=[dict(speaker='x')], label=1), dict(messages=[], label=0)),
    exit=0, read=4, kept=1, rejected=3)

def main(folder:Path=HERE):
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in FILES.items():
        p = folder/name
        if callable(data): data(p)
        else: p.write_bytes(data)
    (folder/'expected.json').write_text(json.dumps(EXPECT, indent=1) + '\n')
    print(f'wrote {len(FILES)} hostile files to {folder}')

if __name__ == '__main__': main()
