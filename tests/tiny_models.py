"""Tiny random-weight models and tokenizers, built on the fly with the real classes (no downloads).

- `tiny_llama_guard(folder)`: a `LlamaForCausalLM` and a byte-level BPE tokenizer (made with `tokenizers`) whose
  vocabulary holds `safe`, `unsafe`, `\\n\\n`, `S`, `1`..`14` and the Llama 3 special tokens, with a chat template in
  the style of the released Llama Guard 3 1B tokenizer (categories and excluded categories pass through it).
- `tiny_prompt_guard(folder, labels=...)`: a `BertForSequenceClassification` with a WordPiece tokenizer, labelled like
  Prompt Guard 1 (BENIGN / INJECTION / JAILBREAK) or Prompt Guard 2 (LABEL_0 / LABEL_1).
- `pickle_only(folder)`: a model folder holding only `pytorch_model.bin` (for the safetensors-only refusal).

Other engineers may import these helpers; everything is deterministic for a given seed.
"""
from __future__ import annotations
from pathlib import Path

LLAMA3_SPECIAL = ['<|begin_of_text|>', '<|end_of_text|>', '<|start_header_id|>', '<|end_header_id|>',
                  '<|eot_id|>', '<|eom_id|>', '<|finetune_right_pad_id|>', '<|python_tag|>', '<|image|>']

# Llama 3's pre-tokenizer pattern (splits digits in groups of 1-3, keeps runs of newlines together)
LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")

# A chat template in the style of Llama Guard 3 1B's (content is a list of {type: text, text} parts)
LG3_TEMPLATE = (
    "{%- if messages|length % 2 == 0 -%}{%- set role = 'Agent' -%}{%- else -%}{%- set role = 'User' -%}{%- endif -%}"
    "{%- if categories is not defined -%}{%- set categories = ({"
    "'S1': 'Violent Crimes.', 'S2': 'Non-Violent Crimes.', 'S3': 'Sex Crimes.', 'S4': 'Child Exploitation.', "
    "'S5': 'Defamation.', 'S6': 'Specialized Advice.', 'S7': 'Privacy.', 'S8': 'Intellectual Property.', "
    "'S9': 'Indiscriminate Weapons.', 'S10': 'Hate.', 'S11': 'Self-Harm.', 'S12': 'Sexual Content.', "
    "'S13': 'Elections.'}) -%}{%- endif -%}"
    "{%- if excluded_category_keys is not defined -%}{%- set excluded_category_keys = [] -%}{%- endif -%}"
    "{{- '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\\n\\n' -}}"
    "{{- \"Task: Check if there is unsafe content in '\" + role + \"' messages in conversations according our safety policy with the below categories.\\n\\n\" -}}"
    "{{- '<BEGIN UNSAFE CONTENT CATEGORIES>\\n' -}}"
    "{%- for key in categories -%}{%- if key not in excluded_category_keys -%}{{- key + ': ' + categories[key] + '\\n' -}}{%- endif -%}{%- endfor -%}"
    "{{- '<END UNSAFE CONTENT CATEGORIES>\\n\\n' -}}"
    "{{- '<BEGIN CONVERSATION>\\n\\n' -}}"
    "{%- for message in messages -%}"
    "{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}{{- raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') -}}{%- endif -%}"
    "{%- if message['role'] == 'user' -%}{%- set role = 'User' -%}{%- else -%}{%- set role = 'Agent' -%}{%- endif -%}"
    "{%- for content in message['content'] | selectattr('type', 'equalto', 'text') -%}{{- role + ': ' + content['text'] | trim + '\\n\\n' -}}{%- endfor -%}"
    "{%- endfor -%}"
    "{{- '<END CONVERSATION>\\n\\n' -}}"
    "{{- 'Provide your safety assessment for ONLY THE LAST ' + role + ' message in the above conversation:\\n' -}}"
    "{{- \" - First line must read 'safe' or 'unsafe'.\\n\" -}}"
    "{{- ' - If unsafe, a second line must include a comma-separated list of violated categories.<|eot_id|><|start_header_id|>assistant<|end_header_id|>' -}}"
)

_CORPUS = [
    "Task: Check if there is unsafe content in 'User' messages in conversations according our safety policy with the below categories.",
    "Task: Check if there is unsafe content in 'Agent' messages in conversations according our safety policy with the below categories.",
    "<BEGIN UNSAFE CONTENT CATEGORIES>\n<END UNSAFE CONTENT CATEGORIES>\n\n<BEGIN CONVERSATION>\n\n<END CONVERSATION>\n\n",
    "S1: Violent Crimes.\nS2: Non-Violent Crimes.\nS3: Sex Crimes.\nS4: Child Exploitation.\nS5: Defamation.\n"
    "S6: Specialized Advice.\nS7: Privacy.\nS8: Intellectual Property.\nS9: Indiscriminate Weapons.\nS10: Hate.\n"
    "S11: Self-Harm.\nS12: Sexual Content.\nS13: Elections.\nS14: Code Interpreter Abuse.\n",
    "Provide your safety assessment for ONLY THE LAST User message in the above conversation:\n",
    " - First line must read 'safe' or 'unsafe'.\n - If unsafe, a second line must include a comma-separated list of violated categories.",
    "User: how do I bake bread at home?\n\nAgent: Mix flour, water, salt and yeast, then bake it.\n\n",
    "safe\n\nunsafe\nS1\n\nunsafe\nS2,S10\n\nsafe\n\nunsafe\nS14\n\n10 11 12 13 14\n\n",
]

