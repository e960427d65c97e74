"""``citeqa ask``'s terminal rendering of an answer."""

from __future__ import annotations

from citeqa.cli.render import answer_text
from citeqa.types import Answer, Citation


def test_control_characters_from_a_document_never_reach_the_terminal() -> None:
    # An OSC sequence retitles the window; CSI 8m hides the text after it.
    text = "It holds \x1b]0;owned\x07HK$5 billion\x1b[8m, they said.\r"
    start = text.index("HK$5")
    sentence = Citation("a\x1b[2J.txt", "Title\x1b[31m", "p1", 0, len(text), text, 0.9)
    answer = Answer(
        "How much?",
        "HK$5 billion",
        False,
        0.9,
        sentence.source,
        start,
        start + len("HK$5 billion"),
        sentence,
        citations=[sentence],
    )
    for color in (False, True):
        out = answer_text(answer, color=color)
        own = out.replace("\x1b[1;4m", "").replace("\x1b[0m", "")  # citeqa's own marking
        assert not any(ch in own for ch in "\x1b\x07\r")
        assert "HK$5 billion" in out and "\ufffd]0;owned\ufffd" in out
    abstained = Answer("?", "", True, 0.1, "", 0, 0, sentence, related=[sentence])
    assert "\x1b" not in answer_text(abstained)


def test_a_hard_wrapped_answer_prints_on_one_line() -> None:
    text = "Alibaba is injecting US$640\nmillion into the city's film\nindustry."
    a, b = text.index("US$"), text.index(" into")
    sentence = Citation("a.txt", "Title", "p1", 0, len(text), text, 0.7)
    answer = Answer("How much?", text[a:b], False, 0.7, "a.txt", a, b, sentence, [sentence])
    lines = answer_text(answer).splitlines()
    assert lines[0] == "Answer: US$640 million   (confidence 0.70)"
    assert lines[2] == "  “Alibaba is injecting **US$640 million** into the city's film industry.”"
