"""The span-reader training path, two steps on the committed SQuAD sample (CI never trains
for real)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from citeqa.errors import CiteQAError
from citeqa.evaluation.squad import HELD_OUT_V11, SquadQuestion, split_articles
from citeqa.training.config import TrainConfig
from citeqa.training.loop import train
from citeqa.training.model import base_model

from conftest import REPO

SAMPLE = REPO / "tests" / "data" / "squad_sample.json"
pytestmark = pytest.mark.model
# The tests that load or train the reader are slow; the data preparation ones are not.


def _tiny(out: Path, **settings: Any) -> TrainConfig:
    """A run over the sample file that takes seconds: one held-out article, short windows."""
    base: dict[str, Any] = {"epochs": 1, "val_articles": 1, "max_length": 128, "stride": 48}
    return TrainConfig(squad=str(SAMPLE), out=str(out), **{**base, **settings})


@pytest.mark.slow
@pytest.mark.parametrize("bf16", [True, False], ids=["bf16", "fp32"])
def test_two_steps_then_save_and_reload(tmp_path: Path, bf16: bool) -> None:
    import dataclasses

    import torch

    config = _tiny(
        tmp_path,
        batch_size=4,
        max_steps=2,
        checkpoint_every=1,
        bf16=bf16,
        cut_negatives=0.5,
        typed=0.5,
        dropout=0.1,
        attention_dropout=0.0,
    )
    metrics = train(config)
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert state["step"] == 2 and [h["step"] for h in state["history"]] == [1, 2]
    # resuming with a setting that changes the batches is refused, naming it
    with pytest.raises(CiteQAError, match=r"batch_size 4 -> 8"):
        train(dataclasses.replace(config, batch_size=8), resume=True)
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=False)["step"] == 2
    # another step count goes on from the checkpoint, its schedule ending at the new total
    train(dataclasses.replace(config, max_steps=3), resume=True)
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert state["step"] == 3 and [h["step"] for h in state["history"]] == [1, 2, 3]
    assert state["optimizer"]["param_groups"][0]["lr"] == 0.0
    # rebuilt, not carried on: the 2-step schedule had reached 0 for step 3
    lrs = [h["lr"] for h in state["history"]]
    assert lrs[0] > 0.0 and lrs[2] > 0.0
    sample = metrics[SAMPLE.stem]
    assert sample["questions"] > 0 and 0.0 <= sample["f1"] <= 100.0

    final = tmp_path / "final"
    assert (final / "model.safetensors").stat().st_size > 10_000_000
    # trained with citeqa's attention, saved for any loader: the config does not name it
    assert "citeqa" not in (final / "config.json").read_text()
    assert (final / "tokenizer.json").exists() and (final / "training.json").exists()
    recorded = json.loads((final / "training.json").read_text())["config"]
    # named, not placed: the machine that trained has its own folders
    assert recorded["squad"] == "data/squad_sample.json"
    assert recorded["out"] == "/".join(tmp_path.parts[-2:])
    from citeqa.training.validate import load_reader_model

    model, tokenizer = load_reader_model(final)
    assert model.config.model_type == "bert" and tokenizer("hello")["input_ids"]
    assert next(model.parameters()).dtype == torch.float32
    # hidden dropout on, attention dropout off, as asked (inactive once in eval mode)
    assert model.config.hidden_dropout_prob == 0.1
    assert model.config.attention_probs_dropout_prob == 0.0


@pytest.mark.slow
def test_training_attention_gives_eager_attentions_logits_on_padded_windows() -> None:
    """The bf16 row mask changes the arithmetic's precision, not what is attended to."""
    import torch
    from transformers import AutoModelForQuestionAnswering

    from citeqa.index.embed import model_path
    from citeqa.training import attention

    attention.register()
    models = {
        impl: AutoModelForQuestionAnswering.from_pretrained(
            str(model_path()), dtype=torch.float32, attn_implementation=impl
        ).eval()
        for impl in ("eager", attention.NAME)
    }
    models[attention.NAME].load_state_dict(models["eager"].state_dict())
    ids = torch.randint(1000, 20000, (4, 40), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    mask[1, 25:] = 0
    mask[3, 8:] = 0
    real = mask.bool()
    for bf16, tolerance in ((False, 1e-5), (True, 0.1)):
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            eager, ours = (
                models[impl](input_ids=ids, attention_mask=mask).start_logits.float()
                for impl in ("eager", attention.NAME)
            )
        assert float((eager - ours)[real].abs().max()) < tolerance, bf16


@pytest.mark.slow
def test_a_resumed_run_ends_with_the_weights_of_an_unbroken_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dropout's masks and the batches after a resume are the ones the stopped run would
    have drawn: a run stopped after its first step and resumed ends with the weights of
    one that ran both steps straight."""
    import dataclasses

    import torch

    from citeqa.training import loop
    from citeqa.training.dropout import Dropout

    config = _tiny(
        tmp_path / "straight",
        batch_size=4,
        max_steps=2,
        checkpoint_every=1,
        dropout=0.1,
        attention_dropout=0.0,
    )
    model, _ = base_model(config)
    layers = model.config.num_hidden_layers
    # the hidden dropout, the embeddings' and two in each layer, is the cheaper kind
    hidden = [m for m in model.modules() if isinstance(m, Dropout) and m.p == 0.1]
    assert len(hidden) == 1 + 2 * layers
    assert not any(type(m) is torch.nn.Dropout for m in model.modules())

    train(config)
    stopped = dataclasses.replace(config, out=str(tmp_path / "stopped"))
    one_step = loop._step
    taken: list[int] = []

    def stop_after_one(*args: Any) -> float:
        if taken:
            raise KeyboardInterrupt
        taken.append(1)
        return one_step(*args)

    with monkeypatch.context() as patch:
        patch.setattr(loop, "_step", stop_after_one)
        with pytest.raises(KeyboardInterrupt):
            train(stopped)
    assert torch.load(tmp_path / "stopped" / "checkpoint.pt", weights_only=False)["step"] == 1
    train(stopped, resume=True)

    def weights(run: str) -> dict[str, Any]:
        state = torch.load(tmp_path / run / "checkpoint.pt", weights_only=False)
        assert state["step"] == 2
        model: dict[str, Any] = state["model"]
        return model

    straight, resumed = weights("straight"), weights("stopped")
    for name, tensor in straight.items():
        assert torch.equal(tensor, resumed[name]), name
    # and the masks matter: the same run without dropout ends elsewhere
    train(dataclasses.replace(config, out=str(tmp_path / "plain"), dropout=0.0))
    plain = weights("plain")
    assert not all(torch.equal(tensor, plain[name]) for name, tensor in straight.items())


def test_a_checkpoint_that_did_not_record_a_setting_resumes_at_its_default(
    tmp_path: Path,
) -> None:
    import dataclasses

    from citeqa.training.checkpoint import check_recipe, recipe

    config = TrainConfig(squad=str(SAMPLE), out=str(tmp_path))
    older = {k: v for k, v in recipe(config).items() if k != "stride"}
    check_recipe(tmp_path / "checkpoint.pt", {"recipe": older}, config)
    # a checkpoint that recorded a setting that may change now resumes with it changed
    check_recipe(tmp_path / "checkpoint.pt", {"recipe": {**older, "max_steps": 2400}}, config)
    with pytest.raises(CiteQAError, match=r"stride 128 -> 64"):
        check_recipe(
            tmp_path / "checkpoint.pt", {"recipe": older}, dataclasses.replace(config, stride=64)
        )


def test_training_refuses_held_out_articles(tmp_path: Path) -> None:
    import json

    data = {"version": "1.1", "data": [{"title": sorted(HELD_OUT_V11)[0], "paragraphs": []}]}
    path = tmp_path / "leak.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="contains test articles"):
        split_articles(path, 0, 13)


def test_training_refuses_articles_of_a_dev_file_beside_it(tmp_path: Path) -> None:
    import json

    def squad(titles: list[str]) -> dict[str, object]:
        return {"version": "1.1", "data": [{"title": t, "paragraphs": []} for t in titles]}

    (tmp_path / "dev-v2.0.json").write_text(json.dumps(squad(["Oxygen", "Warsaw"])))
    train_file = tmp_path / "train.json"
    train_file.write_text(json.dumps(squad(["Normans", "Warsaw", "Zebra"])))
    with pytest.raises(ValueError, match="Warsaw"):
        split_articles(train_file, 1, 13)
    train_file.write_text(json.dumps(squad(["Normans", "Zebra", "Apple"])))
    kept, held = split_articles(train_file, 1, 13)
    assert len(held) == 1 and sorted(kept + held) == ["Apple", "Normans", "Zebra"]
    assert split_articles(train_file, 1, 13) == (kept, held)  # seeded


def test_the_validation_split_ignores_the_seed_and_holds_out_across_files(
    tmp_path: Path,
) -> None:
    import json

    from citeqa.training.loop import _questions

    # another file with the same articles, in another order (QED has pages SQuAD has)
    data = json.loads(SAMPLE.read_text(encoding="utf-8"))
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({**data, "data": data["data"][1:] + data["data"][:1]}))
    runs = [_questions(_tiny(tmp_path, seed=s, extra=(str(extra),))) for s in (13, 1, 2, 3)]
    train_a, val_a, _ = runs[0]
    for _, val, _ in runs[1:]:
        assert {k: [q.id for q in v] for k, v in val.items()} == {
            k: [q.id for q in v] for k, v in val_a.items()
        }
    held_out = {q.title for qs in val_a.values() for q in qs}
    assert len(held_out) == 2  # one article of each file, not the same one
    assert held_out and not held_out & {q.title for q in train_a}
    assert {q.title for q in train_a} | held_out == {
        a["title"] for a in json.loads(SAMPLE.read_text())["data"]
    }


def _tokenizer() -> object:
    from transformers import AutoTokenizer

    from citeqa.index.embed import model_path

    return AutoTokenizer.from_pretrained(str(model_path()))


def test_every_distinct_gold_span_is_a_target() -> None:
    from citeqa.evaluation.squad import load_squad
    from citeqa.training.data import featurize

    _, questions = load_squad(SAMPLE)
    q = next(q for q in questions if q.id == "56ddde6b9a695914005b9629")
    assert set(q.answers) == {"10th and 11th centuries", "in the 10th and 11th centuries"}
    tok = _tokenizer()
    (every,) = featurize(tok, [q], 384, 128)
    assert len(every["start_positions"]) == 2 and len(every["end_positions"]) == 1
    ids = every["input_ids"]
    decoded = {
        tok.decode(ids[s : every["end_positions"][0] + 1])  # type: ignore[attr-defined]
        for s in every["start_positions"]
    }
    assert decoded == {"10th and 11th centuries", "in the 10th and 11th centuries"}


def test_unanswerable_and_missed_windows_point_at_cls() -> None:
    from citeqa.evaluation.squad import load_squad
    from citeqa.training.data import featurize

    _, questions = load_squad(SAMPLE)
    unanswerable = next(q for q in questions if not q.answerable)
    (feature,) = featurize(_tokenizer(), [unanswerable], 384, 128)
    assert feature["start_positions"] == feature["end_positions"] == [0]
    answerable = next(q for q in questions if q.answerable)
    windows = featurize(_tokenizer(), [answerable], 40, 16)
    assert len(windows) > 1
    assert any(w["start_positions"] == [0] for w in windows)
    assert any(w["start_positions"] != [0] for w in windows)


def test_span_loss_is_cross_entropy_for_one_gold_and_lower_with_more() -> None:
    import torch

    from citeqa.training.loop import span_loss

    torch.manual_seed(0)
    start, end = torch.randn(3, 7), torch.randn(3, 7)
    gold_s, gold_e = torch.tensor([1, 0, 4]), torch.tensor([2, 0, 6])
    one_s = torch.nn.functional.one_hot(gold_s, 7).bool()
    one_e = torch.nn.functional.one_hot(gold_e, 7).bool()
    expected = (
        torch.nn.functional.cross_entropy(start, gold_s)
        + torch.nn.functional.cross_entropy(end, gold_e)
    ) / 2
    assert torch.allclose(span_loss(start, end, one_s, one_e), expected)
    more_s = one_s.clone()
    more_s[0, 3] = True  # a second acceptable start can only add probability
    assert span_loss(start, end, more_s, one_e) < expected


def _question(qid: str, paragraph: int, context: str, question: str, answer: str) -> SquadQuestion:
    return SquadQuestion(
        id=qid,
        title="Rivers",
        paragraph=paragraph,
        context=context,
        question=question,
        answers=(answer,),
        answer_starts=(context.index(answer),),
    )


def test_no_answer_pairs_skip_every_paragraph_that_holds_the_answer() -> None:
    from citeqa.training.data import holds_answer, no_answer_pairs

    contexts = [
        "The Danube flows through Vienna and is 2,850 km long.",
        # BM25's closest to the question after its own paragraph, but it holds the answer
        # (in other case): pairing the question with it would teach a wrong "no answer".
        "How long is the Danube? Guides say 2,850 KM, longer than the Rhine.",
        "The Danube delta is a wetland on the Black Sea coast.",
        "The Rhine rises in the Alps.",
    ]
    q = _question("q1", 0, contexts[0], "How long is the Danube river?", "2,850 km")
    others = [
        _question(f"o{i}", i, c, "What is this?", c.split()[1]) for i, c in enumerate(contexts)
    ]
    pair = no_answer_pairs([q, *others[1:]], 1.0, 13)[0]
    assert pair.context == contexts[2] and pair.answers == () and pair.question == q.question
    assert pair.id == "q1-none" and pair.paragraph == 2
    for pair in no_answer_pairs([q, *others[1:]], 1.0, 13):
        source = next(x for x in [q, *others] if x.id == pair.id.removesuffix("-none"))
        assert pair.paragraph != source.paragraph
        assert not holds_answer(pair.context, source.answers)


def test_no_answer_pairs_on_real_squad_are_seeded_and_never_hold_an_answer() -> None:
    from citeqa.evaluation.squad import load_squad
    from citeqa.training.data import holds_answer, no_answer_pairs

    _, questions = load_squad(SAMPLE)
    answerable = [q for q in questions if q.answerable]
    pairs = no_answer_pairs(questions, 1.0, 13)
    assert pairs and len(pairs) <= len(answerable)
    by_id = {q.id: q for q in questions}
    for pair in pairs:
        source = by_id[pair.id.removesuffix("-none")]
        assert pair.title == source.title and pair.paragraph != source.paragraph
        assert not holds_answer(pair.context, source.answers) and not pair.answerable
    assert no_answer_pairs(questions, 0.0, 13) == []
    half = no_answer_pairs(questions, 0.5, 13)
    assert half == no_answer_pairs(questions, 0.5, 13) and 0 < len(half) < len(pairs)
    with pytest.raises(ValueError, match="negatives share"):
        no_answer_pairs(questions, 1.5, 13)


def test_answer_cut_pairs_keep_the_rest_of_the_paragraph_and_no_answer() -> None:
    from citeqa.corpus.chunk import split_sentences
    from citeqa.evaluation.squad import load_squad
    from citeqa.training.data import answer_cut_pairs, holds_answer

    _, questions = load_squad(SAMPLE)
    pairs = answer_cut_pairs(questions, 1.0, 13)
    assert pairs and len(pairs) <= sum(q.answerable for q in questions)
    by_id = {q.id: q for q in questions}
    for pair in pairs:
        source = by_id[pair.id.removesuffix("-cut")]
        assert not pair.answerable and not holds_answer(pair.context, source.answers)
        assert (pair.title, pair.paragraph, pair.question) == (
            source.title,
            source.paragraph,
            source.question,
        )
        # what is left is the paragraph's other sentences, in order: none was cut that
        # holds no gold answer, and at least one was
        spans = split_sentences(source.context, 0, len(source.context))
        golds = [(a, a + len(t)) for a, t in zip(source.answer_starts, source.answers, strict=True)]
        kept = [(a, b) for a, b in spans if not any(a < e and s < b for s, e in golds)]
        assert 0 < len(kept) < len(spans)
        assert pair.context == " ".join(source.context[a:b] for a, b in kept)
    assert answer_cut_pairs(questions, 0.0, 13) == []
    half = answer_cut_pairs(questions, 0.5, 13)
    assert half == answer_cut_pairs(questions, 0.5, 13) and 0 < len(half) < len(pairs)
    with pytest.raises(ValueError, match="cut negatives share"):
        answer_cut_pairs(questions, -0.1, 13)


def test_swapped_name_pairs_ask_about_a_name_the_paragraph_never_mentions() -> None:
    from citeqa.training.data import swapped_name_pairs

    beyonce = "Beyoncé rose to fame in the late 1990s as the lead singer of Destiny's Child."
    chopin = "Frédéric Chopin was a Polish composer. He left Warsaw in 1830."
    questions = [
        _question("b1", 0, beyonce, "When did Beyoncé rise to fame?", "the late 1990s"),
        _question("b2", 0, beyonce, "Which group was Beyoncé the lead singer of?", "Destiny"),
        _question("c1", 1, chopin, "When did Chopin leave Warsaw?", "1830"),
        _question("c2", 1, chopin, "What was Chopin's nationality?", "Polish"),
        _question("x1", 1, chopin, "What was his nationality?", "Polish"),  # names nothing
    ]
    pairs = swapped_name_pairs(questions, 1.0, 13)
    by_id = {q.id: q for q in questions}
    assert sorted(p.id for p in pairs) == ["b1-swap", "b2-swap", "c1-swap", "c2-swap"]
    for pair in pairs:
        source = by_id[pair.id.removesuffix("-swap")]
        assert not pair.answerable and pair.context == source.context
        gone = [w for w in source.question.split() if w not in pair.question.split()]
        new = [w for w in pair.question.split() if w not in source.question.split()]
        # one name the paragraph mentions became one it never does, the rest kept
        assert gone and new and all(w.casefold() not in pair.context.casefold() for w in new)
    # a name swapped within one article's world when it has one: a one-word name from the
    # other paragraph's questions for "Beyoncé"
    swapped = {p.id: p.question for p in pairs}
    assert swapped["b1-swap"] in {"When did Chopin rise to fame?", "When did Warsaw rise to fame?"}
    assert swapped["c1-swap"] in {
        "When did Beyoncé leave Warsaw?",
        "When did Chopin leave Beyoncé?",
    }
    assert swapped_name_pairs(questions, 0.0, 13) == []
    with pytest.raises(ValueError, match="swap negatives share"):
        swapped_name_pairs(questions, 2.0, 13)


def test_swapped_name_pairs_on_real_squad_are_seeded_and_never_name_the_paragraph() -> None:
    from citeqa.evaluation.squad import load_squad
    from citeqa.training.data import swapped_name_pairs

    _, questions = load_squad(SAMPLE)
    pairs = swapped_name_pairs(questions, 1.0, 13)
    assert pairs and pairs == swapped_name_pairs(questions, 1.0, 13)
    by_id = {q.id: q for q in questions}
    for pair in pairs:
        source = by_id[pair.id.removesuffix("-swap")]
        assert pair.question != source.question and not pair.answers
        assert (pair.title, pair.paragraph, pair.context) == (
            source.title,
            source.paragraph,
            source.context,
        )


def test_carelessly_typed_questions_keep_their_answers_and_most_letters() -> None:
    import random

    from citeqa.evaluation.squad import load_squad
    from citeqa.training.data import carelessly, carelessly_typed

    rng = random.Random(3)
    # the question mark goes where there was one, and comes where there was none
    assert carelessly("What is AMEG?", rng, typo_rate=0.0) == "What is AMEG"
    assert carelessly("who owns youku", rng, typo_rate=0.0) == "who owns youku?"
    question = "Which studios will Youku collaborate with?"
    for _ in range(200):
        typed = carelessly(question, rng, typo_rate=1.0)
        words, original = typed.split(), question.rstrip("?").split()
        assert len(words) == len(original)
        for new, old in zip(words, original, strict=True):
            if len(old) < 4:  # short words are left alone
                assert new == old
            else:  # one typo: the same first and last letters, the length off by one at most
                assert new != old or sorted(new) == sorted(old)
                assert (new[0], new[-1]) == (old[0], old[-1]) and abs(len(new) - len(old)) <= 1

    _, questions = load_squad(SAMPLE)
    copies = carelessly_typed(questions, 1.0, 13)
    assert copies and copies == carelessly_typed(questions, 1.0, 13)
    by_id = {q.id: q for q in questions}
    for copy in copies:
        source = by_id[copy.id.removesuffix("-typed")]
        assert source.answerable and copy.question != source.question
        assert (copy.context, copy.answers, copy.answer_starts) == (
            source.context,
            source.answers,
            source.answer_starts,
        )
    assert len(carelessly_typed(questions, 0.3, 13)) < len(copies)
    with pytest.raises(ValueError, match="typed share"):
        carelessly_typed(questions, 1.5, 13)


def test_margin_auc_ranks_answerable_text_above_the_rest() -> None:
    import math

    from citeqa.training.validate import margin_auc

    assert margin_auc([3.0, 2.0], [1.0, -1.0]) == 1.0
    assert margin_auc([1.0, -1.0], [3.0, 2.0]) == 0.0
    assert margin_auc([1.0, 3.0], [2.0, 0.0]) == 0.75
    # a reader that found no span at all ranks below everything else
    assert margin_auc([-5.0], [-math.inf]) == 1.0


def test_length_batches_cover_every_window_once_and_pad_little() -> None:
    import random

    from citeqa.training.data import length_batches

    lengths = [random.Random(i).randint(20, 256) for i in range(5000)]
    batches = length_batches(lengths, 32, 7)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(5000))
    assert all(len(b) <= 32 for b in batches)
    assert length_batches(lengths, 32, 7) == batches and length_batches(lengths, 32, 8) != batches
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    assert padded < 1.05 * sum(lengths)  # random batches would pad to about 1.7x


@pytest.mark.slow
def test_each_epoch_is_exported_with_its_validation_figures(tmp_path: Path) -> None:
    """One step an epoch (every window in one batch), two epochs: the first epoch's reader
    is saved with what it scores on the held-out article, the evidence for stopping early."""
    import json

    config = _tiny(tmp_path, epochs=2, batch_size=512, negatives=0.0)
    train(config)
    record = json.loads((tmp_path / "epoch1" / "training.json").read_text())
    figures = record["validation"][SAMPLE.stem]
    assert figures["questions"] > 0 and 0.0 <= figures["f1"] <= 100.0
    # and how well the null score tells the question's paragraph from text that does not
    # answer it, for every kind of "no answer here" pair, whatever the run trained on
    for kind in ("other paragraph", "answer cut out", "name swapped"):
        null = figures["null_auc"][kind]
        assert null["pairs"] > 0 and 0.0 <= null["auc"] <= 1.0
    # and the same questions typed in a hurry
    typed = figures["typed carelessly"]
    assert set(typed) == {"em", "f1"} and 0.0 <= typed["f1"] <= 100.0
    assert (tmp_path / "epoch1" / "model.safetensors").exists()
    assert not (tmp_path / "epoch2").exists()  # the last epoch is the final reader


@pytest.mark.parametrize("bf16", [True, False], ids=["bf16", "fp32"])
def test_validation_reads_in_the_runs_precision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bf16: bool
) -> None:
    """An MPNet-base validation in fp32 took 26 minutes on 2 cores; a bf16 run validates
    under bf16 autocast, as citeqa reads."""
    import torch

    from citeqa.evaluation.squad import load_squad
    from citeqa.training import loop

    autocast: list[bool] = []

    def spy(*args: Any, **kwargs: Any) -> dict[str, Any]:
        autocast.append(torch.is_autocast_enabled("cpu"))
        return {"em": 0.0, "f1": 0.0}

    monkeypatch.setattr(loop, "evaluate_gold", spy)
    questions = load_squad(SAMPLE)[1][:4]
    plan = loop._Plan([], [], 1, 1, {"sample": questions})
    loop._validate(_tiny(tmp_path, bf16=bf16), plan, torch.nn.Linear(1, 1), None)
    assert autocast == [bf16, bf16]  # the questions, then the same typed carelessly
    assert not torch.is_autocast_enabled("cpu")


@pytest.mark.parametrize(
    "flag",
    ["--negatives", "--cut-negatives", "--swap-negatives", "--typed", "--attention-dropout"],
)
@pytest.mark.parametrize("share", ["1.5", "-0.1", "half", "nan"])
def test_train_reader_rejects_a_bad_share_before_loading(
    flag: str, share: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from citeqa import cli

    args = ["train-reader", "--squad", str(SAMPLE), "--out", "unused", flag, share]
    with pytest.raises(SystemExit) as exc:
        cli.main(args)
    assert exc.value.code == 2
    assert "must be a number from 0 to 1" in capsys.readouterr().err


@pytest.mark.slow
def test_lora_trains_adapters_and_head_of_another_architecture(tmp_path: Path) -> None:
    """A rank-4 LoRA run from a tiny RoBERTa: the encoder stays frozen, the adapters and
    span head train, and the reader is saved whole (merged) and as its adapters alone,
    which a later run goes on training."""
    import dataclasses

    import torch
    from safetensors.torch import load_file

    from tiny_models import tiny_roberta

    base = tiny_roberta(tmp_path / "base")
    config = _tiny(tmp_path / "run", init=str(base), lora_rank=4, batch_size=4, max_steps=2)
    train(config)
    before, final = load_file(base / "model.safetensors"), tmp_path / "run" / "final"
    after = load_file(final / "model.safetensors")
    assert set(after) == set(before)  # merged: a plain RoBERTa, loadable without peft
    name = "roberta.embeddings.word_embeddings.weight"
    assert (after[name].float() == before[name].half().float()).all()  # frozen
    assert not (
        after["qa_outputs.weight"].float() == before["qa_outputs.weight"].half().float()
    ).all()
    query = "roberta.encoder.layer.0.attention.self.query.weight"
    assert not (after[query].float() == before[query].half().float()).all()  # the adapter merged in
    adapter = load_file(final / "adapter" / "adapter_model.safetensors")
    assert any("lora_A" in k for k in adapter) and any("qa_outputs" in k for k in adapter)
    assert not any(k.endswith("word_embeddings.weight") for k in adapter)
    assert {v.dtype for v in adapter.values()} == {torch.float16}
    # the adapters alone make, over their base and without peft, the reader saved merged
    from citeqa.answer.abstain import UNFITTED
    from citeqa.answer.reader_model import ReaderFolder

    shipped = ReaderFolder.load(final / "adapter", UNFITTED, bf16=False)
    whole = ReaderFolder.load(final, UNFITTED, bf16=False)
    enc = whole.tokenizer.windows([("Who?", "Alibaba invested.")], max_length=64, stride=16)
    inputs = {k: v for k, v in enc.inputs.items() if k != "token_type_ids"}
    with torch.inference_mode():
        got, want = shipped.model(**inputs), whole.model(**inputs)
    assert torch.allclose(got.start_logits, want.start_logits, atol=1e-2)
    assert torch.allclose(got.end_logits, want.end_logits, atol=1e-2)
    with pytest.raises(CiteQAError, match=r"lora_rank 4 -> 8"):
        train(dataclasses.replace(config, lora_rank=8), resume=True)

    # the adapters alone are a reader to go on training: its weights are where it starts
    more = _tiny(tmp_path / "more", init=str(final / "adapter"), lora_rank=4, batch_size=4)
    with pytest.raises(
        CiteQAError, match=r"rank-4 LoRA adapters; continue them with --lora-rank 4"
    ):
        base_model(dataclasses.replace(more, lora_rank=8))
    model, _ = base_model(more)
    assert 0 < sum(p.numel() for p in model.parameters() if p.requires_grad) < 100_000
    model.eval()
    with torch.inference_mode():
        resumed = model(**inputs)
    assert torch.allclose(resumed.start_logits, got.start_logits, atol=1e-4)
    train(dataclasses.replace(more, max_steps=1))
    continued, head = tmp_path / "more" / "final" / "adapter", "base_model.model.qa_outputs.weight"
    assert json.loads((continued / "adapter_config.json").read_text())[
        "base_model_name_or_path"
    ] == str(base)
    assert not torch.equal(
        load_file(continued / "adapter_model.safetensors")[head],
        adapter[head],
    )
