"""Named-entity data in the CoNLL format: reading, validation, tag schemes and splits.

CoNLL files come in several shapes (the 4-column CoNLL-2003 release ``EU NNP B-NP B-ORG``,
2-column ``token<TAB>tag`` exports) and in three tagging schemes (IOB1 in the original
``eng.train``, IOB2/BIO in most re-releases, IOBES in many papers). :func:`read_conll` reads
any of them, reports every malformed line with its file and line number, and says which
scheme the file uses; :func:`load_splits` converts everything to the one scheme the model
trains on, so a model never sees two spellings of the same entity.

Without ``--data`` the app runs on demo sentences generated from hand-written name lists
(:func:`demo_sentences`), so it works offline; it says clearly that this is demo data.
CoNLL-2003 itself is not downloaded: its text is the Reuters RCV1 corpus, which is licensed
separately.
"""

import os
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from shared.atomic import write_text
from shared.datasets import iter_lines
from shared.errors import DataError, SeqappsError

SCHEMES = ("iob1", "iob2", "iobes")
OUTSIDE = "O"
DOCSTART = "-DOCSTART-"

# The prefixes each scheme may use. IOB1 and IOB2 differ only in *when* ``B-`` is written.
PREFIXES = {"iob1": "BI", "iob2": "BI", "iobes": "BIES"}
ANY_PREFIX = "BIES"
TAG_PATTERN = re.compile(r"([BIES])-(\S+)")
TAG_FORM = "'O' or PREFIX-TYPE with PREFIX one of B, I (E, S for IOBES), e.g. 'B-PER', 'I-ORG'"

VALIDATION_FRACTION = 0.1
TEST_FRACTION = 0.1

NOT_FOUND_HINT = ("CoNLL-2003 is not downloaded automatically (its text is the Reuters RCV1 "
                  "corpus, licensed separately): obtain it yourself and pass its folder or "
                  "files with --data")


@dataclass(frozen=True)
class Sentence:
    """One tagged sentence. ``line`` locates it in its file for error messages only.

    ``line`` is left out of equality, so a sentence read back from a file written elsewhere
    still equals the original.
    """

    tokens: tuple
    tags: tuple
    line: int = field(default=0, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "tokens", tuple(self.tokens))
        object.__setattr__(self, "tags", tuple(self.tags))
        if len(self.tokens) != len(self.tags):
            raise ValueError(f"a sentence needs one tag per token, got {len(self.tokens)} "
                             f"token(s) and {len(self.tags)} tag(s)")


@dataclass
class Splits:
    """The three splits in one tag scheme, plus what the model and the report need.

    ``tags`` is ``"O"`` followed by every other tag of train, validation and test, sorted:
    a tag that only occurs outside train still gets an id (the model will just never
    predict it), so encoding validation or test data never fails on an unknown tag.
    """

    train: list
    validation: list
    test: list
    tags: list
    scheme: str
    source: str
    is_demo: bool = False


# ---------------------------------------------------------------------------------------
# Tag schemes
# ---------------------------------------------------------------------------------------


def _split_tag(tag):
    """``("B", "PER")`` for ``B-PER``, ``("O", None)`` for ``O``, None when malformed."""
    if tag == OUTSIDE:
        return OUTSIDE, None
    match = TAG_PATTERN.fullmatch(tag) if isinstance(tag, str) else None
    return match.groups() if match else None


def _check_scheme(scheme, error=ValueError):
    if scheme not in SCHEMES:
        raise error(f"unknown tag scheme {scheme!r}: expected one of {', '.join(SCHEMES)}")


def _parse_tag(tag, scheme):
    parsed = _split_tag(tag)
    if parsed is None or parsed[0] not in PREFIXES[scheme] + OUTSIDE:
        raise ValueError(f"tag {tag!r} is not valid in the {scheme} scheme: expected "
                         f"'O' or {'/'.join(PREFIXES[scheme])}-TYPE")
    return parsed


