"""Standard NER corpora read as distributed, through ``load_splits`` (what ``--data`` calls).

Every fixture is written here after its format's documentation: the lines, columns,
separators, ``-DOCSTART-`` and comment lines, encodings and file names of the release, with
sentences of our own. Each format also gets a malformed line whose error names file:line.
"""

import gzip

import pytest

from apps.ner.data import load_splits
from apps.ner.formats import Sentence
from apps.ner.formats import FORMATS, choose_encoding, read_tagged
from apps.ner.train import build_parser
from shared.errors import SeqappsError
from shared.paths import REPO_ROOT
from tests.datafiles import raises_at

SPANISH = """El DA O
Ayuntamiento NC B-ORG
de SP I-ORG
Sevilla NC I-ORG
aprobó VMI O
ayer RG O
el DA O
plan NC O
. Fp O

Lo PP O
anunció VMI O
María NP B-PER
Núñez NP I-PER
en SP O
Córdoba NC B-LOC
. Fp O

EFE NC B-ORG
"""

# Dutch: a -DOCSTART- line opens each document, right before its first token line.
DUTCH = """-DOCSTART- -DOCSTART- O
De Art O
Belgische Adj B-MISC
premier N O
Dehaene N B-PER
bezocht V O
Brussel N B-LOC
. Punc O

Het Pron O
café N O
was V O
dicht Adj O
. Punc O
-DOCSTART- -DOCSTART- O
Gent N B-LOC
won V O
"""

# The original eng.* release is IOB1: I- starts an entity, B- only separates two of a type.
CONLL2003 = """-DOCSTART- -X- O O

Lazio NNP I-NP I-ORG
Juventus NNP B-NP B-ORG
draw VBP I-VP O
1-1 CD I-NP O

-DOCSTART- -X- O O

ROME NNP I-NP I-LOC
1996-08-30 CD I-NP O
"""

# WNUT: token<TAB>tag, lowercase types with hyphens; a tweet may start with a hashtag.
WNUT = """#tbt\tO
Harry\tB-creative-work
Potter\tI-creative-work
premiere\tO
with\tO
@anna_k\tO
in\tO
London\tB-location
!\tO

Taylor\tB-person
Swift\tI-person
tonight\tO
http://t.co/x1\tO
"""

# GermEval-2014: a '#' source line, then index, token, outer tag, nested tag.
GERMEVAL = """#\thttp://de.wikipedia.org/wiki/Beispiel [2010-01-01]
1\tDie\tO\tO
2\tUniversität\tB-ORG\tO
3\tStuttgart\tI-ORG\tB-LOC
4\tliegt\tO\tO
5\tin\tO\tO
6\tBaden-Württemberg\tB-LOC\tO
7\t.\tO\tO

#\thttp://www.example.de/nachrichten [2009-11-03]
1\tDer\tO\tO
2\tschwäbische\tB-LOCderiv\tO
3\t#\tO\tO
4\tMerkel-Fan\tB-PERpart\tO
"""


def sentence(text):
    """A sentence from ``token/TAG`` words."""
    tokens, tags = zip(*(word.rsplit("/", 1) for word in text.split()))
    return Sentence(tokens, tags)


SPANISH_SENTENCES = [
    sentence("El/O Ayuntamiento/B-ORG de/I-ORG Sevilla/I-ORG aprobó/O ayer/O el/O plan/O ./O"),
    sentence("Lo/O anunció/O María/B-PER Núñez/I-PER en/O Córdoba/B-LOC ./O"),
    sentence("EFE/B-ORG"),
]
CORPORA = {
    # name: (train, validation, test file names; text; encoding; sentences in IOB2)
    "CoNLL-2002 Spanish": (("esp.train", "esp.testa", "esp.testb"), SPANISH, "utf-8", SPANISH_SENTENCES),
    "CoNLL-2002 Spanish in latin-1": (("esp.train", "esp.testa", "esp.testb"), SPANISH, "latin-1", SPANISH_SENTENCES),
    "CoNLL-2002 Dutch": (("ned.train", "ned.testa", "ned.testb"), DUTCH, "latin-1", [
        sentence("De/O Belgische/B-MISC premier/O Dehaene/B-PER bezocht/O Brussel/B-LOC ./O"),
        sentence("Het/O café/O was/O dicht/O ./O"),
        sentence("Gent/B-LOC won/O")]),
    "CoNLL-2003": (("eng.train", "eng.testa", "eng.testb"), CONLL2003, "utf-8", [
        sentence("Lazio/B-ORG Juventus/B-ORG draw/O 1-1/O"), sentence("ROME/B-LOC 1996-08-30/O")]),
    "WNUT-17": (("wnut17train.conll", "emerging.dev.conll", "emerging.test.annotated"), WNUT, "utf-8", [
        sentence("#tbt/O Harry/B-creative-work Potter/I-creative-work premiere/O with/O @anna_k/O in/O "
                 "London/B-location !/O"),
        sentence("Taylor/B-person Swift/I-person tonight/O http://t.co/x1/O")]),
    "GermEval-2014": (("NER-de-train.tsv", "NER-de-dev.tsv", "NER-de-test.tsv"), GERMEVAL, "utf-8", [
        sentence("Die/O Universität/B-ORG Stuttgart/I-ORG liegt/O in/O Baden-Württemberg/B-LOC ./O"),
        sentence("Der/O schwäbische/B-LOCderiv #/O Merkel-Fan/B-PERpart")]),
}