def llama_guard_tokenizer(vocab_size:int=600, template:str|None=LG3_TEMPLATE):
    "A byte-level BPE tokenizer like Llama 3's (special tokens, pre-tokenizer), trained on a tiny Llama Guard corpus"
    from tokenizers import Tokenizer, Regex, models, pre_tokenizers, decoders, trainers
    from transformers import PreTrainedTokenizerFast
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior='isolated'),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=LLAMA3_SPECIAL, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    corpus = _CORPUS * 20 + ['safe unsafe safe unsafe'] * 50 + ['\n\n'] * 50
    tok.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token='<|begin_of_text|>', eos_token='<|eot_id|>',
                                   pad_token='<|finetune_right_pad_id|>')
    if template is not None: fast.chat_template = template
    for w in ('safe', 'unsafe', '\n\n', '\n', 'S', *map(str, range(1, 15))):
        ids = fast.encode(w, add_special_tokens=False)
        assert len(ids) == 1, f"tiny tokenizer: {w!r} is not one token ({ids})"
    return fast

def tiny_llama_guard(folder, seed:int=0, layers:int=2, hidden:int=64, heads:int=4, kv_heads:int=2,
                     max_positions:int=4096, template:str|None=LG3_TEMPLATE, vocab_size:int=600)->Path:
    "Save a tiny random `LlamaForCausalLM` and its tokenizer (safetensors) into `folder`; returns the folder"
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    folder = Path(folder); folder.mkdir(parents=True, exist_ok=True)
    tok = llama_guard_tokenizer(vocab_size, template)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=hidden, intermediate_size=hidden*2, num_hidden_layers=layers,
                      num_attention_heads=heads, num_key_value_heads=kv_heads, max_position_embeddings=max_positions,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                      tie_word_embeddings=False, rope_theta=500000.0)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(cfg)
    with torch.no_grad():  # larger output weights so that probabilities are not all ~1/vocab
        model.lm_head.weight.mul_(20.0)
    model.save_pretrained(folder, safe_serialization=True)
    tok.save_pretrained(folder)
    return folder

def prompt_guard_tokenizer(words=()):
    "A WordPiece tokenizer in BERT's style (lower-cased, [CLS] ... [SEP]) over ASCII characters and a few words"
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, decoders
    from transformers import PreTrainedTokenizerFast
    import string
    special = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']
    chars = sorted(set(string.ascii_lowercase + string.digits + string.punctuation))
    base = ['ignore', 'previous', 'instructions', 'the', 'you', 'are', 'now', 'dan', 'how', 'bake', 'bread', *words]
    vocab = {t: i for i, t in enumerate(dict.fromkeys(special + chars + ['##' + c for c in chars] + base))}
    tok = Tokenizer(models.WordPiece(vocab, unk_token='[UNK]', max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(single='[CLS] $A [SEP]', pair='[CLS] $A [SEP] $B [SEP]',
                                                       special_tokens=[('[CLS]', vocab['[CLS]']), ('[SEP]', vocab['[SEP]'])])
    tok.decoder = decoders.WordPiece()
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token='[UNK]', pad_token='[PAD]', cls_token='[CLS]',
                                   sep_token='[SEP]', mask_token='[MASK]', model_max_length=512)

PG1_LABELS = ('BENIGN', 'INJECTION', 'JAILBREAK')
PG2_LABELS = ('LABEL_0', 'LABEL_1')

def tiny_prompt_guard(folder, labels=PG1_LABELS, seed:int=0, layers:int=2, hidden:int=32)->Path:
    "Save a tiny random `BertForSequenceClassification` (512 positions) and tokenizer into `folder`"
    import torch
    from transformers import BertConfig, BertForSequenceClassification
    folder = Path(folder); folder.mkdir(parents=True, exist_ok=True)
    tok = prompt_guard_tokenizer()
    cfg = BertConfig(vocab_size=len(tok), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=2,
                     intermediate_size=hidden*2, max_position_embeddings=512, num_labels=len(labels),
                     id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)},
                     pad_token_id=tok.pad_token_id)
    torch.manual_seed(seed)
    model = BertForSequenceClassification(cfg).eval()
    with torch.no_grad(): model.classifier.weight.mul_(30.0)
    model.save_pretrained(folder, safe_serialization=True)
    tok.save_pretrained(folder)
    return folder

def pickle_only(folder, labels=PG2_LABELS)->Path:
    "A classifier folder whose weights are only in pickle format (pytorch_model.bin)"
    import torch
    folder = tiny_prompt_guard(folder, labels)
    from safetensors.torch import load_file
    sd = load_file(folder/'model.safetensors')
    torch.save(sd, folder/'pytorch_model.bin')
    (folder/'model.safetensors').unlink()
    return folder
