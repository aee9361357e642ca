// Greedy and beam search over an ONNX decoder-step model: the JavaScript twin of the NumPy
// loop in shared/decoding.py, with the same float32 arithmetic and tie-breaking, so a
// caption or translation decoded here has the same tokens as Python's and the SavedModel's:
// - scores are float32 sums of float32 log-probabilities (Math.fround after every add);
// - greedy takes the first index among equal maxima;
// - beam search ranks a batch item's K * V candidates by score, lower flat index first on ties;
// - the length penalty divides by float32(length ** lengthPenalty).

import { BOS_ID, EOS_ID, PAD_ID } from "./tokenizer.js";

export const NEG_INF = -1e9;
const f32 = Math.fround;

function rowSize(tensor) {
  return tensor.dims.slice(1).reduce((a, b) => a * b, 1);
}

/** Rows ``rows`` of every state tensor, in that order (beam reordering and repetition). */
export function gatherRows(state, rows) {
  const out = {};
  for (const [name, tensor] of Object.entries(state)) {
    const size = rowSize(tensor);
    const data = new tensor.data.constructor(rows.length * size);
    rows.forEach((row, index) => data.set(tensor.data.subarray(row * size, (row + 1) * size), index * size));
    out[name] = { type: tensor.type, data, dims: [rows.length, ...tensor.dims.slice(1)] };
  }
  return out;
}

function batchSize(state) {
  const sizes = Object.values(state).map((tensor) => tensor.dims[0]);
  if (sizes.length === 0) throw new Error("the state must hold at least one tensor");
  if (new Set(sizes).size > 1) throw new Error(`the state entries disagree on the batch size: ${sizes}`);
  return sizes[0];
}