def corpus(folder, names, text, encoding):
    """The release's three files in ``folder``, each holding ``text``; the train file's path."""
    folder.mkdir(exist_ok=True)
    for name in names:
        (folder / name).write_bytes(text.encode(encoding))
    return folder / names[0]


@pytest.mark.parametrize("name", CORPORA)
def test_each_corpus_reads_as_distributed(tmp_path, name):
    names, text, encoding, expected = CORPORA[name]
    train = corpus(tmp_path / "data", names, text, encoding)
    warnings = []
    splits = load_splits(tmp_path / "data", warn=warnings.append)
    assert splits.train == splits.validation == splits.test == expected
    assert all(name in splits.source for name in names) and "repaired" not in splits.source
    if encoding == "latin-1":  # each file says so, naming its first line that is not UTF-8
        first_bad = next(n for n, line in enumerate(text.splitlines(), 1) if not line.isascii())
        assert warnings[0].startswith(f"{train}:{first_bad}: not valid UTF-8, so the file was read as latin-1")
        assert len(warnings) == 3 and f"{names[0]} read as latin-1" in splits.source
    else:
        assert warnings == [] and "read as" not in splits.source


def test_iob1_release_is_converted_and_says_so(tmp_path):
    names, text, encoding, _ = CORPORA["CoNLL-2003"]
    corpus(tmp_path, names, text, encoding)
    assert "tags converted from iob1 to iobes" in load_splits(tmp_path, scheme="iobes").source


BAD_LINES = {
    # name: (text, line named, words the message must hold)
    "CoNLL-2002 Spanish": (SPANISH.replace("plan NC O", "plan O"), 8, "expected 3 whitespace-separated columns"),
    "CoNLL-2002 Dutch": (DUTCH.replace("Gent N B-LOC", "Gent N B-"), 16, "bad NER tag 'B-'"),
    "CoNLL-2003": (CONLL2003.replace("draw VBP I-VP O", "draw VBP O"), 5, "expected 4 whitespace-separated columns"),
    "WNUT-17": (WNUT.replace("Swift\tI-person", "Swift\tI-person\tx"), 12, "expected 2 tab-separated columns"),
    "WNUT-17 two annotations": (WNUT.replace("Taylor\tB-person", "Taylor\tB-person,B-person"), 11,
                                "bad NER tag 'B-person,B-person'"),
    "GermEval-2014 index": (GERMEVAL.replace("4\tliegt", "5\tliegt"), 5, "expected token number 4"),
    "GermEval-2014 columns": (GERMEVAL.replace("B-LOCderiv\tO", "B-LOCderiv"), 12, "expected 4 tab-separated"),
    "CoNLL-U": ("# sent_id = 1\n# text = Ana vive.\n1\tAna\tAna\tPROPN\t_\t_\t2\tnsubj\t_\tNE=B-PER\n"
                "2\tvive\tvivir\tVERB\t_\t_\t0\troot\t_\tNE=O\n", 3, "looks like CoNLL-U"),
}


@pytest.mark.parametrize("name", BAD_LINES)
def test_a_malformed_line_of_each_format_is_named(tmp_path, name):
    text, line, message = BAD_LINES[name]
    path = tmp_path / "train.txt"
    path.write_text(text, encoding="utf-8")
    with raises_at(path, line) as caught:
        load_splits(path, warn=lambda _: None)
    assert message in str(caught.value)


def test_hash_lines_are_comments_only_in_the_indexed_layout(tmp_path):
    """In a column file a '#' line is a token (a hashtag), even at a sentence start."""
    path = tmp_path / "tweets.txt"
    path.write_text("# O\nhello O\n\n#1 O\n1 O\n\n# O\n", encoding="utf-8")
    tagged = read_tagged(path)
    assert tagged.layout == "columns" and [s.tokens for s in tagged.sentences] == [("#", "hello"), ("#1", "1"), ("#",)]
    path.write_text("#\tsource\n1\tKöln\tB-LOC\tO\n#\tnext\n1\t#\tO\tO\n", encoding="utf-8")
    tagged = read_tagged(path)  # one token after a '#' line is GermEval, and '#' lines end sentences there
    assert tagged.layout == "germeval" and [s.tokens for s in tagged.sentences] == [("Köln",), ("#",)]
    assert [s.line for s in tagged.sentences] == [2, 4]
    path.write_text("1\tNN\tB-LOC\n\n2\tNN\tO\n", encoding="utf-8")  # a token '1', nothing counted
    assert read_tagged(path).layout == "columns"


def test_encoding_auto_explicit_and_unknown(tmp_path):
    latin = tmp_path / "ned.train.gz"
    latin.write_bytes(gzip.compress(DUTCH.encode("latin-1")))
    assert choose_encoding(latin)[0] == "latin-1"
    assert read_tagged(latin).sentences[1].tokens[1] == "café"
    assert choose_encoding(latin, "cp1252") == ("cp1252", "")
    plain = tmp_path / "plain.txt"
    plain.write_text(SPANISH, encoding="utf-8")
    assert choose_encoding(plain) == ("utf-8", "")
    with pytest.raises(SeqappsError, match="unknown text encoding 'klingon'"):
        load_splits(plain, encoding="klingon")


def test_help_and_readme_list_every_format_with_an_example():
    text = build_parser().format_help()
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    ner = readme[readme.index("## The NER app"):readme.index("## The stocks app")]
    for fmt in FORMATS:
        assert fmt.name in text and f"e.g. {fmt.example}" in text, fmt
        assert fmt.name in ner and fmt.example in ner, fmt
    assert "--repair-tags" in text and "0.1%" in text and "latin-1" in text
