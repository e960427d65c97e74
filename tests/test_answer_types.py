from __future__ import annotations

import pytest

from citeqa.answer import answer_types as at
from citeqa.answer import question_types as qt


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How much is Alibaba investing in Hong Kong?", qt.MONEY),
        ("What was the total value of awards distributed at FILMART?", qt.MONEY),
        ("How many projects were highlighted?", qt.NUMBER),
        ("What share of revenue does the unit contribute?", qt.PERCENT),
        ("By how much did revenue grow?", qt.PERCENT),
        ("When did the deal close?", qt.DATE),
        ("On what day of the week were the deals signed?", qt.DATE),
        ("Over what period will the money be spent?", qt.DURATION),
        ("Where is Alibaba Pictures headquartered?", qt.PLACE),
        ("In which city is the second headquarters?", qt.PLACE),
        ("Which company is Damai a subsidiary of?", qt.NAME),
        ("Who reported the initiative?", qt.NAME),
        ("Which Hong Kong studios will Youku work with?", qt.LIST),
        ("Through which two entities will funding flow?", qt.LIST),
        ("What is AMEG?", qt.DEFINITION),
        ("What does FILMART stand for?", qt.DEFINITION),
        ("Why does this matter?", qt.OTHER),
    ],
)
def test_question_type(question: str, kind: str) -> None:
    assert qt.question_type(question) == kind


def spans(sentence: str, kind: str) -> list[str]:
    return [sentence[c.start : c.end] for c in at.typed_spans(sentence, kind)]


def test_money_keeps_currency_scale_and_conversion() -> None:
    s = "Injecting $640 million (HK$5 billion) and US$223,000 and 5 billion Hong Kong dollars."
    assert spans(s, qt.MONEY) == [
        "$640 million (HK$5 billion)",
        "US$223,000",
        "5 billion Hong Kong dollars",
    ]
    assert spans(s, qt.NUMBER) == []  # amounts are not also bare numbers


def test_percent_number_date_duration() -> None:
    s = "Revenue rose 18% to 2.3% in the third quarter of 2023 on Monday, 47 films, in five years."
    assert spans(s, qt.PERCENT) == ["18%", "2.3%"]
    assert spans(s, qt.DATE) == ["the third quarter of 2023", "Monday"]
    assert spans(s, qt.NUMBER) == ["47"]
    assert spans(s, qt.DURATION) == ["five years"]
    assert spans("during the October-December quarter.", qt.DATE) == [
        "the October-December quarter"
    ]


def test_name_list_and_place() -> None:
    s = "Youku will work with TVB, Shaw Brothers Pictures, and Media Asia Group in Hong Kong."
    assert "TVB, Shaw Brothers Pictures, and Media Asia Group" in spans(s, qt.LIST)
    assert spans(s, qt.PLACE) == ["Hong Kong"]
    assert spans("Its proximity to mainland China helps.", qt.PLACE) == ["mainland China"]


def test_definition_spans() -> None:
    s = "Its arm, Alibaba Digital Media and Entertainment Group (AMEG), is pouring money."
    (c,) = at.definition_spans(s, "AMEG")
    assert (c.kind, s[c.start : c.end]) == (
        at.EXPANSION,
        "Alibaba Digital Media and Entertainment Group",
    )
    s = "Damai, a subsidiary of Alibaba Pictures and a ticketing firm, grew."
    assert [s[c.start : c.end] for c in at.definition_spans(s, "Damai")] == [
        "a subsidiary of Alibaba Pictures"
    ]
    s = "Alibaba’s video streaming platform, Youku, will collaborate."
    assert [s[c.start : c.end] for c in at.definition_spans(s, "Youku")] == [
        "Alibaba’s video streaming platform"
    ]
    assert at.definition_spans("TVB, Shaw Brothers and others.", "TVB", expansion_only=True) == []


def test_a_span_overlapping_an_acronyms_name_becomes_the_name() -> None:
    """The span reader's whole-name rule: a span that starts a phrase before an acronym's
    written-out name, or stops inside it, becomes the name; offsets stay the passage's."""
    from citeqa.answer.span_edit import acronym_names, whole_name
    from citeqa.types import Passage, Sentence

    lead = "It was signed. "
    said = "Its arm, Alibaba Digital Media and Entertainment Group (AMEG), is pouring money."
    text = lead + said
    offset = 100  # the passage starts 100 characters into its document
    first = Sentence("a.txt", offset, offset + len(lead) - 1, lead[:-1])
    second = Sentence("a.txt", offset + len(lead), offset + len(text), said)
    passage = Passage("p", "d", "a.txt", "t", offset, offset + len(text), text, (first, second))

    question = "What is AMEG?"
    names = acronym_names(question, qt.question_type(question), said)
    for start, end in (
        (text.index("arm"), text.index(" (AMEG)")),
        (text.index("Digital"), text.index(" Group")),
    ):
        lo, hi = whole_name(passage, second, start, end, names)
        assert text[lo:hi] == "Alibaba Digital Media and Entertainment Group"
    assert whole_name(passage, second, 0, 5, names) == (0, 5)  # overlaps no name
    # only acronyms, and only "what is" questions
    assert acronym_names("What is Damai?", qt.DEFINITION, said) == []
    assert acronym_names("How much is AMEG pouring?", qt.MONEY, said) == []


@pytest.mark.parametrize(
    ("text", "holds"),
    [
        ("US$640 million", True),
        ("HK$5 billion", True),
        ("twenty films", True),
        ("2.3%", True),
        ("colossal", False),
        ("multi-million dollar", False),
        ("someone", False),  # "one" only as a whole word
    ],
)
def test_has_number(text: str, holds: bool) -> None:
    assert at.has_number(text) is holds
