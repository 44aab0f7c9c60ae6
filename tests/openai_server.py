"""A small OpenAI-compatible chat-completions server for tests and benchmarks (127.0.0.1, a free port).

    with OpenAIServer(responder, latency=0.05, script=fail_some) as srv:
        load_model(f'openai:tiny@{srv.url}')

- `responder(messages) -> str`: the assistant's answer to one request's `messages` (default: echo the last one).
- `script(n, body) -> action | None`: for request number `n` (1-based, in arrival order) with its parsed JSON
  `body`, an action instead of the normal answer:
  `('status', code, headers)` (e.g. `('status', 429, {'Retry-After': '1'})`),
  `('raw', bytes[, status])` (sent as the body, with status 200 unless given),
  `('truncate',)` (a Content-Length larger than the body, then the connection is closed),
  `('content', value)` (a well-formed answer whose content is `value`, e.g. '' or None).
- `requests` counts requests, `bodies` and `headers` keep what each one sent; `stop()` shuts the server down (also
  mid-run: requests after that fail to connect).
"""
from __future__ import annotations
import json, threading, time
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler


def echo(messages): return f"echo: {messages[-1]['content']}"


class OpenAIServer:
    "An OpenAI-compatible `/v1/chat/completions` endpoint on 127.0.0.1, driven by a Python responder"
    def __init__(self, responder=echo, latency:float=0.0, script=None, model:str='tiny'):
        self.responder, self.latency, self.script, self.model = responder, latency, script, model
        self.requests, self.bodies, self.headers = 0, [], []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'
            def log_message(self, *a): pass
            def _send(self, code, body:bytes, headers=None, length=None):
                self.send_response(code)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(body) if length is None else length))
                for k, v in (headers or {}).items(): self.send_header(k, v)
                self.end_headers(); self.wfile.write(body); self.wfile.flush()
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get('Content-Length') or 0))
                with owner._lock:
                    owner.requests += 1; n = owner.requests
                    owner.headers.append(dict(self.headers)); owner.bodies.append(raw)
                if not self.path.rstrip('/').endswith('/chat/completions'):
                    return self._send(404, b'{"error": {"message": "not found"}}')
                try: body = json.loads(raw)
                except ValueError: return self._send(400, b'{"error": {"message": "bad JSON"}}')
                if owner.latency: time.sleep(owner.latency)
                act = owner.script(n, body) if owner.script else None
                if act is None:
                    try: act = ('content', owner.responder(body['messages']))
                    except Exception as e: act = ('status', 500, None)
                if act[0] == 'status':
                    return self._send(act[1], json.dumps({'error': {'message': f'status {act[1]}'}}).encode(),
                                      act[2] if len(act) > 2 else None)
                if act[0] == 'raw': return self._send(act[2] if len(act) > 2 else 200, act[1])
                if act[0] == 'truncate':
                    full = self._answer(body, 'this answer is cut short')
                    self._send(200, full[:len(full) // 2], length=len(full)); self.close_connection = True; return
                self._send(200, self._answer(body, act[1]))
            def _answer(self, body, content)->bytes:
                return json.dumps({'id': 'x', 'object': 'chat.completion', 'model': body.get('model'),
                                   'choices': [{'index': 0, 'finish_reason': 'stop',
                                                'message': {'role': 'assistant', 'content': content}}]}).encode()

        self.httpd = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f'http://127.0.0.1:{self.port}/v1'
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs=dict(poll_interval=0.05), daemon=True)
        self._thread.start()
        return self

    def stop(self):
        "Stop serving and close the socket (later requests are refused)"
        if self._thread is not None:
            self.httpd.shutdown(); self._thread.join(); self._thread = None
        self.httpd.server_close()

    def __enter__(self): return self.start()
    def __exit__(self, *a): self.stop()
