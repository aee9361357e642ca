"""Serving inputs: the public predict commands never crash on odd text.

Every text app's exported model, through every public predict command (``python -m
apps.<app>.predict --runtime savedmodel|onnx`` and ``node clients/node/cli.js <app>``),
must take empty strings, whitespace-only strings (Unicode spaces too), very long strings
(thousands of tokens, 100,000 characters) and arbitrary Unicode (control characters,
combining marks, emoji, right-to-left text, lone format characters, noncharacters) and
answer with exactly one sane JSON row per input, in order; on the fixed worst cases the
three runtimes must give the same rows (labels, tokens, tags, ids exactly; probabilities and
scores within 1e-4). The captioning command must refuse files that are not images it can
read with one clean line (exit 2), not a crash.

Starting a predict process costs seconds (importing TensorFlow), so each hypothesis
example is a *list* of inputs sent to one process on standard input, one per line (so no
input holds "\\n" or "\\r" there), and each command sees only a few examples; the fixed
worst cases run every time, and a few inputs (newlines included) go in as arguments. The
fixed cases run every runtime in one test per app, so their rows can be compared.
"""

import json
import math

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.clients.node.client import assert_rows_match
from tests.commands import run

# (app, extra predict arguments): the text apps and NER's second signature (tag_tokens).
MODES = {
    "sentiment": ("sentiment", ()),
    "ner": ("ner", ()),
    "ner-pretokenized": ("ner", ("--pretokenized",)),
    "translation": ("translation", ()),
}
RUNTIMES = ("savedmodel", "onnx", "node")
# A SavedModel process takes ~10 s to start; onnxruntime and Node about 2 s.
EXAMPLES = {"savedmodel": 3, "onnx": 5, "node": 5}

# Characters that break tokenizers and encoders. Python's str.split() (--pretokenized)
# splits on all of SPACES; the suite's tokenizer treats Zs/Zl/Zp/Cc as spaces and drops Cf.
SPACES = [" ", "\t", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\xa0", "\u1680",
          *map(chr, range(0x2000, 0x200B)), "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"]
ODD = [
    "\x00", "\x01", "\x1b", "\x7f", "\x9f",                          # control characters (Cc)
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad",      # zero-width, BOM, soft hyphen (Cf)
    "\u202e", "\u202d", "\u2066", "\u2069", "\u061c", "\U000e0001",  # bidi controls, language tag (Cf)
    "\u0301", "\u0300\u0327", "\u20dd", "\u0e31",                     # combining marks without a base
    "😀", "👩‍👩‍👧", "🇩🇪", "👍🏽", "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",
    "مرحبا بالعالم", "שָׁלוֹם", "‏abc‎", "١٢٣",                        # right-to-left, Arabic digits
    "ﷺ", "ﬃ", "Ǆ", "İ", "ß", "ΣΑΣ", "㍿", "①", "Ⅻ", "ｆｕｌｌ",          # NFKC expansions, case oddities
    "\ufffd", "\uffff", "\ufdd0", "\U0010ffff", "\U000f0000", "\ue000", "\u0378",  # replacement, nonchar, private, unassigned
    "<br />", "<BR/>", "'", "-", "...", '"', "&amp;", "\\", "{}", "%s", "%%",
    "中文字符", "日本語のテキスト", "한국어", "ไทย", "देवनागरी", "a\u0308\u0308\u0308\u0308\u0308",
]
WORDS = ["the", "film", "was", "great", "Paris", "Angela", "Merkel", "where", "is", "station", "Siemens",
         "New", "York", "U.S.", "don't", "2024", "3.14"]

# Any code point UTF-8 can carry (no surrogates) except the line separators of stdin.
ANY_CHAR = st.characters(codec="utf-8", exclude_characters="\n\r")
whitespace_only = st.text(st.sampled_from(SPACES), min_size=1, max_size=12)
fragment = st.one_of(st.text(ANY_CHAR, max_size=12), st.sampled_from(ODD), st.sampled_from(WORDS),
                     st.sampled_from(SPACES))
mixed = st.lists(fragment, max_size=14).map("".join)
short_input = st.one_of(st.just(""), whitespace_only, mixed, st.text(ANY_CHAR, max_size=40))