def tags_to_spans(tags, scheme):
    """Entities as ``(type, start, end)`` with ``end`` exclusive, in order.

    The reading is lenient, like conlleval's, because model predictions are often ill
    formed: an ``I-X`` (or ``E-X``) that does not continue an open ``X`` entity starts a new
    one, and ``B-`` / ``S-`` always close whatever is open. With these rules IOB1 and IOB2
    read the same way (an IOB1 ``B-X`` always starts an entity, as it only appears directly
    after another ``X``), and a well-formed sequence is read exactly as its scheme means.
    """
    _check_scheme(scheme)
    tags = list(tags)
    spans, open_type, open_start = [], None, 0
    for position, tag in enumerate(tags):
        prefix, kind = _parse_tag(tag, scheme)
        if not (prefix in ("I", "E") and kind == open_type):
            if open_type is not None:
                spans.append((open_type, open_start, position))
            open_type, open_start = kind, position
        if prefix in ("E", "S"):
            spans.append((open_type, open_start, position + 1))
            open_type = None
    if open_type is not None:
        spans.append((open_type, open_start, len(tags)))
    return spans


def _entity_tags(kind, size, scheme, follows_same_type):
    if scheme == "iobes":
        return [f"S-{kind}"] if size == 1 else (
            [f"B-{kind}"] + [f"I-{kind}"] * (size - 2) + [f"E-{kind}"])
    first = "B" if scheme == "iob2" or follows_same_type else "I"
    return [f"{first}-{kind}"] + [f"I-{kind}"] * (size - 1)


def spans_to_tags(spans, length, scheme):
    """The tag sequence of ``length`` tokens holding ``spans`` (``(type, start, end)``).

    IOB1 writes ``B-X`` only where it is needed: on the first token of an entity that
    directly follows another ``X`` entity. Overlapping or out-of-range spans are refused.
    """
    _check_scheme(scheme)
    tags = [OUTSIDE] * length
    previous = None
    for kind, start, end in sorted(spans, key=lambda span: (span[1], span[2])):
        if not (isinstance(kind, str) and re.fullmatch(r"\S+", kind)):
            raise ValueError(f"entity type {kind!r} must be a non-empty string without spaces")
        if not 0 <= start < end <= length:
            raise ValueError(f"span ({kind!r}, {start}, {end}) is not inside 0..{length}")
        if previous is not None and start < previous[2]:
            raise ValueError(f"spans {previous} and {(kind, start, end)} overlap")
        follows = previous is not None and previous[2] == start and previous[0] == kind
        tags[start:end] = _entity_tags(kind, end - start, scheme, follows)
        previous = (kind, start, end)
    return tuple(tags)


def convert_tags(tags, source, target):
    """Re-tag a sequence from scheme ``source`` into ``target``, keeping its entities.

    Going through the spans also repairs ill-formed input (a stray ``I-X`` becomes the
    entity start that the lenient reading saw), so the output is always well formed.
    """
    tags = tuple(tags)
    return spans_to_tags(tags_to_spans(tags, source), len(tags), target)


def detect_scheme(tag_sequences):
    """Which scheme a set of tag sequences is written in.

    - ``iobes`` when any tag starts with ``E-`` or ``S-`` (only IOBES has them);
    - else ``iob1`` when some ``I-X`` begins an entity, i.e. directly follows ``O``, the
      sentence start or a tag of another type (IOB2 always begins with ``B-X`` there, IOB1
      almost always with ``I-X``);
    - else ``iob2``, also when there are no entities at all (every scheme reads those the
      same way).

    Any file with entities in IOB1 has such an ``I-X`` (the first entity of a sentence
    follows ``O`` or the start), so the rule only guesses when nothing depends on it.
    """
    scheme = "iob2"
    for tags in tag_sequences:
        previous = OUTSIDE
        for tag in tags:
            if tag.startswith(("E-", "S-")):
                return "iobes"
            if tag.startswith("I-") and previous[2:] != tag[2:]:
                scheme = "iob1"
            previous = tag
    return scheme


# ---------------------------------------------------------------------------------------
# Reading and writing CoNLL files
# ---------------------------------------------------------------------------------------


def _columns(line):
    """The line's columns: tab-separated when it has a tab (tokens may hold spaces), else
    split on runs of whitespace. Empty for a blank or whitespace-only line."""
    if not line.strip():
        return []
    if "\t" in line:
        return [column.strip() for column in line.split("\t")]
    return line.split()


def _separator(line):
    return "tab" if "\t" in line else "whitespace"


@dataclass
class _Layout:
    """What the first token line of a file set: every later line must match it."""

    columns: int
    line: int
    separator: str


