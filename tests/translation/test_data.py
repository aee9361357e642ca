import random
import re
import unicodedata

import pytest

from apps.translation.data import (VERBS, Corpus, Pair, demo_pairs, embedding_corpus, load_corpus,
                                   read_pairs_file, read_parallel, split_pairs)
from shared.errors import DataError, SeqappsError
from tests.datafiles import raises_at, write


def normalised(sentence):
    return " ".join(unicodedata.normalize("NFC", sentence).casefold().split())


def sources(pairs):
    return {normalised(pair.source) for pair in pairs}


def pair_lines(count, start=0):
    return "".join(f"sentence number {n}\tfrase número {n}\n" for n in range(start, start + count))


def write_parallel(prefix, source_lines, target_lines, *, languages=("en", "de"), gz=False):
    suffix = ".gz" if gz else ""
    for language, lines in zip(languages, (source_lines, target_lines)):
        write(prefix.parent / f"{prefix.name}.{language}{suffix}", "".join(f"{line}\n" for line in lines),
              gz=gz)
    return prefix


def numbered(count, language, start=0):
    return [f"{language} sentence {n}" for n in range(start, start + count)]


# --- pairs files ------------------------------------------------------------------------


def test_pairs_file_ignores_extra_columns_and_strips_each_side(tmp_path):
    path = write(tmp_path / "spa.txt", "Go.\tVe.\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272\n"
                                       "  Hi. \t Hola. \n")
    pairs, dropped = read_pairs_file(path)
    assert pairs == [Pair("Go.", "Ve.", "spa.txt:1"), Pair("Hi.", "Hola.", "spa.txt:2")]
    assert dropped == {}


@pytest.mark.parametrize("options", [dict(gz=True), dict(bom=True), dict(crlf=True),
                                     dict(gz=True, bom=True, crlf=True)])
def test_pairs_file_reads_gzip_bom_and_crlf(tmp_path, options):
    path = write(tmp_path / "spa.txt.gz", "Run!\t¡Corre!\nWho?\t¿Quién?\n", **options)
    pairs, _ = read_pairs_file(path)
    assert [(pair.source, pair.target) for pair in pairs] == [("Run!", "¡Corre!"), ("Who?", "¿Quién?")]
    assert pairs[1].origin == "spa.txt.gz:2"


def test_pairs_file_reverse_swaps_the_columns(tmp_path):
    path = write(tmp_path / "spa.txt", "Go.\tVe.\n")
    assert read_pairs_file(path, reverse=True)[0] == [Pair("Ve.", "Go.", "spa.txt:1")]


def test_pairs_file_skips_blank_lines_and_keeps_line_numbers(tmp_path):
    path = write(tmp_path / "pairs.txt", "a\tb\n\n   \t \nc\td\n")
    pairs, dropped = read_pairs_file(path)
    assert [pair.origin for pair in pairs] == ["pairs.txt:1", "pairs.txt:4"]
    assert dropped == {}


def test_pairs_file_counts_pairs_with_an_empty_side(tmp_path):
    path = write(tmp_path / "pairs.txt", "a\t\n\tb\n  \t  x\nc\td\n")
    pairs, dropped = read_pairs_file(path)
    assert pairs == [Pair("c", "d", "pairs.txt:4")]
    assert dropped == {"empty side": 3}


def test_pairs_file_line_without_a_tab_is_an_error_at_its_line(tmp_path):
    path = write(tmp_path / "spa.txt.gz", "Go.\tVe.\nno tab here\n", gz=True)
    with raises_at(path, 2) as error:
        read_pairs_file(path)
    assert "expected 'source<TAB>target'" in str(error.value)
    assert "'no tab here'" in str(error.value)


@pytest.mark.parametrize("text", ["", "\n  \n", "only\t \n"])
def test_pairs_file_without_pairs_is_an_error(tmp_path, text):
    path = write(tmp_path / "spa.txt", text)
    with pytest.raises(DataError, match="no sentence pairs found"):
        read_pairs_file(path)


