"""Caption words and ids, scores, and the nearest-neighbour baseline."""

import numpy as np

from apps.captioning.evaluate import consensus_caption, nearest_neighbour_captions, score
from apps.captioning.vocab import build_tokenizer, caption_words, encode_captions, words_from_ids
from shared.text import BOS_ID, EOS_ID, PAD_ID, UNK_ID


def test_caption_words_drop_punctuation_and_case():
    assert caption_words("A dog , running  through the GRASS .") == ["a", "dog", "running", "through", "the", "grass"]
    assert caption_words('a "big" dog\'s toy') == ["a", "big", "dog", "s", "toy"]


def test_encoded_captions_end_with_eos_unless_cut():
    tokenizer = build_tokenizer(["a red circle", "a red square", "a blue circle"], min_count=2, max_words=3)
    assert tokenizer.vocabulary.tokens[4:] == ["a", "circle", "red"]
    matrix = encode_captions(tokenizer, ["a red circle .", "a green circle", "a red circle above a red circle"])
    a, circle, red = (tokenizer.vocabulary.id(word) for word in ("a", "circle", "red"))
    assert matrix.tolist() == [[BOS_ID, a, red, circle, EOS_ID],
                               [BOS_ID, a, UNK_ID, circle, EOS_ID],
                               [BOS_ID, a, red, circle, PAD_ID]]


def test_words_from_ids_stop_at_eos_and_drop_special_tokens():
    tokenizer = build_tokenizer(["x y z"], min_count=1)
    x, y = tokenizer.vocabulary.id("x"), tokenizer.vocabulary.id("y")
    assert words_from_ids(tokenizer, [x, UNK_ID, y, EOS_ID, x, PAD_ID]) == ["x", "y"]
    assert words_from_ids(tokenizer, [x, x]) == ["x", "x"]


def test_score_counts_exact_matches_against_any_reference():
    references = [[["a", "b", "c", "d"], ["a", "b", "c", "e"]], [["x", "y", "z", "w"]]]
    result = score([["a", "b", "c", "e"], ["x", "y", "z", "q"]], references)
    assert result["exact_match"] == 0.5
    assert result["bleu_1"] == 7 / 8 and result["mean_length"] == 4.0
    perfect = score([["a", "b", "c", "d"], ["x", "y", "z", "w"]], references)
    assert perfect["bleu_4"] == 1.0 and perfect["exact_match"] == 1.0


def test_consensus_caption_is_the_one_the_others_agree_with():
    references = [["a", "cat", "sits", "on", "a", "mat"], ["a", "dog", "sits", "on", "a", "mat"],
                  ["a", "dog", "sits", "on", "the", "mat"], ["two", "birds", "fly"]]
    assert consensus_caption(references) == ["a", "dog", "sits", "on", "a", "mat"]
    assert consensus_caption([["only", "one"]]) == ["only", "one"]


def test_nearest_neighbour_takes_the_most_similar_training_image():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(5, 4, 8)).astype(np.float32)
    references = [[[f"image{i}", "caption"]] for i in range(5)]
    test = train[[3, 1]] * 2.0 + rng.normal(scale=0.01, size=(2, 4, 8)).astype(np.float32)
    captions, nearest = nearest_neighbour_captions(train, references, test)
    assert nearest.tolist() == [3, 1]
    assert captions == [["image3", "caption"], ["image1", "caption"]]