def _layout(path, number, line, columns):
    if len(columns) < 2:
        raise DataError(path, "expected at least 2 columns, the token first and the NER tag "
                        "last (e.g. 'EU NNP B-NP B-ORG' or 'EU<TAB>B-ORG'), got 1",
                        line=number, content=line)
    return _Layout(len(columns), number, _separator(line))


def _check_columns(path, number, line, columns, layout):
    if len(columns) != layout.columns:
        raise DataError(path, f"expected {layout.columns} {layout.separator}-separated columns "
                        f"(token ... tag) like line {layout.line}, got {len(columns)}",
                        line=number, content=line)
    if not columns[0]:
        raise DataError(path, "empty token in the first column", line=number, content=line)


def _check_tag(path, number, line, tag, scheme):
    parsed = _split_tag(tag)
    if parsed is None:
        raise DataError(path, f"bad NER tag {tag!r} in the last column: expected {TAG_FORM}",
                        line=number, content=line)
    allowed = PREFIXES.get(scheme, ANY_PREFIX)
    if parsed[0] not in allowed + OUTSIDE:
        raise DataError(path, f"tag {tag!r} does not fit the {scheme} scheme, which uses "
                        f"'O' and {'/'.join(allowed)}-TYPE (read the file with scheme "
                        "'auto' to detect its scheme)", line=number, content=line)
    return tag


def _read_sentences(path, scheme, encoding):
    """Yield the file's sentences; blank lines and ``-DOCSTART-`` lines end a sentence."""
    layout, tokens, tags, first = None, [], [], 0
    for number, line in iter_lines(path, encoding):
        columns = _columns(line)
        if not columns or columns[0] == DOCSTART:
            if tokens:
                yield Sentence(tokens, tags, first)
                tokens, tags = [], []
            continue
        layout = layout or _layout(path, number, line, columns)
        _check_columns(path, number, line, columns, layout)
        if not tokens:
            first = number
        tags.append(_check_tag(path, number, line, columns[-1], scheme))
        tokens.append(columns[0])
    if tokens:  # a file may end without a newline after its last sentence
        yield Sentence(tokens, tags, first)


def read_conll(path, *, scheme="auto", encoding="utf-8"):
    """``(sentences, scheme)`` from a CoNLL file, tags kept in the file's own scheme.

    The token is the first column and the NER tag the last, so 4-column CoNLL-2003 lines
    and 2-column ``token<TAB>tag`` lines both work; every token line must have as many
    columns as the first one. ``scheme="auto"`` detects the scheme
    (:func:`detect_scheme`); an explicit scheme refuses tags whose prefix it does not use.
    Sequences are not checked beyond that: :func:`load_splits` refuses ill-formed ones.
    """
    path = Path(path)
    if scheme != "auto":
        _check_scheme(scheme, SeqappsError)
    if path.is_dir():
        raise DataError(path, "is a folder: expected a CoNLL file")
    try:
        sentences = list(_read_sentences(path, scheme, encoding))
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    if not sentences:
        raise DataError(path, "no sentences found: expected one 'token ... tag' line per "
                        "token and a blank line after each sentence")
    return sentences, detect_scheme(s.tags for s in sentences) if scheme == "auto" else scheme


def _check_token(token):
    if not token or token != token.strip() or any(c in token for c in "\t\r\n"):
        raise ValueError(f"token {token!r} cannot be written to a CoNLL file: it must be "
                         "non-empty, without tabs, line breaks or surrounding whitespace")
    return token


def _check_written_tags(tags):
    for tag in tags:
        if _split_tag(tag) is None:
            raise ValueError(f"tag {tag!r} cannot be written to a CoNLL file: expected {TAG_FORM}")
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
    on reading.
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


# ---------------------------------------------------------------------------------------
# Demo data
# ---------------------------------------------------------------------------------------

DEMO_SOURCE = ("demo data: generated newswire-style sentences written for seqapps, not a "
               "real corpus (pass --data for real numbers)")

