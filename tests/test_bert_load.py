"""The models loaded without transformers (``bert_load``, ``bert_tokens``) must give what
transformers and sentence-transformers give: the same vectors, logits and encodings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from citeqa.answer.reader_model import MODEL_DIR
from citeqa.bert_load import BertConfig, load_encoder, load_qa
from citeqa.index.embed import MiniLMEmbedder, model_path

from conftest import REPO

SEED = (REPO / "seeds" / "002_424a6c7695f088a1.txt").read_text(encoding="utf-8")
TEXTS = [
    "How much is Alibaba investing in Hong Kong?",
    "short",
    "",
    "  leading and trailing spaces  ",
    "Café naïve — 中文字符 and ＦＵＬＬＷＩＤＴＨ ½ \u200b zero width",
    "film studio " * 300,  # far past the 256 tokens the model reads
    SEED[:2000],
]
PAIRS = [
    ("How much is Alibaba investing?", SEED),  # several windows
    ("What is AMEG?", SEED[:300]),  # one short window, padded
    ("Who? " * 40, SEED[1000:2500]),
    ("Café 中文?", "A passage with ½ accents, naïve and 中文 in it."),
]


def test_a_config_it_does_not_reproduce_is_left_to_transformers(tmp_path: Path) -> None:
    config = json.loads((MODEL_DIR / "config.json").read_text(encoding="utf-8"))
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    assert BertConfig.read(tmp_path) is not None
    for change in ({"hidden_act": "relu"}, {"position_embedding_type": "relative_key"}):
        (tmp_path / "config.json").write_text(json.dumps(config | change), encoding="utf-8")
        assert BertConfig.read(tmp_path) is None
        assert load_qa(tmp_path) is None and load_encoder(tmp_path) is None
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}), encoding="utf-8")
    assert BertConfig.read(tmp_path) is None


def test_the_cli_imports_no_model_library() -> None:
    code = (
        "import sys, citeqa.cli\n"
        "heavy = ('torch', 'transformers', 'sentence_transformers', 'gradio', 'matplotlib',"
        " 'ray', 'trafilatura', 'pypdfium2', 'docx', 'faiss', 'bm25s')\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_checking_an_index_loads_no_model() -> None:
    """``index --check`` and an up-to-date ``index`` compare the weights' hash only."""
    code = (
        "import sys\n"
        "from citeqa.cli import main\n"
        f"for args in (['index', '--check'], ['index', '--quiet']):\n"
        f"    assert main(args + ['--index', {str(REPO / 'index')!r}]) == 0\n"
        "print([m for m in ('torch', 'transformers', 'faiss') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "[]"


@pytest.mark.model
def test_the_embedder_gives_sentence_transformers_vectors() -> None:
    from sentence_transformers import SentenceTransformer

    theirs = SentenceTransformer(str(model_path()), device="cpu").encode(
        TEXTS, normalize_embeddings=True, convert_to_numpy=True
    )
    ours = MiniLMEmbedder(batch_size=3)  # batches of mixed lengths: padding in play
    batched = ours.encode(TEXTS)
    one_by_one = np.vstack([ours.encode([t]) for t in TEXTS])
    np.testing.assert_allclose(batched, theirs, atol=1e-5, rtol=0)
    np.testing.assert_allclose(one_by_one, theirs, atol=1e-5, rtol=0)
    assert ours.model.max_length == 256


@pytest.mark.model
def test_the_reader_gives_transformers_logits() -> None:
    import torch
    from transformers import AutoModelForQuestionAnswering

    from citeqa.bert import span_logits
    from citeqa.bert_tokens import BertTokens

    theirs = AutoModelForQuestionAnswering.from_pretrained(str(MODEL_DIR), dtype=torch.float32)
    ours = load_qa(MODEL_DIR)
    assert ours is not None and ours.config.model_type == "bert"
    enc = BertTokens(MODEL_DIR).windows(PAIRS, max_length=256, stride=96)
    real = enc.inputs["attention_mask"].bool()
    with torch.inference_mode():
        got = span_logits(ours, enc.inputs)
        want = theirs.eval()(**enc.inputs)
    for a, b in zip(got, (want.start_logits, want.end_logits), strict=True):
        torch.testing.assert_close(a[real], b[real], atol=1e-4, rtol=0)


def _hf_windows(tokenizer: Any, pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """As the span reader called transformers' tokenizer."""
    enc = tokenizer(
        [q for q, _ in pairs],
        [t for _, t in pairs],
        truncation="only_second",
        max_length=256,
        stride=96,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=True,
        return_tensors="pt",
    )
    out = {k: enc[k].tolist() for k in ("input_ids", "token_type_ids", "attention_mask")}
    out["offsets"] = enc["offset_mapping"].tolist()
    out["owners"] = enc["overflow_to_sample_mapping"].tolist()
    out["sequence_ids"] = [enc.sequence_ids(w) for w in range(len(out["owners"]))]
    return out


@pytest.mark.model
def test_encodings_match_transformers_fast_tokenizer() -> None:
    from transformers import AutoTokenizer

    from citeqa.bert_tokens import BertTokens

    ours = BertTokens(MODEL_DIR)
    theirs = AutoTokenizer.from_pretrained(str(MODEL_DIR))
    for pairs in (PAIRS, PAIRS[1:2], PAIRS[:1]):
        want = _hf_windows(theirs, pairs)
        got = ours.windows(pairs, max_length=256, stride=96)
        assert len(got.owners) > len(pairs) or pairs == PAIRS[1:2]  # windows in play
        assert {k: v.tolist() for k, v in got.inputs.items()} == {
            k: want[k] for k in ("input_ids", "token_type_ids", "attention_mask")
        }
        assert (got.offsets, got.owners, got.sequence_ids) == (
            want["offsets"],
            want["owners"],
            want["sequence_ids"],
        )
    for text in [q for q, _ in PAIRS] + TEXTS:
        want_offsets = theirs(
            text,
            add_special_tokens=False,
            truncation=True,
            max_length=64,
            return_offsets_mapping=True,
        )["offset_mapping"]
        assert ours.offsets(text, 64) == [tuple(o) for o in want_offsets]
    minilm = AutoTokenizer.from_pretrained(str(model_path()))
    want_texts = minilm(TEXTS, truncation=True, max_length=256, padding=True, return_tensors="pt")
    got_texts = BertTokens(model_path()).texts(TEXTS, 256)
    for key in ("input_ids", "token_type_ids", "attention_mask"):
        assert got_texts[key].tolist() == want_texts[key].tolist()


@pytest.mark.model
def test_asking_imports_neither_transformers_nor_sentence_transformers(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from citeqa.pipeline import QA\n"
        f"qa = QA.load({str(REPO / 'index')!r}, reader='span')\n"
        "print(qa.ask('How much is Alibaba investing in Hong Kong?').text)\n"
        "print([m for m in ('transformers', 'sentence_transformers') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["$640 million (HK$5 billion)", "[]"]