@st.composite
def long_input(draw):
    """Thousands of tokens, or 100,000 characters in a few very long tokens."""
    if draw(st.booleans()):
        words = draw(st.lists(st.one_of(st.sampled_from(WORDS), st.sampled_from(ODD)), min_size=1, max_size=8))
        count = draw(st.integers(1000, 3000))
        return " ".join(words[i % len(words)] for i in range(count))
    piece = draw(st.text(ANY_CHAR, min_size=1, max_size=20).filter(lambda s: s.strip()))
    text = (piece * (100_000 // len(piece) + 1))[:100_000]
    return draw(st.sampled_from([text, "x" * 100_000, " " * 50_000 + text[:50_000]]))


@st.composite
def input_lists(draw):
    """One example: up to a dozen short inputs, and sometimes one very long one among them."""
    inputs = draw(st.lists(short_input, min_size=1, max_size=12))
    if draw(st.booleans()):
        inputs.insert(draw(st.integers(0, len(inputs))), draw(long_input()))
    return inputs


# The worst cases, every run.
HARD_INPUTS = [
    "", " ", "\t", "   \t  ", "\u3000\xa0\u2028\u2029\x85\x1c\x0b\x0c", "\u200b", "\ufeff", "\u200b\u200d\u2060\ufeff",
    "\u202e", "\U000e0001", "\u0301", "\u0301\u0301\u0301", "\x00", "a\x00", "\x00 b \x00", "\x1b[31mred\x1b[0m",
    "😀", "👩‍👩‍👧 🇩🇪 👍🏽", "مرحبا بالعالم", "שָׁלוֹם עולם", "ﷺ ﬃ ㍿", "\uffff \ufdd0 \U0010ffff \ue000 \u0378",
    "<br />", "Angela Merkel visited Paris.", "a" * 100_000, "word " * 3000, "ab. " * 1000,
    "".join(ODD) * 20, "x", "",
]
# Arguments can hold newlines (stdin lines cannot) but not NUL; they follow "--" so that
# inputs starting with "-" are inputs.
ARGV_INPUTS = ["", " ", "first line\nsecond line", "\r\n", "-x", "--json", "tab\tand\vform\ffeed", "\u2028 😀 ﷺ"]


# --- running the public predict commands -----------------------------------------------


@pytest.fixture(scope="module")
def exports(demo_exports):
    """app -> its demo export root, trained once per session."""
    return {app: demo_exports(app)[0] / "exported" for app in ("sentiment", "ner", "translation")}


def predict_command(runtime, app, extra, export_dir, node_client=None):
    """``command(inputs, as_arguments=False) -> CompletedProcess`` for one public predict command."""
    options = ["--export-dir", str(export_dir), "--json", *extra]

    def command(inputs, as_arguments=False):
        stdin = None if as_arguments else "".join(text + "\n" for text in inputs)
        arguments = ["--", *inputs] if as_arguments else []
        if runtime == "node":
            return node_client.run(app, *options, *arguments, stdin=stdin)
        return run(f"apps.{app}.predict", "--runtime", runtime, *options, *arguments, stdin=stdin)
    return command


def rows_of(result):
    """The JSON rows a command printed, one per "\\n"-ended line (str.splitlines would also
    split on U+2028, U+0085 and other characters JSON leaves unescaped)."""
    assert result.returncode == 0, f"exit {result.returncode}:\n{result.stderr[-3000:]}"
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.stdout.endswith("\n") or not result.stdout
    return [json.loads(line) for line in result.stdout[:-1].split("\n")] if result.stdout else []


class Checker:
    """What every row of one app must look like, given its export."""

    def __init__(self, mode, export_dir):
        self.app, extra = MODES[mode]
        self.pretokenized = "--pretokenized" in extra
        manifest = json.loads((export_dir / self.app / "manifest.json").read_text(encoding="utf-8"))
        files = manifest["files"]
        if self.app in ("sentiment", "ner"):
            self.labels = json.loads((export_dir / self.app / files["labels.json"]).read_text(encoding="utf-8"))
        if self.app == "translation":
            decoding = json.loads((export_dir / self.app / files["decoding.json"]).read_text(encoding="utf-8"))
            self.max_length = decoding["max_length"]

    def __call__(self, inputs, rows):
        assert len(rows) == len(inputs), f"{len(inputs)} inputs, {len(rows)} rows"
        for index, (text, row) in enumerate(zip(inputs, rows)):
            assert row["text"] == text, f"row {index} is not input {index}"
            getattr(self, self.app)(text, row)

    def sentiment(self, text, row):
        probabilities = row["probabilities"]
        assert list(probabilities) == self.labels["labels"]
        assert all(0.0 <= p <= 1.0 and math.isfinite(p) for p in probabilities.values()), probabilities
        assert abs(sum(probabilities.values()) - 1.0) <= 1e-4, probabilities
        assert row["label"] in probabilities and row["probability"] == max(probabilities.values())
        assert probabilities[row["label"]] == row["probability"]

    def ner(self, text, row):
        tokens, tags = row["tokens"], row["tags"]
        assert len(tags) == len(tokens)
        assert set(tags) <= set(self.labels["labels"]), set(tags) - set(self.labels["labels"])
        if self.pretokenized:
            assert tokens == text.split()
        else:
            assert all(isinstance(token, str) and token and not any(c.isspace() for c in token) for token in tokens)
            if not text.strip():
                assert tokens == [], tokens  # whitespace-only text has no tokens
        for entity in row["entities"]:
            assert 0 <= entity["start"] < entity["end"] <= len(tokens), entity
            assert entity["text"] == " ".join(tokens[entity["start"]:entity["end"]]), entity
            assert entity["type"] and tags[entity["start"]] != "O", (entity, tags)

    def translation(self, text, row):
        assert isinstance(row["translation"], str)
        assert len(row["token_ids"]) == self.max_length and all(isinstance(i, int) for i in row["token_ids"])
        assert isinstance(row["score"], (int, float)) and math.isfinite(row["score"])


def command_and_checker(mode, runtime, exports, request):
    app, extra = MODES[mode]
    node_client = request.getfixturevalue("node_client") if runtime == "node" else None
    return predict_command(runtime, app, extra, exports[app], node_client), Checker(mode, exports[app])


# --- the tests ----------------------------------------------------------------------------


def rows_in_every_runtime(mode, exports, request, inputs, as_arguments=False):
    """``{runtime: rows}`` for ``inputs`` through every public predict command, each row checked
    for sanity; SavedModel and ONNX first, so a missing Node.js skips only the last."""
    rows = {}
    for runtime in RUNTIMES:
        command, check = command_and_checker(mode, runtime, exports, request)
        rows[runtime] = rows_of(command(inputs, as_arguments=as_arguments))
        check(inputs, rows[runtime])
    return rows


def assert_runtimes_agree(rows):
    """Equal rows from every runtime: strings, ints and lists exactly, floats within 1e-4."""
    assert_rows_match(rows["onnx"], rows["savedmodel"])
    assert_rows_match(rows["node"], rows["savedmodel"])


@pytest.mark.parametrize("mode", MODES)
def test_worst_case_inputs_from_stdin_give_the_same_sane_rows_in_every_runtime(mode, exports, request):
    assert_runtimes_agree(rows_in_every_runtime(mode, exports, request, HARD_INPUTS))


@pytest.mark.parametrize("mode", MODES)
def test_argument_inputs_may_hold_newlines_and_start_with_dashes(mode, exports, request):
    assert_runtimes_agree(rows_in_every_runtime(mode, exports, request, ARGV_INPUTS, as_arguments=True))


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("mode", MODES)
def test_generated_inputs_give_one_sane_row_each(mode, runtime, exports, request):
    command, check = command_and_checker(mode, runtime, exports, request)

    # no shrinking: every step would start another process; the failing list is printed whole
    @settings(max_examples=EXAMPLES[runtime], deadline=None, phases=(Phase.explicit, Phase.reuse, Phase.generate),
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(inputs=input_lists())
    def property(inputs):
        check(inputs, rows_of(command(inputs)))

    property()


# --- captioning: files that are not images ----------------------------------------------


def not_images(folder):
    """Files a user might pass by mistake, each of which must be refused cleanly."""
    import io

    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(png, format="PNG")
    jpeg = io.BytesIO()
    Image.new("RGB", (64, 64), (30, 30, 200)).save(jpeg, format="JPEG")
    tiff = io.BytesIO()
    Image.new("RGB", (8, 8), (30, 200, 30)).save(tiff, format="TIFF")
    files = {
        "empty.jpg": b"",
        "text.png": "a caption, not an image\n".encode(),
        "random.jpg": bytes(range(256)) * 8,
        "png-signature-only.png": png.getvalue()[:8],
        "truncated.png": png.getvalue()[:40],
        "truncated.jpg": jpeg.getvalue()[:200],
        "unicode-text.gif": "GIF89a 😀 ﷺ \u202e".encode(),
        # Pillow opens these but the SavedModel's decoder does not
        "image.tiff": tiff.getvalue(),
        "corrupt.jpg": jpeg.getvalue()[:len(jpeg.getvalue()) // 2] + bytes(200) + jpeg.getvalue()[-2:],
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return [folder / name for name in files]


@pytest.fixture(scope="module")
def captioning_export(demo_exports):
    return demo_exports("captioning")[0] / "exported"


@pytest.fixture(scope="module")
def caption_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("not-images")
    good = folder / "good.png"
    from PIL import Image

    Image.new("RGB", (32, 32), (10, 120, 10)).save(good)
    return folder, not_images(folder), good


def assert_clean_refusal(result, path):
    assert result.returncode == 2, f"exit {result.returncode} for {path.name}:\n{result.stderr[-3000:]}"
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and path.name in lines[-1], result.stderr[-3000:]
    assert not [line for line in lines if line.startswith(("error", "Error"))][:-1], result.stderr[-3000:]
    assert result.stdout == ""


def test_captioning_refuses_each_file_that_is_not_an_image_in_one_line(captioning_export, caption_folder):
    _, bad_files, good = caption_folder
    for path in bad_files:
        # a good image first: the bad one must be named before any caption is printed
        result = run("apps.captioning.predict", "--export-dir", str(captioning_export), "--json", str(good), str(path))
        assert_clean_refusal(result, path)


def test_captioning_refuses_a_bad_file_on_stdin_among_good_ones(captioning_export, caption_folder):
    _, bad_files, good = caption_folder
    empty = bad_files[0]
    result = run("apps.captioning.predict", "--export-dir", str(captioning_export), "--json",
                 stdin=f"{good}\n\n   \n{empty}\n{good}\n")
    assert_clean_refusal(result, empty)