# Hand-written for seqapps. Some names are deliberately ambiguous (Jordan, Washington and
# Madrid are people, places or part of a club name) so the tagger has to use the context.
DEMO_FIRST_NAMES = (
    "Maria", "John", "Ahmed", "Wei", "Sofia", "Lukas", "Aisha", "Pedro", "Yuki", "Olga",
    "James", "Fatima", "Carlos", "Ingrid", "Kwame", "Elena", "Ravi", "Chloe", "Mateo", "Hana",
    "Samuel", "Leila", "Tomas", "Grace", "Omar", "Nina", "Dmitri", "Amara", "Paul", "Jordan",
    "Sven", "Priya",
)
DEMO_SURNAMES = (
    "Lopez", "Smith", "Haddad", "Chen", "Rossi", "Becker", "Okafor", "Silva", "Tanaka",
    "Petrova", "Walker", "Khan", "Garcia", "Larsen", "Mensah", "Novak", "Sharma", "Dubois",
    "Fernandez", "Kim", "Adeyemi", "Moreau", "Svoboda", "Brown", "Nasser", "Ivanova",
    "Washington", "Osei", "Jensen", "Kowalski", "Murphy", "Park", "van der Berg",
)
DEMO_LOCATIONS = (
    "New York", "Paris", "Berlin", "Tokyo", "Lagos", "Sao Paulo", "Cairo", "Mumbai", "Sydney",
    "Toronto", "Madrid", "Nairobi", "Oslo", "Buenos Aires", "Hong Kong", "Los Angeles",
    "Jordan", "Brazil", "Germany", "Japan", "Kenya", "France", "Canada", "India",
    "South Africa", "Washington", "Rome", "Mexico City", "Norway", "Egypt",
)
DEMO_ORGANISATIONS = (
    "Bank of England", "United Nations", "Reuters", "Siemens", "Toyota",
    "World Health Organization", "Red Cross", "FIFA", "Microsoft", "European Commission",
    "Real Madrid", "Northwind Traders", "Global Shipping Ltd", "Harbor Bank",
    "Greenfield University", "Apex Airlines", "Blue River Energy", "Metro Transit Authority",
    "National Museum", "Ajax", "Interpol", "Pacific Steel Corp",
)
# MISC comes in two shapes, nationalities and events, which fit different sentences.
DEMO_NATIONALITIES = (
    "French", "Japanese", "Brazilian", "German", "Kenyan", "Canadian", "Egyptian", "Norwegian",
    "Indian",
)
DEMO_EVENTS = (
    "Olympic Games", "World Cup", "Davis Cup", "Tour de France", "European Championship",
    "Asian Games",
)

# ``{LAST}`` is a person named by surname only, as newswire does after the first mention.
DEMO_TEMPLATES = (
    "{PER} joined {ORG} in {LOC} last week .",
    "{ORG} said on Tuesday that profits rose 5 percent .",
    "The {NAT} delegation arrived in {LOC} on Monday .",
    "{PER} , a spokesman for {ORG} , declined to comment .",
    "Shares in {ORG} fell sharply after the report .",
    "{PER} beat {PER} 6-3 6-4 in the final in {LOC} .",
    "Police in {LOC} arrested two men on Friday .",
    "{PER} will travel to {LOC} and {LOC} next month .",
    "The {NAT} team won the {EVENT} for the second time .",
    "\" We are very happy , \" {PER} told reporters .",
    "Talks between {ORG} and {ORG} broke down in {LOC} .",
    "Heavy rain caused flooding in {LOC} on Sunday .",
    "{ORG} chief executive {PER} resigned on Wednesday .",
    "Mr. {LAST} said the deal was worth 40 million dollars .",
    "{PER} was born in {LOC} in 1970 .",
    "{LOC} beat {LOC} 2-0 in a friendly on Saturday .",
    "{ORG} opened a new office in {LOC} .",
    "A {NAT} court in {LOC} sentenced {PER} to three years .",
    "{PER} and {PER} met at the {ORG} headquarters .",
    "Fans celebrated the {EVENT} win in the streets of {LOC} .",
    "{PER} ( {LOC} ) finished third .",
    "The {NAT} ambassador to {LOC} , {PER} , was recalled .",
    "{LAST} scored twice as {ORG} won 3-1 .",
    "{PER} , the {NAT} champion , retired on Friday .",
    "Tickets for the {EVENT} in {LOC} sold out within hours .",
    "Prices rose 2 percent in March , the statistics office said .",
    "The match ended 1-1 after extra time .",
    "He said the talks would continue next week .",
    "The company expects sales to grow this year .",
    "Officials said the road would reopen on Thursday .",
)
DEMO_SLOTS = {"{PER}": "PER", "{LAST}": "PER", "{ORG}": "ORG", "{LOC}": "LOC",
              "{NAT}": "MISC", "{EVENT}": "MISC"}


