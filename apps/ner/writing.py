"""Writing tagged sentences: ``token<TAB>tag`` files, and conlleval's ``token gold predicted``.

Whatever is written must read back as it was (:func:`apps.ner.formats.read_conll`), so
tokens that a line cannot hold and tags conlleval cannot read are refused, not mangled.
"""

from apps.ner.schemes import split_tag
from shared.atomic import write_text


def _check_token(token):
    if not token or token != token.strip() or any(c in token for c in "\t\r\n"):
        raise ValueError(f"token {token!r} cannot be written to a CoNLL file: it must be "
                         "non-empty, without tabs, line breaks or surrounding whitespace")
    return token


def _check_written_tags(tags):
    for tag in tags:
        parsed = split_tag(tag)
        if parsed is None or parsed[0] == "":
            raise ValueError(f"tag {tag!r} cannot be written to a CoNLL file: expected 'O' or PREFIX-TYPE")
    return tags


def _sentence_block(sentence, predicted):
    tokens = [_check_token(token) for token in sentence.tokens]
    gold = _check_written_tags(sentence.tags)
    if predicted is None:
        rows = (f"{token}\t{tag}" for token, tag in zip(tokens, gold))
    else:
        predicted = _check_written_tags(tuple(predicted))
        if len(predicted) != len(tokens):
            raise ValueError(f"{len(predicted)} predicted tag(s) for a sentence of "
                             f"{len(tokens)} token(s)")
        # conlleval splits on whitespace, so spaces inside a token would shift the columns.
        rows = (f"{'_'.join(token.split())} {tag} {guess}"
                for token, tag, guess in zip(tokens, gold, predicted))
    return "".join(f"{row}\n" for row in rows) + "\n"


def write_conll(path, sentences, *, predicted=None):
    """Write ``token<TAB>tag`` lines with a blank line after each sentence (atomically).

    With ``predicted`` (one tag sequence per sentence) the lines read ``token gold
    predicted``, separated by single spaces: the layout conlleval scores. Spaces inside a
    token become ``_`` in that form only. Empty sentences are refused: they would vanish
    on reading, and so are bare tags, which conlleval does not read.
    """
    sentences = list(sentences)
    if predicted is not None:
        predicted = list(predicted)
        if len(predicted) != len(sentences):
            raise ValueError(f"{len(predicted)} predicted sequence(s) for "
                             f"{len(sentences)} sentence(s)")
    blocks = []
    for index, sentence in enumerate(sentences):
        if not sentence.tokens:
            raise ValueError(f"sentence {index} is empty; a CoNLL file cannot hold it")
        blocks.append(_sentence_block(sentence, None if predicted is None else predicted[index]))
    return write_text(path, "".join(blocks))

