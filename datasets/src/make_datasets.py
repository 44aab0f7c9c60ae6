#!/usr/bin/env python3
"""Generate the demo datasets bundled with riskbench from the YAML sources beside this script.

Run from the repository root (or from anywhere, paths are relative to this file):

    python datasets/src/make_datasets.py              # (re)write every output file in datasets/
    python datasets/src/make_datasets.py --out DIR    # write them into DIR instead (DATASHEET.md included)
    python datasets/src/make_datasets.py --check      # regenerate in memory; exit 1 if a file on disk differs
    python datasets/src/make_datasets.py --summary    # print the markdown composition summary only

Sources (datasets/src/, edited by hand; the wheel leaves them out):

    demo_prompts.yaml           parallel prompts (an English source and nine translations) and English-only rows
    guard_train.yaml            frames, goals and complete rows of the baseline guard's training set, per language
    finetune.yaml               the ordinary prompt/response pairs of the fine-tuning sets
    finetune_planted.yaml       the planted problems: PII, decoys, duplicates, leakage, group refusals
    identity_terms.yaml         the identity-group patterns used to count mentions

Outputs (in datasets/, or in --out DIR):

    demo_prompts.jsonl          evaluation set for guards (benign / borderline / unsafe, 10 languages)
    guard_train.jsonl           training set for the CPU baseline guard, with deliberate skews
    demo_finetune.jsonl         instruction-tuning set with planted data problems
    demo_finetune_planted.json  machine-readable list of those planted problems (row ids, values)
    demo_finetune_clean.jsonl   control set without the planted problems
    DATASHEET.md                the blocks between `<!-- BEGIN GENERATED:x -->` / `<!-- END GENERATED:x -->`
                                markers are rewritten; the prose around them is hand-written

Needs PyYAML only, and is fully deterministic: row order comes from sorting on SHA-256 hashes of a
fixed seed and the row content, never from `random`, so the files are byte-identical on every run
and every Python version. Each output is checked against the contracts in DATASHEET.md before
anything is written.

Every sentence in the sources was written by the riskbench developers for this project (translations
by the authors). Unsafe prompts are *requests only*: they name a policy-violating goal so that a guard
should flag them, but contain no operational detail, and no harmful answer is ever included.
Hazard category S4 (child sexual exploitation) is deliberately left out of every file.
The personal data planted in demo_finetune.jsonl is fictitious: reserved example domains
(RFC 2606), reserved documentation IP ranges (RFC 5737), fictional 555-01xx / Ofcom drama phone
numbers, and the public test card numbers / example IBANs / example AWS key from documentation.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from functools import lru_cache
from itertools import combinations
from pathlib import Path

import yaml

SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's safe loader where installed, same result

SRC = Path(__file__).resolve().parent  # datasets/src: the YAML sources
DATASETS = SRC.parent                  # datasets: the bundled files and DATASHEET.md
SEED = "riskbench-datasets-v1"

# Llama Guard 3 hazard taxonomy (model card of meta-llama/Llama-Guard-3-8B).
HAZARDS = {
    "S1": "Violent Crimes", "S2": "Non-Violent Crimes", "S3": "Sex-Related Crimes",
    "S4": "Child Sexual Exploitation", "S5": "Defamation", "S6": "Specialized Advice",
    "S7": "Privacy", "S8": "Intellectual Property", "S9": "Indiscriminate Weapons",
    "S10": "Hate", "S11": "Suicide & Self-Harm", "S12": "Sexual Content", "S13": "Elections",
    "S14": "Code Interpreter Abuse",
}
USED_HAZARDS = [c for c in HAZARDS if c != "S4"]  # S4 is left out on purpose
LLAMA3_LANGS = ["en", "de", "fr", "it", "pt", "hi", "es", "th"]  # Llama 3.1 officially supported
UNSUPPORTED_LANGS = ["sw", "id"]
NON_EN = ["de", "fr", "it", "pt", "es", "hi", "th", "sw", "id"]
LANG_NAMES = {"en": "English", "de": "German", "fr": "French", "it": "Italian", "pt": "Portuguese",
              "hi": "Hindi", "es": "Spanish", "th": "Thai", "sw": "Swahili", "id": "Indonesian"}

# --------------------------------------------------------------------------------------------
# Small text utilities shared by the generators and the self-checks
# --------------------------------------------------------------------------------------------

def stable_key(*parts) -> str:
    "A SHA-256 hex digest of the seed and `parts`: the only source of 'randomness' in this script"
    return hashlib.sha256("|".join([SEED, *map(str, parts)]).encode("utf-8")).hexdigest()


def stable_order(items, key, salt: str):
    "Items sorted by a hash of (salt, key(item)): a deterministic shuffle"
    return sorted(items, key=lambda it: stable_key(salt, key(it)))


def norm_exact(s: str) -> str:
    "Normalisation for exact-duplicate checks: NFKC, casefold, collapse whitespace, strip"
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", s).casefold()).strip()


def tokens(s: str) -> list:
    "Words for shingling: NFKC + casefold, punctuation/symbols replaced by spaces, split on whitespace"
    s = unicodedata.normalize("NFKC", s).casefold()
    s = "".join(" " if unicodedata.category(ch)[0] in "PS" else ch for ch in s)
    return s.split()


def shingles(s: str, k: int = 3) -> set:
    "Word k-shingles of `s` (the whole token list when it has fewer than k words)"
    t = tokens(s)
    if len(t) < k:
        return {tuple(t)}
    return {tuple(t[i:i + k]) for i in range(len(t) - k + 1)}


def jaccard(a: str, b: str, k: int = 3) -> float:
    "Jaccard similarity of the word k-shingle sets of two texts"
    sa, sb = shingles(a, k), shingles(b, k)
    return len(sa & sb) / len(sa | sb) if sa | sb else 1.0


def luhn_ok(number: str) -> bool:
    "Luhn checksum of the digits in `number`"
    digits = [int(c) for c in number if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return len(digits) >= 12 and total % 10 == 0


def iban_ok(iban: str) -> bool:
    "ISO 13616 mod-97 check of an IBAN (spaces ignored)"
    s = iban.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", s):
        return False
    moved = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


# --------------------------------------------------------------------------------------------
# Sources: every prompt, goal, frame, translation, lexicon pattern and fine-tuning record lives in
# datasets/src/*.yaml (one record per prompt; each file's header says what its fields mean). The
# script loads them, checks that each record has its fields, and builds the bundled files.
# --------------------------------------------------------------------------------------------

class SourceError(ValueError):
    "A YAML source that is missing, unreadable, or has a record without a required field"


# the fields every record of each list must have: {file: {dotted path of the list: fields}};
# `*` stands for every key of a mapping (the languages of guard_train.yaml)
REQUIRED = {
    "demo_prompts.yaml": {"pairs": ("pair_id", "kind", "categories", "text"),
                          "english_only": ("kind", "categories", "text")},
    "guard_train.yaml": {"english.unsafe": ("category", "frames", "goals"),
                         "languages.*.unsafe": ("category", "goal"), "languages.*.write": ("category", "topic")},
    "finetune.yaml": {"base": ("language", "prompt", "response")},
    "finetune_planted.yaml": {"pii": ("prompt", "response", "values"), "pii_decoys": ("prompt", "response", "values"),
                              "exact_duplicates": ("prompt_a", "prompt_b", "response", "difference"),
                              "near_duplicates": ("prompt_a", "prompt_b", "response_a", "response_b"),
                              "leakage": ("train_prompt", "test_prompt", "train_response", "test_response", "kind"),
                              "group_rows": ("language", "group", "prompt", "response"),
                              "other_refusals": ("prompt", "response")},
    "identity_terms.yaml": {},
}
SOURCES = list(REQUIRED)


def _lists(data, path: list, where: str):
    "(dotted key, list) for each list at `path` in `data` (`*` = every key of a mapping)"
    head, rest = path[0], path[1:]
    if not isinstance(data, dict):
        raise SourceError(f"{where or 'top level'}: expected a mapping, got {type(data).__name__}")
    for k in (list(data) if head == "*" else [head]):
        key = f"{where}.{k}" if where else str(k)
        if k not in data:
            raise SourceError(f"`{key}` is missing")
        if rest:
            yield from _lists(data[k], rest, key)
        elif not isinstance(data[k], list):
            raise SourceError(f"`{key}` must be a list of records")
        else:
            yield key, data[k]


def load_source(name: str):
    "datasets/src/`name` parsed by a safe YAML loader, every record checked against REQUIRED"
    try:
        data = yaml.load((SRC / name).read_text(encoding="utf-8"), Loader=SafeLoader)
        for path, fields in REQUIRED[name].items():
            for key, items in _lists(data, path.split("."), ""):
                for i, rec in enumerate(items):
                    missing = [f for f in fields if not isinstance(rec, dict) or f not in rec]
                    if missing:
                        raise SourceError(f"{key}[{i}]: the record has no field `{missing[0]}`")
    except (OSError, yaml.YAMLError, SourceError) as e:
        raise SourceError(f"datasets/src/{name}: " + str(e).replace("\n", " ")) from None
    return data


@lru_cache(maxsize=None)
def sources() -> dict:
    "Every YAML source, loaded and checked once: {file name without .yaml: data}"
    return {name.removesuffix(".yaml"): load_source(name) for name in SOURCES}


@lru_cache(maxsize=None)
def _identity_rx() -> dict:
    "The identity lexicon (identity_terms.yaml: language -> group -> pattern), compiled case-insensitively"
    return {lang: {g: re.compile(p, re.I) for g, p in terms.items()}
            for lang, terms in sources()["identity_terms"].items()}


def identity_groups(text: str, lang: str) -> list:
    "Identity groups mentioned in `text` according to the lexicon (the English patterns are tried too)"
    found = set()
    for lx in dict.fromkeys([lang, "en"]):
        for g, rx in _identity_rx().get(lx, {}).items():
            if rx.search(text):
                found.add(g)
    return sorted(found)


# ============================================================================================
# Builders
# ============================================================================================

def _label(kind):
    return 1 if kind == "unsafe" else 0


def build_demo_prompts() -> list:
    "Rows of demo_prompts.jsonl (from demo_prompts.yaml), in their final (hash-shuffled) order with ids"
    rows, counter, src = [], Counter(), sources()["demo_prompts"]
    for p in src["pairs"]:
        kind, cats, texts, pid = p["kind"], p["categories"], p["text"], p["pair_id"]
        assert set(texts) == {"en", *NON_EN}, (pid, sorted(texts))
        if kind == "benign":
            keep = list(NON_EN)
        else:  # leave out a rotating triple of languages
            i = counter[kind] + (1 if kind == "borderline" else 0)
            counter[kind] += 1
            drop = {NON_EN[(3 * i + j) % len(NON_EN)] for j in range(3)}
            keep = [lang for lang in NON_EN if lang not in drop]
        for lang in ["en", *keep]:
            rows.append(dict(text=texts[lang], label=_label(kind), categories=list(cats), language=lang,
                             pair_id=pid, kind=kind))
    for r in src["english_only"]:
        rows.append(dict(text=r["text"], label=_label(r["kind"]), categories=list(r["categories"]), language="en",
                         pair_id=None, kind=r["kind"]))
    rows = stable_order(rows, key=lambda r: f"{r['language']}|{r['text']}", salt="demo_prompts")
    return [dict(id=f"dp-{i:04d}", **r) for i, r in enumerate(rows, 1)]


def _pick(combos, n, per_key_max, salt):
    "Deterministically choose n combos (key, frame), at most per_key_max per key"
    chosen, used = [], Counter()
    for key, frame in stable_order(combos, key=lambda c: f"{c[0]}|{c[1]}", salt=salt):
        if used[key] < per_key_max:
            chosen.append((key, frame))
            used[key] += 1
        if len(chosen) == n:
            break
    assert len(chosen) == n, (salt, len(chosen), n)
    return chosen


def build_guard_train() -> list:
    "Rows of guard_train.jsonl (from guard_train.yaml)"
    rows, en = [], sources()["guard_train"]["english"]
    def add(text, cats, lang):
        rows.append(dict(text=text, label=1 if cats else 0, categories=list(cats), language=lang))
    stealth = ("without getting caught", "nobody will notice")  # frames that make no sense for S6 / S11
    for u in en["unsafe"]:
        cat = u["category"]
        frames = [f for f in en["frames"][u["frames"]] if not (cat in ("S6", "S11") and any(s in f for s in stealth))]
        combos = [(g, f) for g in u["goals"] for f in frames]
        for goal, frame in _pick(combos, 32, 4, f"gt-en-{cat}"):
            add(frame.format(a=goal, t=goal), [cat], "en")
    hate = en["hate"]
    combos = [((g, c), f) for g in hate["groups"] for c in hate["claims"] for f in hate["frames"]]
    chosen, per_group, per_claim = [], Counter(), Counter()
    for (g, c), f in stable_order(combos, key=lambda x: f"{x[0]}|{x[1]}", salt="gt-en-hate"):
        if per_group[g] < 4 and per_claim[c] < 6:
            chosen.append((g, c, f))
            per_group[g] += 1
            per_claim[c] += 1
    for g, c, f in chosen:
        add(f.format(g=g, c=c), ["S10"], "en")
    benign, write = en["benign"], en["benign_write"]
    for goal, frame in _pick([(g, f) for g in benign["goals"] for f in benign["frames"]], 340, 6, "gt-en-benign"):
        add(frame.format(a=goal), [], "en")
    for task, frame in _pick([(t, f) for t in write["tasks"] for f in write["frames"]], 75, 4, "gt-en-write"):
        add(frame.format(t=task), [], "en")
    for text in en["benign_identity"] + en["borderline"]:
        add(text, [], "en")
    for lang, spec in sources()["guard_train"]["languages"].items():
        for u in spec["unsafe"]:
            for k, frame in enumerate(spec["unsafe_frames"]):
                if k == 1 and u["category"] in ("S6", "S11"):
                    continue
                add(frame.format(a=u["goal"]), [u["category"]], lang)
        for w in spec["write"]:
            for frame in spec["write_frames"]:
                add(frame.format(t=w["topic"]), [w["category"]], lang)
        for text in spec["hate"]:
            add(text, ["S10"], lang)
        for goal in spec["benign"]:
            for frame in spec["benign_frames"]:
                add(frame.format(b=goal), [], lang)
        for goal in spec.get("benign_extra", []):
            for frame in spec["benign_frames"][:2]:
                add(frame.format(b=goal), [], lang)
    seen, unique = set(), []
    for r in rows:  # drop accidental duplicates (there should be none)
        if norm_exact(r["text"]) not in seen:
            seen.add(norm_exact(r["text"]))
            unique.append(r)
    rows = stable_order(unique, key=lambda r: f"{r['language']}|{r['text']}", salt="guard_train")
    return [dict(id=f"gt-{i:04d}", **r) for i, r in enumerate(rows, 1)]


SKEW_MIN_SHARE = 0.05  # a target language below this share of rows counts as under-represented


def _split_for(prompt: str) -> str:
    return "test" if int(stable_key("split", prompt), 16) % 100 < 14 else "train"


def build_demo_finetune():
    "Rows of demo_finetune.jsonl plus the planted-problem record (from finetune.yaml and finetune_planted.yaml)"
    rows, pl = [], sources()["finetune_planted"]

    def add(prompt, response, language, split, tag):
        rows.append(dict(prompt=prompt, response=response, split=split, language=language, _tag=tag))

    for b in sources()["finetune"]["base"]:
        add(b["prompt"], b["response"], b["language"], _split_for(b["prompt"]), ("base",))
    for k, e in enumerate(pl["pii"]):
        add(e["prompt"], e["response"], "en", _split_for(e["prompt"]), ("pii", k))
    for k, e in enumerate(pl["pii_decoys"]):
        add(e["prompt"], e["response"], "en", _split_for(e["prompt"]), ("decoy", k))
    for k, e in enumerate(pl["exact_duplicates"]):
        add(e["prompt_a"], e["response"], "en", "train", ("exact", k, 0))
        add(e["prompt_b"], e["response"], "en", "train", ("exact", k, 1))
    for k, e in enumerate(pl["near_duplicates"]):
        add(e["prompt_a"], e["response_a"], "en", "train", ("near", k, 0))
        add(e["prompt_b"], e["response_b"], "en", "train", ("near", k, 1))
    for k, e in enumerate(pl["leakage"]):
        add(e["train_prompt"], e["train_response"], "en", "train", ("leak", k, 0))
        add(e["test_prompt"], e["test_response"], "en", "test", ("leak", k, 1))
    n_refusal = Counter()
    for k, e in enumerate(pl["group_rows"]):
        lang, r = e["language"], e["response"]
        if r is None:  # canned refusal, cycling through the phrases of that language
            phrases = pl["group_refusals"]["refusal_phrases"][lang]
            r = phrases[n_refusal[lang] % len(phrases)]
            n_refusal[lang] += 1
        add(e["prompt"], r, lang, "train", ("group", k))  # all in train: the canned refusals repeat verbatim
    for k, e in enumerate(pl["other_refusals"]):  # and must not look like train/test leakage
        add(e["prompt"], e["response"], "en", "train", ("refusal", k))

    rows = stable_order(rows, key=lambda r: f"{r['_tag']}|{r['prompt']}|{r['split']}", salt="demo_finetune")
    for i, r in enumerate(rows, 1):
        r["id"] = f"ft-{i:04d}"
    by_tag = {r["_tag"]: r for r in rows}
    planted = _planted_record(rows, by_tag)
    out = [dict(id=r["id"], prompt=r["prompt"], response=r["response"], split=r["split"], language=r["language"])
           for r in rows]
    return out, planted


def _planted_record(rows, by_tag) -> dict:
    "The machine-readable list of planted problems (demo_finetune_planted.json)"
    pl = sources()["finetune_planted"]
    pii = []
    for k, src in enumerate(pl["pii"]):
        for v in src["values"]:
            typ, value = v["type"], v["value"]
            e = dict(id=by_tag[("pii", k)]["id"], field=v["field"], type=typ, value=value)
            if "format" in v:
                e["format"] = v["format"]
            if typ == "credit_card":
                e["luhn_valid"] = luhn_ok(value)
            if typ == "iban":
                e["checksum_valid"] = iban_ok(value)
            pii.append(e)
    decoys = []
    for k, src in enumerate(pl["pii_decoys"]):
        for v in src["values"]:
            typ, value = v["type"], v["value"]
            e = dict(id=by_tag[("decoy", k)]["id"], field=v["field"], type=typ, value=value, should_detect=False,
                     why=v["why"])
            if typ == "credit_card":
                e["luhn_valid"] = luhn_ok(value)
            else:
                e["checksum_valid"] = iban_ok(value)
            decoys.append(e)
    exact = []
    for k, src in enumerate(pl["exact_duplicates"]):
        a, b = by_tag[("exact", k, 0)], by_tag[("exact", k, 1)]
        exact.append(dict(ids=[a["id"], b["id"]], splits=[a["split"], b["split"]], difference=src["difference"],
                          same_response=a["response"] == b["response"], cross_split=False))
    near = []
    for k, _ in enumerate(pl["near_duplicates"]):
        a, b = by_tag[("near", k, 0)], by_tag[("near", k, 1)]
        near.append(dict(ids=[a["id"], b["id"]], splits=[a["split"], b["split"]],
                         jaccard_prompt=round(jaccard(a["prompt"], b["prompt"]), 3),
                         jaccard_prompt_response=round(jaccard(a["prompt"] + "\n" + a["response"],
                                                               b["prompt"] + "\n" + b["response"]), 3),
                         cross_split=False))
    leaks = []
    for k, src in enumerate(pl["leakage"]):
        kind = src["kind"]
        a, b = by_tag[("leak", k, 0)], by_tag[("leak", k, 1)]
        leaks.append(dict(ids=[a["id"], b["id"]], train_id=a["id"], test_id=b["id"], kind=kind,
                          jaccard_prompt=round(jaccard(a["prompt"], b["prompt"]), 3)))
        entry = dict(ids=[a["id"], b["id"]], splits=[a["split"], b["split"]], cross_split=True)
        if kind == "exact":
            exact.append(dict(entry, difference="identical prompt (train/test leakage)",
                              same_response=a["response"] == b["response"]))
        else:
            near.append(dict(entry, jaccard_prompt=round(jaccard(a["prompt"], b["prompt"]), 3),
                             jaccard_prompt_response=round(jaccard(a["prompt"] + "\n" + a["response"],
                                                                   b["prompt"] + "\n" + b["response"]), 3)))
    group_rows = []
    gr = pl["group_refusals"]
    for k, src in enumerate(pl["group_rows"]):
        row = by_tag[("group", k)]
        group_rows.append(dict(id=row["id"], language=src["language"], group=src["group"],
                               refusal=src["response"] is None))
    focus = [g for g in group_rows if g["group"] == gr["group"]]
    others = [g for g in group_rows if g["group"] != gr["group"]]
    langs = Counter(r["language"] for r in rows)
    return {
        "file": "demo_finetune.jsonl",
        "generator": "datasets/src/make_datasets.py",
        "methods": {
            "exact_duplicate_key": "NFKC, casefold, collapse runs of whitespace to one space, strip; "
                                   "compared on `prompt`",
            "near_duplicate_similarity": "Jaccard similarity of word 3-shingles; words = NFKC + casefold text with "
                                         "Unicode punctuation/symbols replaced by spaces, split on whitespace; "
                                         "compared on `prompt`",
            "near_duplicate_threshold_used_by_generator": 0.5,
            "note": "every pair of rows not listed below has prompt Jaccard < 0.3 and distinct normalised prompts; "
                    "cross_split pairs are also listed under `leakage`; the canned refusal responses of the "
                    "group_refusals rows repeat verbatim, so response-only duplicate checks will group those rows",
        },
        "pii": pii,
        "pii_decoys": decoys,
        "exact_duplicates": exact,
        "near_duplicates": near,
        "leakage": leaks,
        "language_skew": {"counts": dict(sorted(langs.items(), key=lambda kv: (-kv[1], kv[0]))),
                          "english_share": round(langs["en"] / len(rows), 3),
                          "targets": list(LLAMA3_LANGS),
                          "min_share": SKEW_MIN_SHARE,
                          "under_represented": [l for l in LLAMA3_LANGS if 0 < langs[l] / len(rows) < SKEW_MIN_SHARE],
                          "missing_targets": [l for l in LLAMA3_LANGS if langs[l] == 0],
                          "note": "every language other than English holds less than min_share of the rows; "
                                  "against the eight Llama 3 languages as targets, Thai is missing as well"},
        "identity_refusal": {"group": gr["group"], "see": "group_refusals"},
        "group_refusals": {
            "group": gr["group"],
            "terms": gr["terms"],
            "refusal_phrases": gr["refusal_phrases"],
            "summary": {gr["group"]: {"rows": len(focus), "refusals": sum(g["refusal"] for g in focus)},
                        "other_groups": {"rows": len(others), "refusals": sum(g["refusal"] for g in others)}},
            "rows": group_rows,
        },
        "other_refusals": [dict(id=by_tag[("refusal", k)]["id"], note="refusal of a genuinely problematic request, "
                                "not tied to any group") for k in range(len(pl["other_refusals"]))],
    }


def build_finetune_clean() -> list:
    "Rows of demo_finetune_clean.jsonl: a problem-free control set drawn from finetune.yaml"
    base = [(b["language"], b["prompt"], b["response"]) for b in sources()["finetune"]["base"]]
    non_en = [t for t in base if t[0] != "en"]
    en = stable_order([t for t in base if t[0] == "en"], key=lambda t: t[1], salt="clean-en")[:len(non_en)]
    rows = [dict(prompt=p, response=r, split=_split_for("clean|" + p), language=lang) for lang, p, r in en + non_en]
    rows = stable_order(rows, key=lambda r: r["prompt"], salt="demo_finetune_clean")
    return [dict(id=f"fc-{i:04d}", **r) for i, r in enumerate(rows, 1)]

# ============================================================================================
# Self-checks: the script refuses to write files that break the contracts in DATASHEET.md
# ============================================================================================

PII_PATTERNS = {  # broad patterns used to prove that no *unplanned* PII-like string exists
    "email": re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"),
    "phone": re.compile(r"(\+\d[\d ]{7,}\d|\(\d{3}\)\s?\d{3}-\d{4}|\b0\d{2,4} \d{3,4} \d{3,4}\b)"),
    "long_digits": re.compile(r"\b\d(?:[ -]?\d){8,}\b"),
    "iban_like": re.compile(r"\b[A-Z]{2}\d{2}[A-Z0-9]{10,30}\b"),
    "ipv4": re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b"),
    "ssn": re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),
    "aws_key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "private_key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "url_credentials": re.compile(r"\w+://[^/\s:@]+:[^/\s@]+@"),
}
REFUSAL_MARKERS = re.compile(r"(I can't help|I cannot help|I'm sorry|I am sorry|I'm not able to|I am not able to|"
                             r"unable to assist|kann ich leider nicht|Je ne peux pas)", re.I)


def _near_pairs(texts, threshold):
    "Index pairs (i, j) whose word-3-shingle Jaccard is >= threshold"
    sh = [shingles(t) for t in texts]
    out = {}
    for i, j in combinations(range(len(texts)), 2):
        inter = len(sh[i] & sh[j])
        if inter:
            jac = inter / len(sh[i] | sh[j])
            if jac >= threshold:
                out[(i, j)] = jac
    return out


def check_demo_prompts(rows):
    n = len(rows)
    assert 600 <= n <= 800, n
    assert len({r["id"] for r in rows}) == n
    assert len({norm_exact(r["text"]) for r in rows}) == n, "duplicate texts in demo_prompts"
    for r in rows:
        assert list(r) == ["id", "text", "label", "categories", "language", "pair_id", "kind"], list(r)
        assert r["label"] in (0, 1) and r["kind"] in ("benign", "borderline", "unsafe")
        assert r["label"] == (r["kind"] == "unsafe")
        assert all(c in HAZARDS and c != "S4" for c in r["categories"]) and bool(r["categories"]) == bool(r["label"])
        assert len(tokens(r["text"])) <= 130 or r["language"] == "th"
    langs = Counter(r["language"] for r in rows)
    assert set(langs) == set(LLAMA3_LANGS + UNSUPPORTED_LANGS), langs
    assert 0.25 <= langs["en"] / n <= 0.35, langs
    assert all(0.05 <= langs[l] / n <= 0.09 for l in NON_EN), langs
    kinds = Counter(r["kind"] for r in rows)
    assert 0.40 <= kinds["unsafe"] / n <= 0.50 and 0.35 <= kinds["benign"] / n <= 0.45 \
        and 0.10 <= kinds["borderline"] / n <= 0.20, kinds
    en_cats = Counter(c for r in rows if r["language"] == "en" for c in r["categories"])
    assert all(en_cats[c] >= 12 for c in USED_HAZARDS), en_cats
    pairs = defaultdict(list)
    for r in rows:
        if r["pair_id"]:
            pairs[r["pair_id"]].append(r)
    assert len(pairs) >= 60
    for pid, members in pairs.items():
        assert sum(m["language"] == "en" for m in members) == 1 and 3 <= len(members) - 1 <= 9, pid
        assert len({(m["label"], tuple(m["categories"]), m["kind"]) for m in members}) == 1, pid
    ident = [r for r in rows if identity_groups(r["text"], r["language"])]
    assert len(ident) >= 80 and 0.35 <= sum(r["label"] == 0 for r in ident) / len(ident) <= 0.65, len(ident)
    html = [r for r in rows if "<" in r["text"]]
    assert len(html) == 2 and all(r["kind"] == "benign" for r in html)


def check_guard_train(rows, demo):
    n = len(rows)
    assert 1200 <= n <= 1600, n
    assert len({r["id"] for r in rows}) == n
    for r in rows:
        assert list(r) == ["id", "text", "label", "categories", "language"], list(r)
        assert r["label"] in (0, 1) and bool(r["categories"]) == bool(r["label"])
        assert all(c in HAZARDS and c != "S4" for c in r["categories"])
    langs = Counter(r["language"] for r in rows)
    assert 0.55 <= langs["en"] / n <= 0.65, langs
    assert all(0.04 <= langs[l] / n <= 0.06 for l in LLAMA3_LANGS[1:]), langs
    assert all(0.005 <= langs[l] / n <= 0.015 for l in UNSUPPORTED_LANGS), langs
    assert set(Counter(c for r in rows for c in r["categories"])) == set(USED_HAZARDS)
    demo_norm = {norm_exact(r["text"]) for r in demo}
    shared = [r["text"] for r in rows if norm_exact(r["text"]) in demo_norm]
    assert not shared, shared[:5]
    benign = [r for r in rows if r["label"] == 0]
    ident_benign = [r for r in benign if identity_groups(r["text"], r["language"])]
    assert len(ident_benign) / len(benign) <= 0.03, len(ident_benign)
    # no training sentence is a near copy of an evaluation sentence
    demo_sh = [(shingles(d["text"]), d["text"]) for d in demo]
    train_sh = [(shingles(r["text"]), r["text"]) for r in rows]
    worst = max((len(s & sr) / len(s | sr), text, t) for sr, text in train_sh for s, t in demo_sh)
    assert worst[0] < 0.6, worst
    return worst[0]


def check_finetune(rows, planted):
    n = len(rows)
    assert 250 <= n <= 400, n
    assert len({r["id"] for r in rows}) == n
    by_id = {r["id"]: r for r in rows}
    for r in rows:
        assert list(r) == ["id", "prompt", "response", "split", "language"], list(r)
        assert r["split"] in ("train", "test")
    langs = Counter(r["language"] for r in rows)
    assert 0.80 <= langs["en"] / n <= 0.90 and len(langs) >= 5, langs
    assert all(0 < langs[l] / n < SKEW_MIN_SHARE for l in langs if l != "en") and langs["th"] == 0, langs
    # PII: every planted value sits in the stated field of the stated row and nowhere else
    everything = "\n".join(r["prompt"] + "\n" + r["response"] for r in rows)
    for e in planted["pii"] + planted["pii_decoys"]:
        assert e["value"] in by_id[e["id"]][e["field"]], e
        assert everything.count(e["value"]) == 1, e
    for e in planted["pii"]:
        if e["type"] == "credit_card":
            assert luhn_ok(e["value"]), e
        if e["type"] == "iban":
            assert iban_ok(e["value"]), e
    for e in planted["pii_decoys"]:
        assert not (luhn_ok(e["value"]) if e["type"] == "credit_card" else iban_ok(e["value"])), e
    types = Counter(e["type"] for e in planted["pii"])
    assert types["email"] >= 3 and types["phone"] >= 3 and types["credit_card"] >= 2 and types["iban"] >= 2 \
        and types["ipv4"] >= 2 and types["ssn"] >= 1 and types["aws_access_key"] >= 1
    pii_ids = {e["id"] for e in planted["pii"] + planted["pii_decoys"]}
    for r in rows:
        if r["id"] in pii_ids:
            continue
        for name, rx in PII_PATTERNS.items():
            for field in ("prompt", "response"):
                assert not rx.search(r[field]), (r["id"], name, r[field])
    # exact duplicates: the only collisions of the normalised prompt are the planted ones
    groups = defaultdict(list)
    for r in rows:
        groups[norm_exact(r["prompt"])].append(r["id"])
    found = {tuple(sorted(v)) for v in groups.values() if len(v) > 1}
    assert found == {tuple(sorted(e["ids"])) for e in planted["exact_duplicates"]}, found
    # near duplicates: the only other pairs with prompt Jaccard >= 0.3 are the planted ones, all in [0.5, 0.95]
    prompts = [r["prompt"] for r in rows]
    pairs = _near_pairs(prompts, 0.3)
    near_found = {tuple(sorted((rows[i]["id"], rows[j]["id"]))): jac for (i, j), jac in pairs.items()
                  if norm_exact(prompts[i]) != norm_exact(prompts[j])}
    assert set(near_found) == {tuple(sorted(e["ids"])) for e in planted["near_duplicates"]}, near_found
    assert all(0.82 <= jac <= 0.95 for jac in near_found.values()), near_found  # above a 0.8 audit threshold
    combined = _near_pairs([r["prompt"] + "\n" + r["response"] for r in rows], 0.3)
    combined = {tuple(sorted((rows[i]["id"], rows[j]["id"]))) for i, j in combined}
    assert combined <= set(near_found) | found, combined - set(near_found) - found
    # leakage: train/test pairs among the above are exactly the planted ones
    leak_found = {p for p in set(near_found) | found
                  if {by_id[p[0]]["split"], by_id[p[1]]["split"]} == {"train", "test"}}
    assert leak_found == {tuple(sorted((e["train_id"], e["test_id"]))) for e in planted["leakage"]}, leak_found
    # group refusals
    g = planted["group_refusals"]
    focus_ids = {x["id"] for x in g["rows"] if x["group"] == "muslim"}
    rx = re.compile(r"\b(muslim\w*|musulman\w*|islam\w*)\b", re.I)
    assert {r["id"] for r in rows if rx.search(r["prompt"] + " " + r["response"])} == focus_ids
    for x in g["rows"]:
        assert bool(REFUSAL_MARKERS.search(by_id[x["id"]]["response"])) == x["refusal"], x
    assert g["summary"]["muslim"]["refusals"] / g["summary"]["muslim"]["rows"] >= 0.75
    assert g["summary"]["other_groups"]["refusals"] == 0
    refusing = {r["id"] for r in rows if REFUSAL_MARKERS.search(r["response"])}
    assert refusing == {x["id"] for x in g["rows"] if x["refusal"]} | {x["id"] for x in planted["other_refusals"]}


def check_clean(rows):
    n = len(rows)
    assert 60 <= n <= 100, n
    assert len({r["id"] for r in rows}) == n
    assert len({norm_exact(r["prompt"]) for r in rows}) == n
    for r in rows:
        assert list(r) == ["id", "prompt", "response", "split", "language"]
        assert not REFUSAL_MARKERS.search(r["response"]), r
        for name, rx in PII_PATTERNS.items():
            assert not rx.search(r["prompt"] + "\n" + r["response"]), (r["id"], name)
    for field in ("prompt", "response"):
        assert not _near_pairs([r[field] for r in rows], 0.3), field
    assert not _near_pairs([r["prompt"] + "\n" + r["response"] for r in rows], 0.3)
    splits = Counter(r["split"] for r in rows)
    assert splits["test"] >= 5, splits
    langs = Counter(r["language"] for r in rows)
    assert all(c / n >= SKEW_MIN_SHARE for c in langs.values()), langs  # no language below the skew threshold

# ============================================================================================
# Markdown summaries (pasted into DATASHEET.md between the GENERATED markers)
# ============================================================================================

def md_table(header, body) -> str:
    lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in body]
    return "\n".join(lines)


def _pct(a, b):
    return f"{100 * a / b:.1f} %"


def summary_demo_prompts(rows) -> str:
    n = len(rows)
    langs = [l for l in LLAMA3_LANGS + UNSUPPORTED_LANGS]
    by = Counter((r["language"], r["kind"]) for r in rows)
    body = []
    for l in langs:
        tot = sum(by[(l, k)] for k in ("benign", "borderline", "unsafe"))
        body.append([f"{l} ({LANG_NAMES[l]})", by[(l, "benign")], by[(l, "borderline")], by[(l, "unsafe")], tot,
                     _pct(tot, n)])
    kinds = Counter(r["kind"] for r in rows)
    body.append(["**all**", kinds["benign"], kinds["borderline"], kinds["unsafe"], n, "100 %"])
    out = [f"{n} rows; label 0: {sum(r['label'] == 0 for r in rows)} "
           f"(benign {kinds['benign']} = {_pct(kinds['benign'], n)}, borderline {kinds['borderline']} = "
           f"{_pct(kinds['borderline'], n)}), label 1 (unsafe): {kinds['unsafe']} = {_pct(kinds['unsafe'], n)}.",
           "", "Rows by language and kind:", "",
           md_table(["language", "benign", "borderline", "unsafe", "total", "share"], body)]
    cat_lang = Counter((c, r["language"]) for r in rows for c in r["categories"])
    body = [[f"{c} {HAZARDS[c]}"] + [cat_lang[(c, l)] for l in langs] + [sum(cat_lang[(c, l)] for l in langs)]
            for c in USED_HAZARDS]
    out += ["", "Unsafe rows by hazard category and language (a row with two categories counts in both; "
            "S4 is absent by design):", "", md_table(["category"] + langs + ["total"], body)]
    pairs = defaultdict(list)
    for r in rows:
        if r["pair_id"]:
            pairs[r["pair_id"]].append(r)
    pk = Counter(m[0]["kind"] for m in pairs.values())
    sizes = Counter(len(m) - 1 for m in pairs.values())
    out += ["", f"Parallel prompts: {len(pairs)} pair_ids ({pk['unsafe']} unsafe, {pk['benign']} benign, "
            f"{pk['borderline']} borderline), {sum(len(m) for m in pairs.values())} rows; translations per English "
            f"source: " + ", ".join(f"{k}: {v} pairs" for k, v in sorted(sizes.items())) + ". "
            f"{n - sum(len(m) for m in pairs.values())} English rows have `pair_id: null`."]
    grp = Counter()
    for r in rows:
        for g in identity_groups(r["text"], r["language"]):
            grp[(g, r["label"])] += 1
    ident = [r for r in rows if identity_groups(r["text"], r["language"])]
    body = [[g, grp[(g, 0)], grp[(g, 1)]] for g in sorted({g for g, _ in grp})]
    out += ["", f"Identity-group mentions (lexicon below): {len(ident)} rows, {sum(r['label'] == 0 for r in ident)} "
            f"benign (label 0) and {sum(r['label'] == 1 for r in ident)} unsafe. "
            "Rows per group (a row can name two groups):",
            "", md_table(["group", "label 0", "label 1"], body)]
    words = sorted(len(tokens(r["text"])) for r in rows if r["language"] != "th")
    multi = sum(len(re.findall(r"[.?!।](\s|$)", r["text"])) > 1 for r in rows)
    html = [r["id"] for r in rows if "<" in r["text"]]
    out += ["", f"Length (words, Thai excluded because it has no spaces): min {words[0]}, median "
            f"{words[len(words) // 2]}, max {words[-1]}; {multi} rows have more than one sentence.",
            "", f"Rows with HTML/JS-looking text (benign, for testing report escaping): {', '.join(html)}."]
    return "\n".join(out)


def summary_guard_train(rows, worst) -> str:
    n = len(rows)
    langs = LLAMA3_LANGS + UNSUPPORTED_LANGS
    by = Counter((r["language"], r["label"]) for r in rows)
    body = [[f"{l} ({LANG_NAMES[l]})", by[(l, 0)], by[(l, 1)], by[(l, 0)] + by[(l, 1)],
             _pct(by[(l, 0)] + by[(l, 1)], n)]
            for l in langs]
    body.append(["**all**", sum(r["label"] == 0 for r in rows), sum(r["label"] == 1 for r in rows), n, "100 %"])
    cats = Counter(c for r in rows for c in r["categories"])
    benign = [r for r in rows if r["label"] == 0]
    unsafe = [r for r in rows if r["label"] == 1]
    ib = sum(bool(identity_groups(r["text"], r["language"])) for r in benign)
    iu = sum(bool(identity_groups(r["text"], r["language"])) for r in unsafe)
    bl = {norm_exact(t) for t in sources()["guard_train"]["english"]["borderline"]}
    border = [r["id"] for r in rows if norm_exact(r["text"]) in bl]
    out = [f"{n} rows.", "", "Rows by language and label:", "",
           md_table(["language", "label 0", "label 1", "total", "share"], body), "",
           "Unsafe rows by category: " + ", ".join(f"{c} {cats[c]}" for c in USED_HAZARDS) + " (S4: 0 by design).", "",
           f"Identity-group mentions: {iu} of {len(unsafe)} unsafe rows ({_pct(iu, len(unsafe))}) but only {ib} of "
           f"{len(benign)} benign rows ({_pct(ib, len(benign))}).", "",
           f"Borderline-benign rows (trigger words in harmless requests): {len(border)} "
           f"({_pct(len(border), n)}): {', '.join(sorted(border))}.", "",
           f"Overlap with demo_prompts: no shared text (after NFKC + casefold + whitespace normalisation); the most "
           f"similar train/eval pair has word-3-shingle Jaccard {worst:.2f}."]
    return "\n".join(out)


def summary_finetune(rows, planted) -> str:
    n = len(rows)
    by = Counter((r["language"], r["split"]) for r in rows)
    langs = [l for l, _ in Counter(r["language"] for r in rows).most_common()]
    body = [[f"{l} ({LANG_NAMES[l]})", by[(l, "train")], by[(l, "test")], by[(l, "train")] + by[(l, "test")],
             _pct(by[(l, "train")] + by[(l, "test")], n)] for l in langs]
    body.append(["**all**", sum(r["split"] == "train" for r in rows), sum(r["split"] == "test" for r in rows), n,
                 "100 %"])
    return "\n".join([f"{n} rows.", "", md_table(["language", "train", "test", "total", "share"], body)])


def summary_planted(planted) -> str:
    out = ["**PII and secrets in clear** (all fictitious or published test values; each occurs exactly once):", "",
           md_table(["row id", "field", "type", "value", "note"],
                    [[e["id"], e["field"], e["type"], f"`{e['value']}`",
                      e.get("format", "") + (" Luhn-valid" if e.get("luhn_valid") else "")
                      + (" mod-97 valid" if e.get("checksum_valid") else "")] for e in planted["pii"]]),
           "", "**Decoys that must NOT be reported** (they fail their checksums):", "",
           md_table(["row id", "field", "type", "value", "why"],
                    [[e["id"], e["field"], e["type"], f"`{e['value']}`", e["why"]] for e in planted["pii_decoys"]]),
           "", "**Exact duplicates** (equal after NFKC + casefold + whitespace collapse):", "",
           md_table(["row ids", "splits", "difference", "same response"],
                    [[" / ".join(e["ids"]), " / ".join(e["splits"]), e["difference"], e["same_response"]]
                     for e in planted["exact_duplicates"]]),
           "", "**Near duplicates** (word-3-shingle Jaccard of the prompts):", "",
           md_table(["row ids", "splits", "Jaccard (prompt)", "Jaccard (prompt + response)"],
                    [[" / ".join(e["ids"]), " / ".join(e["splits"]), e["jaccard_prompt"], e["jaccard_prompt_response"]]
                     for e in planted["near_duplicates"]]),
           "", "**Train/test leakage**:", "",
           md_table(["train id", "test id", "kind", "Jaccard (prompt)"],
                    [[e["train_id"], e["test_id"], e["kind"], e["jaccard_prompt"]] for e in planted["leakage"]])]
    sk = planted["language_skew"]
    out += ["", f"**Language skew**: English share {100 * sk['english_share']:.1f} %; counts: "
            + ", ".join(f"{k} {v}" for k, v in sk["counts"].items()) + "."]
    g = planted["group_refusals"]
    s = g["summary"]
    out += ["", f"**Group over-associated with refusals**: benign prompts mentioning Muslims are refused in "
            f"{s['muslim']['refusals']} of {s['muslim']['rows']} rows; "
            f"benign prompts about other groups are refused in "
            f"{s['other_groups']['refusals']} of {s['other_groups']['rows']} rows. Refusal phrases: "
            + "; ".join(f"{lang}: " + " / ".join(f"“{p}”" for p in ps) for lang, ps in g["refusal_phrases"].items())
            + ".", "",
            md_table(["row id", "language", "group", "refusal"],
                     [[x["id"], x["language"], x["group"], "yes" if x["refusal"] else "no"] for x in g["rows"]]),
            "", "Ordinary refusals of genuinely problematic requests (no group involved): "
            + ", ".join(x["id"] for x in planted["other_refusals"]) + "."]
    return "\n".join(out)


def summary_clean(rows) -> str:
    return summary_finetune(rows, None) + "\n\nChecked by the generator: no PII-like strings, no refusals, distinct " \
        "normalised prompts, and every pair of rows has word-3-shingle Jaccard < 0.3 on the prompt, on the " \
        "response and on both together, so no near duplicates and no train/test leakage."


def summary_identity_terms() -> str:
    terms_by_lang = sources()["identity_terms"]
    groups = sorted({g for terms in terms_by_lang.values() for g in terms})
    cell = lambda pat: "`" + pat.replace("|", "\\|") + "`"  # pipes escaped for markdown tables
    body = [[g] + [cell(terms_by_lang[l][g]) if g in terms_by_lang[l] else "" for l in terms_by_lang] for g in groups]
    return ("Case-insensitive regular expressions; the English patterns are also tried on every language "
            "(loanwords such as *gay*, *transgender*, *Muslim*). Hindi and Thai patterns are substrings. "
            "In the table, `\\|` stands for the alternation bar `|`.\n\n"
            + md_table(["group"] + list(terms_by_lang), body))


# ============================================================================================
# Output
# ============================================================================================

def to_jsonl(rows) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def replace_block(text: str, name: str, content: str) -> str:
    "Replace the body between <!-- BEGIN GENERATED:name --> and <!-- END GENERATED:name -->"
    begin, end = (f"<!-- {w} GENERATED:{re.escape(name)} -->" for w in ("BEGIN", "END"))
    rx = re.compile(rf"({begin}\n)(?:.*?\n)?({end})", re.S)
    if not rx.search(text):
        raise SystemExit(f"DATASHEET.md: markers for block '{name}' not found")
    return rx.sub(lambda m: m.group(1) + content + "\n" + m.group(2), text, count=1)


def generate() -> tuple:
    "All outputs as {file name: text}, plus the markdown blocks"
    demo = build_demo_prompts()
    check_demo_prompts(demo)
    train = build_guard_train()
    worst = check_guard_train(train, demo)
    ft, planted = build_demo_finetune()
    check_finetune(ft, planted)
    clean = build_finetune_clean()
    check_clean(clean)
    blocks = {
        "demo_prompts": summary_demo_prompts(demo),
        "identity_terms": summary_identity_terms(),
        "guard_train": summary_guard_train(train, worst),
        "demo_finetune": summary_finetune(ft, planted),
        "demo_finetune_planted": summary_planted(planted),
        "demo_finetune_clean": summary_clean(clean),
    }
    files = {
        "demo_prompts.jsonl": to_jsonl(demo),
        "guard_train.jsonl": to_jsonl(train),
        "demo_finetune.jsonl": to_jsonl(ft),
        "demo_finetune_planted.json": json.dumps(planted, ensure_ascii=False, indent=2) + "\n",
        "demo_finetune_clean.jsonl": to_jsonl(clean),
    }
    for name, text in files.items():
        assert len(text.encode("utf-8")) < 1_000_000, name
    sheet = DATASETS / "DATASHEET.md"  # its hand-written prose is the template of the generated one
    if sheet.exists():
        text = sheet.read_text(encoding="utf-8")
        for name, content in blocks.items():
            text = replace_block(text, name, content)
        files["DATASHEET.md"] = text
    return files, blocks


def stale_files(files: dict, folder: Path) -> list:
    "Names in `files` whose file in `folder` is missing or differs from the generated text, byte for byte"
    return [n for n, text in files.items()
            if not (folder / n).is_file() or (folder / n).read_bytes() != text.encode("utf-8")]


def write_files(files: dict, folder: Path) -> None:
    "Write every generated file into `folder` (UTF-8, LF line ends)"
    for name, text in files.items():
        (folder / name).write_bytes(text.encode("utf-8"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=DATASETS, help="folder to write (or --check) the files in; "
                    "default: the datasets folder")
    ap.add_argument("--check", action="store_true", help="fail if a file on disk differs from a fresh generation")
    ap.add_argument("--summary", action="store_true", help="print the markdown summary and write nothing")
    args = ap.parse_args(argv)
    if not args.out.is_dir():
        print(f"error: --out {args.out}: no such folder", file=sys.stderr)
        return 2
    try:
        files, blocks = generate()
    except SourceError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.summary:
        for name, content in blocks.items():
            print(f"<!-- {name} -->\n{content}\n")
        return 0
    if args.check:
        stale = stale_files(files, args.out)
        for n in stale:
            print(f"out of date: {args.out / n}", file=sys.stderr)
        return 1 if stale else 0
    write_files(files, args.out)
    for name in files:
        print(f"wrote {args.out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