def _demo_entity(slot, rng):
    if slot == "{LAST}":
        return rng.choice(DEMO_SURNAMES)
    if slot == "{PER}":
        surname = rng.choice(DEMO_SURNAMES)
        return surname if rng.random() < 0.2 else f"{rng.choice(DEMO_FIRST_NAMES)} {surname}"
    lists = {"{ORG}": DEMO_ORGANISATIONS, "{LOC}": DEMO_LOCATIONS, "{NAT}": DEMO_NATIONALITIES,
             "{EVENT}": DEMO_EVENTS}
    return rng.choice(lists[slot])


def _demo_sentence(template, rng):
    tokens, tags = [], []
    for word in template.split():
        if word not in DEMO_SLOTS:
            tokens.append(word)
            tags.append(OUTSIDE)
            continue
        entity = _demo_entity(word, rng).split()
        kind = DEMO_SLOTS[word]
        tokens += entity
        tags += [f"B-{kind}"] + [f"I-{kind}"] * (len(entity) - 1)
    return Sentence(tokens, tags)


def demo_sentences(count=400, seed=0):
    """``count`` IOB2-tagged demo sentences, the same for the same seed on every machine.

    Templates filled from hand-written name lists: small enough to train in seconds, varied
    enough (multi-token and ambiguous names, sentences without entities) that a model has
    to use the context rather than memorise a word list.
    """
    rng = random.Random(seed)
    return [_demo_sentence(rng.choice(DEMO_TEMPLATES), rng) for _ in range(count)]


def embedding_corpus():
    """The demo sentences as text: the offline corpus for the shared word2vec vectors."""
    return [" ".join(sentence.tokens) for sentence in demo_sentences()]


# ---------------------------------------------------------------------------------------
# Splits
# ---------------------------------------------------------------------------------------

DATA_SUFFIXES = (".txt", ".conll", ".tsv", ".bio", ".iob", ".iob1", ".iob2", ".iobes", ".bioes")
IGNORED_SUFFIXES = (".md", ".py", ".json", ".csv", ".yaml", ".yml", ".sh", ".zip", ".tar",
                    ".tgz", ".pdf", ".html", ".log")
# Exact names rank before looser matches when a folder holds several candidates.
ROLE_NAMES = {
    "train": ("train", "eng.train"),
    "validation": ("valid", "validation", "val", "dev", "eng.testa", "testa"),
    "test": ("test", "eng.testb", "testb"),
}
ACCEPTED_NAMES = ("train: train.txt, train, eng.train or any name containing 'train'; "
                  "validation: valid*, val*, dev*, eng.testa, testa; test: test*, eng.testb, "
                  f"testb (optionally ending in {', '.join(DATA_SUFFIXES[:5])}, and/or .gz)")


@dataclass
class _Part:
    """One split before conversion: its sentences, the file they came from, its scheme."""

    sentences: list
    path: object
    scheme: str = "iob2"
    carved: bool = False
    repaired: tuple = ()


def scheme_break(sentence, scheme):
    """``(position, expected tag)`` of the first tag that breaks ``scheme``, or None.

    A tag breaks the scheme when the well-formed spelling of the entities the lenient
    reading sees differs from it: ``B-PER O`` in IOBES (a ``B-`` that never ends), or an
    IOB1 ``B-PER`` that follows no ``PER`` entity.
    """
    for position, (tag, expected) in enumerate(zip(sentence.tags, convert_tags(sentence.tags, scheme, scheme))):
        if tag != expected:
            return position, expected
    return None