function checkPositiveInt(name, value) {
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be an integer >= 1, got ${value}`);
  return value;
}

/** ``step(tokens: Int32Array, state) -> {logProbs: Float32Array [N*V], vocab, state}``. */
export async function greedyDecode(step, state, { maxLength }) {
  checkPositiveInt("maxLength", maxLength);
  const batch = batchSize(state);
  let previous = new Int32Array(batch).fill(BOS_ID);
  const finished = new Array(batch).fill(false);
  const scores = new Float32Array(batch);
  const tokens = Array.from({ length: batch }, () => new Array(maxLength).fill(PAD_ID));
  for (let t = 0; t < maxLength && !finished.every(Boolean); t++) {
    const out = await step(previous, state);
    state = out.state;
    const chosen = new Int32Array(batch);
    for (let row = 0; row < batch; row++) {
      if (finished[row]) { chosen[row] = PAD_ID; continue; }
      const base = row * out.vocab;
      let best = 0;
      for (let v = 1; v < out.vocab; v++) if (out.logProbs[base + v] > out.logProbs[base + best]) best = v;
      chosen[row] = best;
      scores[row] = f32(scores[row] + out.logProbs[base + best]);
      if (best === EOS_ID) finished[row] = true;
      tokens[row][t] = best;
    }
    previous = chosen;
  }
  return { tokens, scores: Array.from(scores) };
}

// The top ``beam`` (score, flat index) of one batch item's candidates, best first.
function topCandidates(scores, logProbs, first, beam, vocab) {
  const top = [];  // sorted: higher score first, then lower index
  for (let k = 0; k < beam; k++) {
    const base = (first + k) * vocab;
    for (let v = 0; v < vocab; v++) {
      const score = f32(scores[first + k] + logProbs[base + v]);
      if (top.length === beam && score <= top[beam - 1][0]) continue;  // later index loses ties
      let at = top.length;
      while (at > 0 && score > top[at - 1][0]) at--;
      top.splice(at, 0, [score, k * vocab + v]);
      if (top.length > beam) top.pop();
    }
  }
  return top;
}

/** Beam search; ``beamSize`` 1 is greedy itself, as in shared/decoding.py. */
export async function beamSearch(step, state, { beamSize, maxLength, lengthPenalty = 0 }) {
  checkPositiveInt("beamSize", beamSize);
  checkPositiveInt("maxLength", maxLength);
  if (beamSize === 1) return greedyDecode(step, state, { maxLength });
  const batch = batchSize(state);
  const rows = batch * beamSize;
  state = gatherRows(state, Array.from({ length: rows }, (_, i) => Math.floor(i / beamSize)));
  let previous = new Int32Array(rows).fill(BOS_ID);
  let finished = new Array(rows).fill(false);
  let scores = new Float32Array(rows).map((_, i) => (i % beamSize === 0 ? 0 : NEG_INF));
  let lengths = new Int32Array(rows);
  let tokens = Array.from({ length: rows }, () => new Array(maxLength).fill(PAD_ID));
  for (let t = 0; t < maxLength && !finished.every(Boolean); t++) {
    const out = await step(previous, state);
    if (beamSize > out.vocab) throw new Error(`beam size ${beamSize} exceeds the vocabulary size ${out.vocab}`);
    const logProbs = Float32Array.from(out.logProbs);
    for (let row = 0; row < rows; row++) {  // a finished beam may only extend with pad, for free
      if (!finished[row]) continue;
      logProbs.fill(NEG_INF, row * out.vocab, (row + 1) * out.vocab);
      logProbs[row * out.vocab + PAD_ID] = 0;
    }
    const parents = new Array(rows), chosen = new Int32Array(rows), newScores = new Float32Array(rows);
    for (let item = 0; item < batch; item++) {
      topCandidates(scores, logProbs, item * beamSize, beamSize, out.vocab).forEach(([score, flat], k) => {
        const row = item * beamSize + k;
        parents[row] = item * beamSize + Math.floor(flat / out.vocab);
        chosen[row] = flat % out.vocab;
        newScores[row] = score;
      });
    }
    const wasFinished = parents.map((p) => finished[p]);
    lengths = Int32Array.from(parents, (p, row) => lengths[p] + (wasFinished[row] ? 0 : 1));
    finished = wasFinished.map((done, row) => done || chosen[row] === EOS_ID);
    tokens = parents.map((p, row) => { const copy = tokens[p].slice(); copy[t] = chosen[row]; return copy; });
    scores = newScores;
    previous = chosen;
    state = gatherRows(out.state, parents);
  }
  const best = [], bestScores = [];
  for (let item = 0; item < batch; item++) {
    let pick = item * beamSize, pickValue = -Infinity;
    for (let row = item * beamSize; row < (item + 1) * beamSize; row++) {
      const value = f32(scores[row] / f32(Math.pow(lengths[row], lengthPenalty)));
      if (value > pickValue) { pick = row; pickValue = value; }
    }
    best.push(tokens[pick]);
    bestScores.push(scores[pick]);
  }
  return { tokens: best, scores: bestScores };
}

/**
 * A step function over an ONNX decoder-step session: feeds ``token`` and the state by name,
 * takes back ``log_probs``, ``new_h`` and ``new_c``; other state entries ride along unchanged.
 */
export function onnxStep(ort, session) {
  return async (tokens, state) => {
    const feeds = { token: new ort.Tensor("int32", tokens, [tokens.length]) };
    for (const [name, tensor] of Object.entries(state)) {
      feeds[name] = new ort.Tensor(tensor.type, tensor.data, tensor.dims);
    }
    const out = await session.run(feeds);
    const plain = (tensor) => ({ type: tensor.type, data: tensor.data, dims: Array.from(tensor.dims) });
    return {
      logProbs: out.log_probs.data, vocab: Number(out.log_probs.dims[1]),
      state: { ...state, h: plain(out.new_h), c: plain(out.new_c) },
    };
  };
}

export function plainTensor(tensor) {
  return { type: tensor.type, data: tensor.data, dims: Array.from(tensor.dims) };
}
