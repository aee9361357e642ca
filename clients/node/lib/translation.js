// Translation: source text -> ids (source_tokenizer.json) -> encoder.onnx -> beam search over
// decoder_step.onnx -> target words -> detokenised text (decoding.json's rules). Rows match
// ``python -m apps.translation.predict --runtime onnx --json``.

import { beamSearch, onnxStep, plainTensor } from "./decoding.js";
import { batches, round6 } from "./exported.js";
import { Tokenizer, detokenize } from "./tokenizer.js";

export async function loadTranslation(exported) {
  const source = new Tokenizer(await exported.json("source_tokenizer.json"), "source_tokenizer.json");
  const target = new Tokenizer(await exported.json("target_tokenizer.json"), "target_tokenizer.json");
  const decoding = await exported.json("decoding.json");
  const encoder = await exported.session("encoder");
  const step = onnxStep(exported.ort, await exported.session("decoder_step"));

  return async function translate(texts, { beam = null, batchSize = 64 } = {}) {
    const beamSize = checkBeam(beam, decoding);
    const rows = [];
    for (const chunk of batches(texts, batchSize)) {
      const ids = source.encodeBatch(chunk);
      const encoded = await encoder.run({ source: exported.tensor("int32", ids.data, ids.dims) });
      const state = Object.fromEntries(decoding.state.map((name) => [name, plainTensor(encoded[name])]));
      const { tokens, scores } = await beamSearch(step, state, {
        beamSize, maxLength: decoding.max_length, lengthPenalty: decoding.length_penalty,
      });
      chunk.forEach((text, row) => rows.push({
        text, translation: detokenize(target.wordsUntilEos(tokens[row]), decoding.detokenize.rules),
        token_ids: tokens[row], score: round6(scores[row]),
      }));
    }
    return rows;
  };
}

/** ``--beam``: any width for the ONNX step model; the exported one by default. */
export function checkBeam(beam, decoding) {
  if (beam === null || beam === undefined) return decoding.beam_size;
  if (!Number.isInteger(beam) || beam < 1) throw new Error(`--beam must be at least 1, not ${beam}`);
  return beam;
}

export const inputs = "source sentences";

export async function predict(exported, texts, { batchSize, beam } = {}) {
  return (await loadTranslation(exported))(texts, { batchSize, beam });
}

export function formatRow(row) {
  return row.translation;
}
