"""A tiny random-weight chat model (a real `LlamaForCausalLM` with a Llama 3-style chat template), built on the fly.

- `tiny_chat_lm(folder)`: the model and its byte-level BPE tokenizer (from `tiny_models.llama_guard_tokenizer`) saved
  as safetensors, with `LLAMA3_CHAT`, a chat template in the style of Llama 3 Instruct's: an optional system message
  first, then user and assistant turns, each closed by `<|eot_id|>`, and the assistant header as generation prompt.
  The template rejects a system message anywhere but first and any role other than system, user and assistant.

Its responses mean nothing; the tests compare how they are produced (batched against per-row `generate()`).
"""
from __future__ import annotations
from pathlib import Path
from tiny_models import tiny_llama_guard

LLAMA3_CHAT = (
    "{{- bos_token -}}"
    "{%- for message in messages -%}"
    "{%- if message['role'] not in ['system', 'user', 'assistant'] -%}"
    "{{- raise_exception('unknown role ' + message['role']) -}}{%- endif -%}"
    "{%- if message['role'] == 'system' and not loop.first -%}"
    "{{- raise_exception('a system message must come first') -}}{%- endif -%}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' -}}"
    "{{- message['content'] | trim + '<|eot_id|>' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}{%- endif -%}"
)

def tiny_chat_lm(folder, seed:int=0, layers:int=2, hidden:int=64, max_positions:int=4096)->Path:
    "Save a tiny random chat `LlamaForCausalLM` and its tokenizer (safetensors, Llama 3-style template) into `folder`"
    return tiny_llama_guard(folder, seed=seed, layers=layers, hidden=hidden, max_positions=max_positions,
                            template=LLAMA3_CHAT)
