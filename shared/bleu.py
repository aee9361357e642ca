"""BLEU (Papineni et al., 2002) on token lists, for the captioning and translation apps.

The apps already tokenise with ``shared/text.py``, so this module never splits or normalises
text: it counts n-grams of whatever tokens it is given (strings or ids) and reports numbers.
Scores follow sacrebleu's corpus BLEU with ``tokenize="none"`` and no smoothing, which the
tests check to 1e-9, so that our numbers can be compared with published ones:

- A hypothesis n-gram counts as matched at most as many times as it occurs in any *one*
  reference of its segment ("clipping"); matches and n-gram totals are summed over the
  whole corpus before dividing, so long segments weigh more than short ones.
- The brevity penalty compares the hypothesis length with the sum, over segments, of the
  reference length *closest* to each hypothesis (the shorter one on ties), as sacrebleu
  and mteval do, rather than the shortest or the average reference.
- BLEU-n is the cumulative score papers report as BLEU-1..4: the brevity penalty times the
  geometric mean of the precisions of orders 1..n, on a 0..1 scale (sacrebleu prints 0..100).

Only the standard library is imported, so evaluation scripts need no TensorFlow.
"""

import collections
import math


def corpus_bleu(hypotheses, references, *, max_order=4):
    """Corpus BLEU-1..``max_order`` of tokenised hypotheses against their references.

    ``hypotheses`` holds one token list per segment and ``references`` one list of token lists
    per segment (one or more references, not necessarily as many for every segment).

    There is no smoothing: if no hypothesis n-gram of order k matches anywhere in the corpus,
    BLEU-k and every higher order are 0, while the lower orders keep their values. That is
    the standard corpus definition; use ``sentence_bleu`` to score single segments.

    Returns a dict with ``bleu_1`` .. ``bleu_{max_order}``, ``precisions`` (one per order),
    ``brevity_penalty``, ``hypothesis_length`` and ``reference_length`` (token counts).
    """
    _check_max_order(max_order)
    _check_corpus(hypotheses, references)
    segments = [_segment_statistics(h, r, max_order) for h, r in zip(hypotheses, references)]
    return _corpus_scores(segments, max_order)


def _corpus_scores(segments, max_order):
    """Corpus BLEU from per-segment statistics: sums first, then precisions and the penalty."""
    matches, totals = [0] * max_order, [0] * max_order
    hypothesis_length = reference_length = 0
    for segment in segments:
        matches = [a + b for a, b in zip(matches, segment["matches"])]
        totals = [a + b for a, b in zip(totals, segment["totals"])]
        hypothesis_length += segment["hypothesis_length"]
        reference_length += segment["reference_length"]
    precisions = [_precision(m, t) for m, t in zip(matches, totals)]
    penalty = _brevity_penalty(hypothesis_length, reference_length)
    scores = {f"bleu_{n}": _cumulative_bleu(precisions[:n], penalty) for n in range(1, max_order + 1)}
    scores.update(precisions=precisions, brevity_penalty=penalty,
                  hypothesis_length=hypothesis_length, reference_length=reference_length)
    return scores


def paired_bootstrap(hypotheses_a, hypotheses_b, references, *, max_order=4, samples=1000, seed=0):
    """How sure is "A scores higher than B"? Paired bootstrap resampling (Koehn, 2004).

    Test sets of the same size are drawn with replacement from the segments, both systems
    are scored on each draw, and the share of draws that A wins is reported with the 95%
    interval of the BLEU-``max_order`` difference (A - B). On a hundred captions a BLEU-4
    lead of a few thousandths is within this noise; the interval says so.
    """
    import random

    _check_max_order(max_order)
    _check_corpus(hypotheses_a, references)
    _check_corpus(hypotheses_b, references)
    key = f"bleu_{max_order}"
    a = [_segment_statistics(h, r, max_order) for h, r in zip(hypotheses_a, references)]
    b = [_segment_statistics(h, r, max_order) for h, r in zip(hypotheses_b, references)]
    rng = random.Random(seed)
    differences = []
    for _ in range(samples):
        drawn = [rng.randrange(len(a)) for _ in a]
        differences.append(_corpus_scores([a[i] for i in drawn], max_order)[key]
                           - _corpus_scores([b[i] for i in drawn], max_order)[key])
    differences.sort()
    return {"difference": _corpus_scores(a, max_order)[key] - _corpus_scores(b, max_order)[key],
            "a_wins": sum(d > 0 for d in differences) / samples,
            "ci95": [differences[int(0.025 * samples)], differences[int(0.975 * samples) - 1]],
            "samples": samples, "metric": key}


