"""Parallel corpora as they are distributed, read through ``load_corpus`` (what ``--data`` uses).

The fixtures are written here from each format's description: an OPUS Moses download
(``X.de-en.de``, ``X.de-en.en``, ``X.de-en.ids``), a manythings.org Anki file with its
attribution column, and a TMX 1.4 memory. Each is detected without a flag, the log names
the layout, and a defect is reported at ``file:line``.
"""

import pytest

from apps.translation.data import Pair, load_corpus
from shared.errors import DataError, SeqappsError
from tests.datafiles import raises_at, write

ENGLISH = [f"The {animal} sleeps number {n}." for n in range(6) for animal in ("cat", "dog")]
GERMAN = [f"Die {animal} schläft Nummer {n}." for n in range(6) for animal in ("Katze", "Hund")]


def loaded(data, **options):
    """``(corpus, logged lines)`` of ``load_corpus`` with its log captured."""
    logged = []
    return load_corpus(data, log=logged.append, **options), logged


def every_pair(corpus):
    return corpus.train + corpus.validation + corpus.test


def opus_moses(folder, english=ENGLISH, german=GERMAN, gz=False):
    """An unpacked OPUS Moses zip: both sides, the sentence ids, README and LICENSE."""
    name, suffix = "OpenSubtitles.de-en", ".gz" if gz else ""
    write(folder / f"{name}.en{suffix}", "".join(f"{line}\n" for line in english), gz=gz)
    write(folder / f"{name}.de{suffix}", "".join(f"{line}\n" for line in german), gz=gz)
    write(folder / f"{name}.ids", "".join(f"en/1.xml\tde/1.xml\t{n}\t{n}\n" for n in range(len(english))))
    write(folder / "README", "OPUS corpus\n")
    write(folder / "LICENSE", "CC-BY\n")
    return folder / name


# --- Moses / OPUS line-aligned files ----------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
def test_moses_files_read_from_either_side_without_flags(tmp_path, gz):
    prefix = opus_moses(tmp_path, gz=gz)
    suffix = ".gz" if gz else ""
    corpus, logged = loaded(f"{prefix}.en{suffix}")
    assert (corpus.source_language, corpus.target_language) == ("en", "de")
    assert Pair(ENGLISH[0], GERMAN[0], f"OpenSubtitles.de-en.en{suffix}:1") in every_pair(corpus)
    label = f"OpenSubtitles.de-en.{{en,de}}{suffix}"
    assert logged[0] == f"{tmp_path / label}: read as line-aligned parallel files (Moses/OPUS layout), en -> de"
    german_first, _ = loaded(f"{prefix}.de{suffix}")
    assert (german_first.source_language, german_first.target_language) == ("de", "en")


def test_moses_prefix_reads_english_first_and_reverse_turns_it_round(tmp_path):
    prefix = opus_moses(tmp_path)
    corpus, _ = loaded(prefix)
    assert (corpus.source_language, corpus.target_language) == ("en", "de")
    backwards, _ = loaded(prefix, reverse=True)
    assert (backwards.source_language, backwards.target_language) == ("de", "en")
    assert Pair(GERMAN[3], ENGLISH[3], "OpenSubtitles.de-en.de:4") in every_pair(backwards)


def test_a_carriage_return_inside_a_sentence_does_not_shift_the_lines(tmp_path):
    english = ["A broken\rline."] + ENGLISH[1:]
    prefix = opus_moses(tmp_path, english=english)
    write(tmp_path / "OpenSubtitles.de-en.de", "".join(f"{line}\r\n" for line in GERMAN))  # Windows line ends
    corpus, _ = loaded(prefix)
    pairs = {pair.source: pair.target for pair in every_pair(corpus)}
    assert pairs["A broken\rline."] == GERMAN[0] and pairs[ENGLISH[-1]] == GERMAN[-1]


def test_moses_files_of_different_lengths_name_both_files_and_counts(tmp_path):
    prefix = opus_moses(tmp_path, german=GERMAN[:-1])
    with pytest.raises(DataError) as caught:
        load_corpus(prefix, log=None)
    assert str(caught.value).startswith(f"{prefix}.en: 12 lines, but the other side {prefix}.de has 11:")


def test_one_side_without_its_partner_is_named_at_its_first_line(tmp_path):
    path = write(tmp_path / "corpus.en", "".join(f"{line}\n" for line in ENGLISH))
    with raises_at(path, 1) as caught:
        load_corpus(path, log=None)
    assert "must sit beside it as corpus.<language>" in str(caught.value)


# --- Anki / Tatoeba ---------------------------------------------------------------------------


def anki(rows):
    credit = "CC-BY 2.0 (France) Attribution: tatoeba.org #{} (CK) & #{} (Pfirsichbaeumchen)"
    return "".join(f"{en}\t{de}\t{credit.format(100 + n, 900 + n)}\n" for n, (en, de) in enumerate(rows))