def _check_schemes(sentences, scheme, path, repair):
    """The sentences' lines whose tags break ``scheme``: an error unless ``repair``."""
    broken = [(sentence, found) for sentence in sentences if (found := scheme_break(sentence, scheme))]
    if broken and not repair:
        sentence, (position, expected) = broken[0]
        previous = repr(sentence.tags[position - 1]) if position else "the sentence start"
        raise DataError(path, f"tag {sentence.tags[position]!r} after {previous} breaks the {scheme.upper()} "
                        f"scheme the file is written in: expected {expected!r} ({len(broken):,} sentence(s) "
                        "break it; fix them, or pass --repair-tags to read them as conlleval does)",
                        line=sentence.line + position,
                        content=f"{sentence.tokens[position]} {sentence.tags[position]}")
    return tuple(sentence.line for sentence, _ in broken)


def _read_part(path, encoding, repair_tags=False):
    sentences, scheme = read_conll(path, encoding=encoding)
    return _Part(sentences, Path(path), scheme, repaired=_check_schemes(sentences, scheme, path, repair_tags))


def _stem(name):
    """The lowercase name without ``.gz`` and one data suffix: ``eng.train.gz`` -> ``eng.train``."""
    name = name.lower()
    name = name[:-3] if name.endswith(".gz") else name
    for suffix in DATA_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _role(name):
    """``train``, ``validation``, ``test`` or None for a file name (testa is validation)."""
    stem = _stem(name)
    if stem.endswith(IGNORED_SUFFIXES):
        return None
    words = set(re.findall(r"[a-z]+", stem))
    if "train" in stem:
        return "train"
    if stem.startswith(("valid", "val", "dev")) or words & {"valid", "validation", "val",
                                                            "dev", "testa"}:
        return "validation"
    if stem.startswith("test") or words & {"test", "testb"}:
        return "test"
    return None


def _folder_files(folder):
    return sorted(path for path in folder.iterdir()
                  if path.is_file() and not path.name.startswith("."))


def _role_files(folder):
    """``{role: [candidates, best first]}`` for the data files in ``folder``."""
    found = {}
    for path in _folder_files(folder):
        role = _role(path.name)
        if role is not None:
            found.setdefault(role, []).append(path)
    for role, paths in found.items():
        paths.sort(key=lambda path: (_stem(path.name) not in ROLE_NAMES[role], path.name))
    return found


def _missing_train(folder):
    names = [path.name for path in _folder_files(folder)]
    listing = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "") if names else "none"
    return DataError(folder, f"no training file found (files here: {listing}); accepted "
                     f"names: {ACCEPTED_NAMES}")


def _resolve_folder(folder, encoding, repair_tags):
    found = _role_files(folder)
    if "train" not in found:
        raise _missing_train(folder)
    parts = {role: _read_part(found[role][0], encoding, repair_tags) if role in found else None
             for role in ROLE_NAMES}
    ignored = [path.name for paths in found.values() for path in paths[1:]]
    note = f"; ignored {', '.join(ignored)}" if ignored else ""
    return parts, f"{folder}{os.sep}", note


def _not_found(path):
    return DataError(path, f"not found: no such file or folder. {NOT_FOUND_HINT}")


def _as_paths(data):
    """The paths in ``data``: a list/tuple, a comma-separated string, or one path."""
    if isinstance(data, (list, tuple)):
        paths = list(data)
    elif isinstance(data, str) and "," in data and not Path(data).exists():
        paths = [part.strip() for part in data.split(",")]
    else:
        paths = [data]
    if not 1 <= len(paths) <= 3 or not all(str(path).strip() for path in paths):
        raise SeqappsError(f"expected 1 to 3 paths (train, validation, test), got {data!r}")
    return [Path(path) for path in paths]


def _resolve_files(paths, encoding, repair_tags):
    for path in paths:
        if not path.exists():
            raise _not_found(path)
        if len(paths) > 1 and path.is_dir():
            raise DataError(path, "is a folder: when several paths are given, each must be "
                            "a CoNLL file (train, validation, test in that order)")
    parts = dict(zip(ROLE_NAMES, [_read_part(path, encoding, repair_tags) for path in paths]))
    return {role: parts.get(role) for role in ROLE_NAMES}, "", ""


def _resolve(data, encoding, repair_tags=False):
    """``(parts, prefix, note)``: the parts by role (None where no file gives one)."""
    if data is None:
        return {"train": _Part(demo_sentences(), DEMO_SOURCE), "validation": None,
                "test": None}, "", ""
    paths = _as_paths(data)
    if len(paths) == 1 and paths[0].is_dir():
        return _resolve_folder(paths[0], encoding, repair_tags)
    return _resolve_files(paths, encoding, repair_tags)


