"""citeqa's own MPNet reader (``mpnet.py``) must load a transformers
``MPNetForQuestionAnswering`` folder by its keys, without transformers, and give its logits:
padding and every kind of relative-position bucket included."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file
from transformers import MPNetConfig as HFConfig
from transformers import MPNetForQuestionAnswering

from citeqa import mpnet
from citeqa.answer.abstain import UNFITTED
from citeqa.answer.reader_model import MODEL_DIR, ReaderFolder
from citeqa.bert import span_logits

LENGTHS = (40, 150)  # past 128 apart: exact, log-spaced and capped buckets, both signs


def _tiny(folder: Path, vocab_size: int = 100) -> MPNetForQuestionAnswering:
    """A 2-layer random MPNet reader saved in ``folder``; its relative position bias is
    drawn large, so that a wrong bucket shows in the logits."""
    torch.manual_seed(0)
    config = HFConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        max_position_embeddings=514,
        relative_attention_num_buckets=32,
        initializer_range=0.2,
    )
    model = MPNetForQuestionAnswering(config)
    model.eval()  # type: ignore[no-untyped-call]  # transformers leaves eval() unannotated
    with torch.no_grad():
        model.mpnet.encoder.relative_attention_bias.weight.normal_(0.0, 1.0)
    model.save_pretrained(folder, safe_serialization=True)
    return model


def _batch(vocab: int = 100) -> dict[str, torch.Tensor]:
    """Two windows of different lengths, padded with MPNet's pad token (1) to the longest."""
    torch.manual_seed(1)
    ids = torch.ones(len(LENGTHS), max(LENGTHS), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, n in enumerate(LENGTHS):
        ids[row, :n] = torch.randint(3, vocab, (n,))
        mask[row, :n] = 1
    return {"input_ids": ids, "attention_mask": mask}


def _assert_close_on_real_tokens(
    ours: tuple[torch.Tensor, torch.Tensor], theirs: Any, mask: torch.Tensor, atol: float
) -> None:
    real = mask.bool()
    for a, b in zip(ours, (theirs.start_logits, theirs.end_logits), strict=True):
        assert a.shape == b.shape
        torch.testing.assert_close(a.float()[real], b[real], atol=atol, rtol=0)


def test_the_pass_gives_transformers_logits_on_a_padded_batch(tmp_path: Path) -> None:
    theirs = _tiny(tmp_path)
    ours = mpnet.load_qa(tmp_path)
    assert isinstance(ours, mpnet.MPNetQA)
    enc = _batch()
    with torch.inference_mode():
        want = theirs(**enc)
        _assert_close_on_real_tokens(span_logits(ours, enc), want, enc["attention_mask"], 1e-5)
        with_types = enc | {"token_type_ids": torch.ones_like(enc["input_ids"])}  # not read
        _assert_close_on_real_tokens(
            span_logits(ours, with_types), want, enc["attention_mask"], 1e-5
        )


def test_every_distance_falls_in_transformers_bucket() -> None:
    """Past 8 tokens the bucket is a truncated logarithm: a rounding apart at 16, 32 or 64
    would move a distance to its neighbour's bucket."""
    from transformers.models.mpnet.modeling_mpnet import MPNetEncoder

    tokens = 600
    table = torch.arange(32, dtype=torch.float32)[:, None]  # a bias that is its bucket
    ours = mpnet._attention_bias(table, tokens)[0, 0].long()
    position = torch.arange(tokens)
    theirs = MPNetEncoder.relative_position_bucket(  # type: ignore[no-untyped-call]  # unannotated
        position[None, :] - position[:, None]
    )
    assert torch.equal(ours, theirs)
    assert torch.unique(ours).numel() == 31  # every bucket but "0 tokens after the query"


def test_in_bf16_as_the_reader_runs_it_the_logits_stay_close(tmp_path: Path) -> None:
    """Linear weights cast to bf16 as ``ReaderFolder`` casts them, the pass under autocast."""
    theirs = _tiny(tmp_path)
    ours = mpnet.load_qa(tmp_path)
    assert ours is not None
    for layer in ours.modules():
        if isinstance(layer, torch.nn.Linear):
            layer.to(torch.bfloat16)
    enc = _batch()
    with torch.inference_mode():
        want = theirs(**enc)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            got = span_logits(ours, enc)
    assert got[0].dtype == torch.bfloat16
    _assert_close_on_real_tokens(got, want, enc["attention_mask"], 0.1)


def test_a_model_it_does_not_reproduce_is_left_to_transformers(tmp_path: Path) -> None:
    _tiny(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text(encoding="utf-8"))
    assert mpnet.MPNetConfig.from_dict(config) is not None
    for change in (
        {"hidden_act": "relu"},
        {"relative_attention_num_buckets": 64},
        {"pad_token_id": 0},
        {"model_type": "bert"},
    ):
        (tmp_path / "config.json").write_text(json.dumps(config | change), encoding="utf-8")
        assert mpnet.load_qa(tmp_path) is None
    del config["relative_attention_num_buckets"]
    assert mpnet.MPNetConfig.from_dict(config) is None
    assert mpnet.load_qa(MODEL_DIR) is None  # the packaged BERT reader


def test_weights_that_do_not_fit_the_modules_fail_to_load(tmp_path: Path) -> None:
    _tiny(tmp_path)
    config = mpnet.MPNetConfig.read(tmp_path)
    assert config is not None
    weights = load_file(tmp_path / "model.safetensors")
    assert isinstance(mpnet.from_weights(mpnet.MPNetQA(config), weights), mpnet.MPNetQA)
    missing = {k: v for k, v in weights.items() if k != "qa_outputs.bias"}
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "qa_outputs.bias"'):
        mpnet.from_weights(mpnet.MPNetQA(config), missing)
    extra = weights | {"mpnet.encoder.layer.2.attention.attn.q.bias": weights["qa_outputs.bias"]}
    with pytest.raises(RuntimeError, match=r"Unexpected key\(s\) in state_dict"):
        mpnet.from_weights(mpnet.MPNetQA(config), extra)


def test_a_reader_folder_loads_it_without_transformers(tmp_path: Path) -> None:
    """As ``SpanReader`` loads a reader: the packaged reader's tokenizer, an MPNet's weights."""
    (tmp_path / "tokenizer.json").write_bytes((MODEL_DIR / "tokenizer.json").read_bytes())
    theirs = _tiny(tmp_path, vocab_size=30522)
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from citeqa.answer.abstain import UNFITTED\n"
        "from citeqa.answer.reader_model import ReaderFolder\n"
        f"folder = ReaderFolder.load(Path({str(tmp_path)!r}), UNFITTED, bf16=True)\n"
        "print(type(folder.model).__name__, folder.token_types)\n"
        "print('transformers' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["MPNetQA False", "False"]
    folder = ReaderFolder.load(tmp_path, UNFITTED, bf16=False)
    enc = folder.tokenizer.windows(
        [("Who leads it?", "Alibaba Pictures is led by Fan Luyuan.")], max_length=64, stride=16
    ).inputs
    with torch.inference_mode():
        want = theirs(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
        _assert_close_on_real_tokens(
            span_logits(folder.model, enc), want, enc["attention_mask"], 1e-5
        )
