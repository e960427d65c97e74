"""citeqa: extractive question answering with verbatim, cited answers.

>>> from citeqa import ask
>>> ask("How much is Alibaba investing in Hong Kong?").text  # doctest: +SKIP
'$640 million (HK$5 billion)'

Importing citeqa loads no model; the first question does.
"""

from citeqa.corpus.extract import document_text
from citeqa.pipeline import QA, ask
from citeqa.types import Answer, Citation

__all__ = ["QA", "Answer", "Citation", "ask", "document_text"]
__version__ = "0.1.0"