def _carve_size(total):
    return max(1, round(total * VALIDATION_FRACTION))


def _carve(parts, seed):
    """Fill the missing validation/test parts with sentences picked from train.

    The pick is ``random.Random(seed)``; every part keeps the file order of its sentences,
    so a limit on train takes the first sentences of the file.
    """
    missing = [role for role in ("validation", "test") if parts[role] is None]
    if not missing:
        return parts
    train = parts["train"]
    total, size = len(train.sentences), _carve_size(len(train.sentences))
    if total - size * len(missing) < 1:
        raise DataError(train.path, f"too few sentences ({total}) to carve "
                        f"{' and '.join(missing)} split(s) from and keep some for training")
    order = list(range(total))
    random.Random(seed).shuffle(order)
    for index, role in enumerate(missing):
        chosen = sorted(order[index * size:(index + 1) * size])
        parts[role] = _Part([train.sentences[i] for i in chosen], train.path, train.scheme, True)
    kept = sorted(order[len(missing) * size:])
    parts["train"] = _Part([train.sentences[i] for i in kept], train.path, train.scheme, repaired=train.repaired)
    return parts


def _converted(part, scheme):
    return [Sentence(s.tokens, convert_tags(s.tags, part.scheme, scheme), s.line)
            for s in part.sentences]


def _tag_list(*splits):
    seen = {tag for split in splits for sentence in split for tag in sentence.tags}
    return [OUTSIDE] + sorted(seen - {OUTSIDE})


def _describe(parts, prefix, note, scheme, seed):
    """One line saying where each split came from and which schemes were converted."""
    pieces = []
    for role, part in parts.items():
        if part.carved:
            pieces.append(f"{role} carved from train ({VALIDATION_FRACTION:.0%}, seed {seed})")
        else:
            name = part.path.name if prefix else str(part.path)
            pieces.append(f"{role} {name} ({len(part.sentences)} sentences)")
    for part in parts.values():
        if part.repaired and not part.carved:
            note += (f"; repaired the tags of {len(part.repaired):,} sentence(s) that broke {part.scheme.upper()} "
                     f"in {part.path.name} (first at line {part.repaired[0]})")
    converted = sorted({part.scheme for part in parts.values()
                        if not part.carved and part.scheme != scheme})
    if converted:
        note += f"; tags converted from {', '.join(converted)} to {scheme}"
    return f"{prefix}{', '.join(pieces)}{note}"


def load_splits(data=None, *, scheme="iob2", seed=1337, encoding="utf-8", limit=None, repair_tags=False):
    """Train/validation/test sentences of ``data`` with tags in ``scheme``.

    ``data`` is None (the demo data), a folder holding train / valid / test files
    (:data:`ACCEPTED_NAMES`, e.g. ``train.txt`` or CoNLL-2003's ``eng.train``,
    ``eng.testa``, ``eng.testb``), one file, or up to three files (a list or a
    comma-separated string: train, then validation, then test). A split that no file gives
    is carved from train: 10% each, at least one sentence, picked with ``seed``, so one
    file splits 80/10/10. Each file's scheme is detected on its own and converted.
    ``limit`` keeps the first ``limit`` training sentences (validation and test stay whole).
    A tag sequence that breaks its file's scheme is an error, or with ``repair_tags`` read
    leniently (:func:`convert_tags`) and counted in ``source``.
    """
    _check_scheme(scheme, SeqappsError)
    if limit is not None and limit < 1:
        raise SeqappsError(f"limit must be at least 1, got {limit}")
    parts, prefix, note = _resolve(data, encoding, repair_tags)
    parts = _carve(parts, seed)
    splits = {role: _converted(part, scheme) for role, part in parts.items()}
    if data is None:
        source = f"{DEMO_SOURCE}; split 80/10/10 with seed {seed}"
    else:
        source = _describe(parts, prefix, note, scheme, seed)
    if limit is not None and limit < len(splits["train"]):
        splits["train"] = splits["train"][:limit]
        source += f"; limited to the first {limit} training sentences"
    return Splits(splits["train"], splits["validation"], splits["test"],
                  _tag_list(*splits.values()), scheme, source, is_demo=data is None)