def test_pairs_file_missing_or_a_folder_is_an_error(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_pairs_file(tmp_path / "nothing.txt")
    with pytest.raises(DataError, match="is a folder"):
        read_pairs_file(tmp_path)


def test_pairs_file_encoding_is_passed_on(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes("Go.\tVe.\nHow?\t¿Cómo?\n".encode("latin-1"))
    with raises_at(path, 2):
        read_pairs_file(path)
    assert read_pairs_file(path, encoding="latin-1")[0][1].target == "¿Cómo?"


# --- parallel files -----------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
def test_parallel_files_plain_or_gzipped(tmp_path, gz):
    prefix = write_parallel(tmp_path / "train", ["A dog .", " Two men. "], ["Ein Hund .", "Zwei Männer."], gz=gz)
    pairs, dropped = read_parallel(prefix, "en", "de")
    name = "train.en.gz" if gz else "train.en"
    assert pairs == [Pair("A dog .", "Ein Hund .", f"{name}:1"), Pair("Two men.", "Zwei Männer.", f"{name}:2")]
    assert dropped == {}


def test_parallel_files_prefer_the_plain_name_and_mix_plain_with_gzip(tmp_path):
    write(tmp_path / "train.en", "plain\n")
    write(tmp_path / "train.en.gz", "gzipped\n", gz=True)
    write(tmp_path / "train.de.gz", "deutsch\n", gz=True)
    assert read_parallel(tmp_path / "train", "en", "de")[0] == [Pair("plain", "deutsch", "train.en:1")]


def test_parallel_files_count_one_sided_pairs_and_skip_lines_blank_in_both(tmp_path):
    prefix = write_parallel(tmp_path / "train", ["one", "", "", "four"], ["eins", "zwei", " ", "vier"])
    pairs, dropped = read_parallel(prefix, "en", "de")
    assert [pair.origin for pair in pairs] == ["train.en:1", "train.en:4"]
    assert dropped == {"empty side": 1}


def test_parallel_files_with_different_line_counts_name_both(tmp_path):
    prefix = write_parallel(tmp_path / "train", numbered(1200, "en"), numbered(1199, "de"), gz=True)
    expected = f"{tmp_path / 'train.en.gz'}: 1,200 lines, but the other side {tmp_path / 'train.de.gz'} has 1,199"
    with pytest.raises(DataError, match="^" + re.escape(expected)):
        read_parallel(prefix, "en", "de")


def test_parallel_file_missing_names_the_paths_tried(tmp_path):
    write(tmp_path / "train.en", "a\n")
    with pytest.raises(DataError) as error:
        read_parallel(tmp_path / "train", "en", "de")
    assert f"{tmp_path / 'train.de'} and {tmp_path / 'train.de.gz'}" in str(error.value)


# --- splitting ----------------------------------------------------------------------------


def repeated_sources(count=3000, seed=0):
    """Pairs whose sources repeat with several translations, written in different ways."""
    rng = random.Random(seed)
    pairs = []
    for n in range(count):
        sentence = f"Café number {rng.randrange(count // 2)} is open."
        if rng.random() < 0.3:
            sentence = "  " + unicodedata.normalize("NFD", sentence.upper()).replace(" ", "   ")
        pairs.append(Pair(sentence, f"translation {n}", f"pairs.txt:{n + 1}"))
    return pairs


def test_split_is_deterministic_and_depends_on_the_seed():
    pairs = repeated_sources()
    assert split_pairs(pairs) == split_pairs(pairs)
    assert split_pairs(pairs, seed=1) != split_pairs(pairs)


def test_split_does_not_depend_on_the_order_of_the_input():
    pairs = repeated_sources()
    shuffled = list(pairs)
    random.Random(5).shuffle(shuffled)
    assert [set(part) for part in split_pairs(shuffled)] == [set(part) for part in split_pairs(pairs)]


def test_split_keeps_every_source_sentence_in_one_split_and_the_input_order():
    train, validation, test = split_pairs(repeated_sources(), validation_fraction=0.1, test_fraction=0.1)
    assert validation and test
    assert not sources(train) & sources(validation)
    assert not sources(train) & sources(test)
    assert not sources(validation) & sources(test)
    for part in (train, validation, test):
        numbers = [int(pair.origin.split(":")[1]) for pair in part]
        assert numbers == sorted(numbers)


@pytest.mark.parametrize("validation_fraction, test_fraction", [(0.05, 0.05), (0.1, 0.2), (0.0, 0.1)])
def test_split_fractions_are_near_the_requested_ones(validation_fraction, test_fraction):
    pairs = [Pair(f"sentence {n}", f"frase {n}", f"demo:{n}") for n in range(4000)]
    train, validation, test = split_pairs(pairs, validation_fraction=validation_fraction,
                                          test_fraction=test_fraction)
    assert len(train) + len(validation) + len(test) == len(pairs)
    assert abs(len(validation) / len(pairs) - validation_fraction) < 0.015
    assert abs(len(test) / len(pairs) - test_fraction) < 0.015


def test_split_of_a_tiny_corpus_still_fills_every_split():
    pairs = [Pair(f"sentence {n}", f"frase {n}", f"tiny.txt:{n}") for n in range(4)]
    train, validation, test = split_pairs(pairs)
    assert (len(train), len(validation), len(test)) == (2, 1, 1)


@pytest.mark.parametrize("fractions", [dict(validation_fraction=-0.1), dict(test_fraction=1.0),
                                       dict(validation_fraction=0.5, test_fraction=0.5)])
def test_split_rejects_bad_fractions(fractions):
    with pytest.raises(SeqappsError):
        split_pairs(repeated_sources(10), **fractions)


# --- demo data ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo():
    return demo_pairs()


def test_demo_pairs_are_deterministic_and_distinct(demo):
    assert demo_pairs(300) == demo[:300]
    assert demo_pairs(300, seed=2) != demo[:300]
    assert len(demo) == 4000
    assert len({pair.source for pair in demo}) == 4000
    assert len({pair.target for pair in demo}) > 0.98 * len(demo)


def test_demo_pairs_have_accents_in_nfc_and_matching_punctuation(demo):
    targets = "".join(pair.target for pair in demo)
    assert {"á", "é", "í", "ó", "ú", "ñ"} <= set(targets)
    for pair in demo:
        assert unicodedata.normalize("NFC", pair.target) == pair.target
        assert pair.source[0].isupper() and pair.target.lstrip("¿")[0].isupper()
        if pair.source.endswith("?"):
            assert pair.target.startswith("¿") and pair.target.endswith("?")
        else:
            assert pair.source.endswith(".") and pair.target.endswith(".") and "¿" not in pair.target


# Hand-checked translations: wherever the English phrase occurs, the Spanish one must. Most
# of them occur in the default 4,000 pairs; the test asks for most, not all, so that a change
# to the grammar's weights does not break it.
PHRASES = {
    "the red houses": "las casas rojas",
    "the small girl": "la niña pequeña",
    "a white flower": "una flor blanca",
    "the young women": "las mujeres jóvenes",
    "the black trucks": "los camiones negros",
    "an old apple": "una manzana vieja",
    "the trees": "los árboles",
    "the mice": "los ratones",
    "near the tree": "cerca del árbol",
    "next to the car": "al lado del coche",
    "goes to the tree": "va al árbol",
    "sees the cat": "ve al gato",
}


def test_demo_translations_follow_the_grammar(demo):
    found = set()
    for pair in demo:
        for english, spanish in PHRASES.items():
            if re.search(rf"\b{english}\b", pair.source.lower()):
                assert spanish in pair.target.lower(), pair
                found.add(english)
    assert len(found) >= 9, found


def test_demo_contracts_de_el_and_a_el(demo):
    targets = [pair.target.lower() for pair in demo]
    assert not [target for target in targets if re.search(r"\b(de|a) el\b", target)]
    assert sum(" del " in target for target in targets) > 100
    assert sum(re.search(r"\bal (?!lado)", target) is not None for target in targets) > 100


def test_demo_questions_put_the_conjugated_verb_first_in_spanish(demo):
    first_words = {"does": {verb[2] for verb in VERBS}, "do": {verb[3] for verb in VERBS},
                   "is": {"está"}, "are": {"están"}}
    questions = [pair for pair in demo if pair.source.endswith("?")]
    assert len(questions) > 0.15 * len(demo)
    for pair in questions:
        assert pair.target[1:].split()[0].lower() in first_words[pair.source.split()[0].lower()], pair


def test_embedding_corpus_is_the_english_side_of_the_demo(demo):
    assert embedding_corpus() == [pair.source for pair in demo]


# --- load_corpus --------------------------------------------------------------------------


def test_load_corpus_without_data_is_the_demo():
    corpus = load_corpus(demo_size=800)
    assert isinstance(corpus, Corpus) and corpus.is_demo
    assert (corpus.source_language, corpus.target_language) == ("en", "es")
    assert corpus.description.startswith("DEMO DATA:") and "not real text" in corpus.description
    assert len(corpus.train) + len(corpus.validation) + len(corpus.test) == 800
    assert corpus.validation and corpus.test and corpus.dropped == {}
    assert "hash of the normalised source" in corpus.split_note


def test_load_corpus_demo_reversed_is_spanish_to_english():
    forward, backward = load_corpus(demo_size=200), load_corpus(demo_size=200, reverse=True)
    assert (backward.source_language, backward.target_language) == ("es", "en")
    assert backward.description.startswith("DEMO DATA:")
    english = {pair.source: pair.target for pair in forward.train + forward.validation + forward.test}
    for pair in backward.train:
        assert english[pair.target] == pair.source


def test_load_corpus_demo_takes_no_split_files(tmp_path):
    with pytest.raises(SeqappsError, match="demo"):
        load_corpus(test=write(tmp_path / "spa.txt", "a\tb\n"))


@pytest.mark.parametrize("name, language", [("spa.txt", "es"), ("deu.txt.gz", "de"), ("jpn.txt", "ja"),
                                            ("klingon.txt", "klingon"), ("pairs.tsv", "pairs")])
def test_load_corpus_guesses_the_target_language_from_the_file_name(tmp_path, name, language):
    corpus = load_corpus(write(tmp_path / name, pair_lines(200)))
    assert (corpus.source_language, corpus.target_language) == ("en", language)
    assert corpus.description == f"{name}: 200 pairs (en -> {language})"
    assert not corpus.is_demo


def test_load_corpus_reverse_swaps_pairs_and_languages(tmp_path):
    path = write(tmp_path / "spa.txt", pair_lines(200))
    corpus = load_corpus(path, reverse=True)
    assert (corpus.source_language, corpus.target_language) == ("es", "en")
    assert corpus.train[0].source.startswith("frase número")
    explicit = load_corpus(path, source="en-GB", target="es-ES", reverse=True)
    assert (explicit.source_language, explicit.target_language) == ("es-ES", "en-GB")


def test_load_corpus_splits_a_pairs_file_and_sums_what_was_dropped(tmp_path):
    path = write(tmp_path / "spa.txt", pair_lines(2000) + "empty\t\n" + pair_lines(50))
    test_file = write(tmp_path / "test.txt", pair_lines(30, start=5000) + "\tnone\n\t\n x\t \n")
    split = load_corpus(path)
    assert split.dropped == {"empty side": 1}
    assert not sources(split.train) & sources(split.test)
    assert 60 < len(split.test) < 140 and 60 < len(split.validation) < 140
    with_test = load_corpus(path, test=test_file)
    assert with_test.dropped == {"empty side": 3}
    assert len(with_test.test) == 30
    assert not sources(with_test.train) & sources(with_test.validation)
    assert with_test.split_note.startswith("test from test.txt; validation 5% of spa.txt")


def test_load_corpus_parallel_files_with_validation_and_test_prefixes(tmp_path):
    folder = tmp_path / "multi30k"
    write_parallel(folder / "train", numbered(300, "en"), numbered(300, "de"), gz=True)
    write_parallel(folder / "val", numbered(20, "en", 300), numbered(20, "de", 300))
    write_parallel(folder / "test_2016", numbered(10, "en", 400), numbered(10, "de", 400), gz=True)
    corpus = load_corpus(folder / "train", source="en", target="de", validation=folder / "val",
                         test=folder / "test_2016")
    assert (len(corpus.train), len(corpus.validation), len(corpus.test)) == (300, 20, 10)
    assert (corpus.source_language, corpus.target_language) == ("en", "de")
    assert corpus.train[0] == Pair("en sentence 0", "de sentence 0", "train.en.gz:1")
    assert corpus.description == ("train.{en,de}.gz: 300 pairs (en -> de); validation val.{en,de}: 20 pairs; "
                                  "test test_2016.{en,de}.gz: 10 pairs")
    assert "all of train.{en,de}.gz is training" in corpus.split_note


def test_load_corpus_parallel_with_only_validation_splits_off_the_test_set(tmp_path):
    write_parallel(tmp_path / "train", numbered(1000, "en"), numbered(1000, "de"))
    write_parallel(tmp_path / "val", numbered(20, "en", 2000), numbered(20, "de", 2000))
    corpus = load_corpus(tmp_path / "train", source="en", target="de", validation=tmp_path / "val",
                         test_fraction=0.1)
    assert len(corpus.validation) == 20
    assert len(corpus.train) + len(corpus.test) == 1000 and 60 < len(corpus.test) < 140
    assert corpus.split_note.startswith("validation from val.{en,de}; test 10% of train.{en,de}")


def test_load_corpus_parallel_reverse_swaps_the_files(tmp_path):
    write_parallel(tmp_path / "train", numbered(100, "en"), numbered(100, "de"))
    write_parallel(tmp_path / "val", numbered(5, "en", 100), numbered(5, "de", 100))
    write(tmp_path / "test.txt", "en sentence 200\tde sentence 200\n")
    corpus = load_corpus(tmp_path / "train", source="en", target="de", reverse=True,
                         validation=tmp_path / "val", test=tmp_path / "test.txt")
    assert (corpus.source_language, corpus.target_language) == ("de", "en")
    assert corpus.train[0] == Pair("de sentence 0", "en sentence 0", "train.de:1")
    assert corpus.validation[0].source == "de sentence 100"
    assert corpus.test == [Pair("de sentence 200", "en sentence 200", "test.txt:1")]


def test_load_corpus_parallel_with_more_than_two_sides_needs_the_codes(tmp_path):
    write_parallel(tmp_path / "train", ["a"], ["b"])
    write(tmp_path / "train.fr", "c\n")
    with pytest.raises(SeqappsError, match=r"parallel files \(de, en, fr\)"):
        load_corpus(tmp_path / "train")
    with pytest.raises(SeqappsError, match=r"target language code too .*one of de, fr"):
        load_corpus(tmp_path / "train", source="en")


def test_load_corpus_names_what_it_tried_when_nothing_is_there(tmp_path):
    with pytest.raises(SeqappsError) as error:
        load_corpus(tmp_path / "nothing", source="en", target="de")
    message = str(error.value)
    for tried in ("nothing", "nothing.en", "nothing.en.gz"):
        assert str(tmp_path / tried) in message
    with pytest.raises(DataError, match="is a folder"):
        load_corpus(tmp_path)


def test_load_corpus_too_small_to_split_is_an_error(tmp_path):
    with pytest.raises(DataError, match="validation split is empty"):
        load_corpus(write(tmp_path / "spa.txt", "a\tb\nA\tB\nc\td\n"))


# --- the real corpora ---------------------------------------------------------------------


def test_real_spanish_anki_file(shared_data):
    corpus = load_corpus(shared_data / "translation" / "spa-eng" / "spa.txt.gz")
    splits = (corpus.train, corpus.validation, corpus.test)
    total = sum(map(len, splits))
    assert total + sum(corpus.dropped.values()) == 118_121
    assert (corpus.source_language, corpus.target_language) == ("en", "es")
    assert corpus.description.startswith("spa.txt.gz: ")
    assert abs(len(corpus.test) / total - 0.05) < 0.005
    assert abs(len(corpus.validation) / total - 0.05) < 0.005
    assert not sources(corpus.train) & sources(corpus.test)
    assert not sources(corpus.train) & sources(corpus.validation)
    first = next(pair for split in splits for pair in split if pair.origin == "spa.txt.gz:1")
    assert first == Pair("Go.", "Ve.", "spa.txt.gz:1")


def test_real_multi30k_official_splits(shared_data):
    folder = shared_data / "translation" / "multi30k"
    corpus = load_corpus(folder / "train", source="en", target="de", validation=folder / "val",
                         test=folder / "test_2016_flickr")
    assert (len(corpus.train), len(corpus.validation), len(corpus.test)) == (29_000, 1_014, 1_000)
    assert corpus.dropped == {}
    assert corpus.train[0].origin == "train.en.gz:1"
    assert corpus.train[0].target.startswith("Zwei junge weiße Männer")