def test_anki_file_ignores_the_attribution_column(tmp_path):
    path = write(tmp_path / "deu-eng" / "deu.txt", anki(zip(ENGLISH, GERMAN)))
    corpus, logged = loaded(path)
    assert (corpus.source_language, corpus.target_language) == ("en", "de")
    assert Pair(ENGLISH[1], GERMAN[1], "deu.txt:2") in every_pair(corpus)
    assert logged[0] == f"{path}: read as a tab-separated pairs file (Anki/Tatoeba layout; columns after the " \
                        "second ignored)"


def test_anki_line_without_a_tab_is_named(tmp_path):
    path = write(tmp_path / "deu.txt", anki(zip(ENGLISH[:3], GERMAN[:3])) + "Hi. Hallo.\n" + anki([("Go.", "Geh.")]))
    with raises_at(path, 4) as caught:
        load_corpus(path, log=None)
    assert "expected 'source<TAB>target', found no tab" in str(caught.value)


# --- TMX --------------------------------------------------------------------------------------


def tmx(units, srclang="en"):
    """A TMX 1.4 document, one ``<tu>`` per dict of language -> segment XML, one element a line."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<tmx version="1.4">',
             f'<header creationtool="seqapps-test" segtype="sentence" o-tmf="none" adminlang="en" srclang="{srclang}" '
             'datatype="plaintext"/>', "<body>"]
    for unit in units:
        lines.append("<tu>")
        lines.extend(f'  <tuv xml:lang="{language}"><seg>{segment}</seg></tuv>' for language, segment in unit.items())
        lines.append("</tu>")
    return "\n".join(lines + ["</body>", "</tmx>", ""])


def escaped(text):
    return text.replace("&", "&amp;").replace("<", "&lt;")


def test_tmx_memory_with_inline_codes(tmp_path):
    units = [{"en-GB": escaped(en), "de-DE": escaped(de)} for en, de in zip(ENGLISH, GERMAN)]
    units[0] = {"en-GB": 'Press <bpt i="1">&lt;b&gt;</bpt>Save<ept i="1">&lt;/b&gt;</ept> <hi>now</hi>.',
                "de-DE": 'Jetzt <ph x="1"/>speichern &amp; schließen.'}
    units.append({"en-GB": "Only English here."})  # a unit without its translation
    path = write(tmp_path / "memory.tmx.gz", tmx(units, srclang="de-DE"), gz=True)
    corpus, logged = loaded(path)
    assert (corpus.source_language, corpus.target_language) == ("en-gb", "de-de")
    assert Pair("Press Save now.", "Jetzt speichern & schließen.", "memory.tmx.gz:5") in every_pair(corpus)
    assert corpus.dropped == {"empty side": 1}
    assert logged == [f"{path}: read as a TMX translation memory, en-gb -> de-de"]
    chosen, _ = loaded(path, source="de", target="en")
    assert (chosen.source_language, chosen.target_language) == ("de-de", "en-gb")


def test_tmx_is_recognised_by_its_content_whatever_its_name(tmp_path):
    units = [{"fr": escaped(en), "es": escaped(de)} for en, de in zip(ENGLISH, GERMAN)]
    path = write(tmp_path / "download.txt", tmx(units, srclang="es"))
    corpus, _ = loaded(path)
    assert (corpus.source_language, corpus.target_language) == ("es", "fr")


def test_tmx_with_three_languages_needs_the_codes(tmp_path):
    path = write(tmp_path / "memory.tmx", tmx([{"en": f"a{n}", "de": f"b{n}", "fr": f"c{n}"} for n in range(12)]))
    with pytest.raises(SeqappsError, match="3 language"):
        load_corpus(path, log=None)
    assert len(every_pair(load_corpus(path, source="fr", target="de", log=None))) == 12


def test_malformed_tmx_is_named_at_its_line(tmp_path):
    text = tmx([{"en": escaped(en), "de": escaped(de)} for en, de in zip(ENGLISH, GERMAN)])
    broken = text.replace("<seg>The dog sleeps number 0.</seg>", "<seg>Fish & chips</seg>")
    path = write(tmp_path / "memory.tmx", broken)
    with raises_at(path, 10) as caught:  # 4 lines of preamble, then 4 per unit: the second unit's English
        load_corpus(path, log=None)
    assert "not well-formed TMX" in str(caught.value)


# --- the real corpus --------------------------------------------------------------------------


def test_real_multi30k_read_from_its_english_file(shared_data):
    folder = shared_data / "translation" / "multi30k"
    corpus, logged = loaded(folder / "train.en.gz", validation=folder / "val", test=folder / "test_2016_flickr")
    assert (corpus.source_language, corpus.target_language) == ("en", "de")
    assert (len(corpus.train), len(corpus.validation), len(corpus.test)) == (29_000, 1_014, 1_000)
    layout = "read as line-aligned parallel files (Moses/OPUS layout), en -> de"
    assert logged[0] == f"{folder / 'train.{en,de}.gz'}: {layout}"