def sentence_bleu(hypothesis, references, *, max_order=4, smooth=1.0):
    """Smoothed BLEU-``max_order`` of one hypothesis, e.g. to rank candidate captions.

    Without smoothing, almost every short sentence that misses a single 4-gram would score
    exactly 0 and could not be ranked. Following Lin & Och (2004), ``smooth`` is added to
    both the matched and the total n-gram counts of orders 2 and up (unigrams stay exact, so
    a hypothesis sharing no word with the references still scores 0). ``smooth=0`` gives the
    unsmoothed score. This is sacrebleu's ``smooth_method="add-k"``.
    """
    _check_max_order(max_order)
    if smooth < 0:
        raise ValueError(f"smooth must be >= 0, not {smooth}")
    _check_segment(hypothesis, references, "the hypothesis", "references")
    segment = _segment_statistics(hypothesis, references, max_order)
    precisions = [_precision(m, t, smooth=smooth if order > 1 else 0)
                  for order, (m, t) in enumerate(zip(segment["matches"], segment["totals"]), start=1)]
    penalty = _brevity_penalty(segment["hypothesis_length"], segment["reference_length"])
    return _cumulative_bleu(precisions, penalty)


def format_bleu(scores):
    """One log line, ``BLEU-1 0.612  BLEU-2 0.421 ...``, for every ``bleu_n`` in ``scores``."""
    orders = sorted(int(key[len("bleu_"):]) for key in scores if key.startswith("bleu_"))
    return "  ".join(f"BLEU-{n} {scores[f'bleu_{n}']:.3f}" for n in orders)


def _brevity_penalty(hypothesis_length, reference_length):
    """exp(1 - r/c) when the hypotheses are shorter, since precision alone rewards saying little.

    Empty hypotheses against empty references (c = r = 0) are not short, so the penalty is 1
    there, as in sacrebleu; their BLEU is 0 all the same, having no n-grams to be precise about.
    """
    if hypothesis_length >= reference_length:
        return 1.0
    if hypothesis_length == 0:
        return 0.0
    return math.exp(1 - reference_length / hypothesis_length)


def _closest_reference_length(hypothesis_length, reference_lengths):
    """The reference length nearest the hypothesis; the shorter one on ties, as sacrebleu does."""
    return min(reference_lengths, key=lambda length: (abs(length - hypothesis_length), length))


def _segment_statistics(hypothesis, references, max_order):
    """Clipped matches and totals per order, and the two lengths, for one segment."""
    hypothesis_counts = _ngram_counts(hypothesis, max_order)
    reference_counts = _max_reference_counts(references, max_order)
    matches, totals = [0] * max_order, [0] * max_order
    for ngram, count in hypothesis_counts.items():
        totals[len(ngram) - 1] += count
        matches[len(ngram) - 1] += min(count, reference_counts[ngram])
    hypothesis_length = len(hypothesis)
    return {
        "matches": matches,
        "totals": totals,
        "hypothesis_length": hypothesis_length,
        "reference_length": _closest_reference_length(hypothesis_length, [len(r) for r in references]),
    }


def _ngram_counts(tokens, max_order):
    """How often each n-gram (a tuple of tokens) of orders 1..max_order occurs."""
    tokens = tuple(tokens)
    return collections.Counter(tokens[start:start + order]
                               for order in range(1, max_order + 1)
                               for start in range(len(tokens) - order + 1))


def _max_reference_counts(references, max_order):
    """Each n-gram's largest count in any single reference: the ceiling that clipping applies.

    Taking the maximum rather than the sum keeps a hypothesis from earning one "the" for
    every reference that contains one.
    """
    ceilings = collections.Counter()
    for reference in references:
        ceilings |= _ngram_counts(reference, max_order)
    return ceilings


def _precision(matches, total, smooth=0):
    """Matched over total n-grams; 0 when the hypotheses have no n-gram of this order at all."""
    total += smooth
    return (matches + smooth) / total if total else 0.0


def _cumulative_bleu(precisions, penalty):
    """Brevity penalty times the geometric mean of the precisions; 0 if any precision is 0."""
    if min(precisions) == 0:
        return 0.0
    return penalty * math.exp(sum(math.log(p) for p in precisions) / len(precisions))


def _check_max_order(max_order):
    if not isinstance(max_order, int) or max_order < 1:
        raise ValueError(f"max_order must be a positive integer, not {max_order!r}")


def _check_corpus(hypotheses, references):
    """Fail loudly on the shape mistakes that would otherwise give a plausible wrong score."""
    if len(hypotheses) != len(references):
        raise ValueError(f"got {len(hypotheses)} hypotheses but references for {len(references)} segments; "
                         "each hypothesis needs its own list of references")
    for index, (hypothesis, segment_references) in enumerate(zip(hypotheses, references)):
        _check_segment(hypothesis, segment_references, f"hypotheses[{index}]", f"references[{index}]")


def _check_segment(hypothesis, references, hypothesis_name, references_name):
    """A string would silently be scored character by character, hence the type checks."""
    if not _is_token_list(hypothesis):
        raise ValueError(f"{hypothesis_name} is a {type(hypothesis).__name__}; pass a list of tokens")
    if isinstance(references, str) or not all(_is_token_list(reference) for reference in references):
        raise ValueError(f"{references_name} must be a list of token lists (one per reference), "
                         "not a string or a single token list; wrap a lone reference as [tokens]")
    if len(references) == 0:
        raise ValueError(f"{references_name} is empty; every segment needs at least one reference")


def _is_token_list(value):
    return not isinstance(value, str) and hasattr(value, "__len__")
