// Sentiment: text -> token ids (tokenizer.json) -> model.onnx -> probabilities per label.
// Rows match ``python -m apps.sentiment.predict --json``.

import { batches, round6 } from "./exported.js";
import { Tokenizer } from "./tokenizer.js";

export async function loadSentiment(exported) {
  const tokenizer = new Tokenizer(await exported.json("tokenizer.json"), "tokenizer.json");
  const { labels } = await exported.json("labels.json");
  const session = await exported.session();

  return async function classify(texts, { batchSize = 64 } = {}) {
    const rows = [];
    for (const chunk of batches(texts, batchSize)) {
      const ids = tokenizer.encodeBatch(chunk);
      const out = await session.run({ token_ids: exported.tensor("int32", ids.data, ids.dims) });
      const probabilities = out.probabilities.data, width = labels.length;
      chunk.forEach((text, row) => {
        const p = Array.from(probabilities.subarray(row * width, (row + 1) * width));
        const best = p.indexOf(Math.max(...p));
        rows.push({
          text, label: labels[best], probability: round6(p[best]),
          probabilities: Object.fromEntries(labels.map((label, i) => [label, round6(p[i])])),
        });
      });
    }
    return rows;
  };
}

export const inputs = "texts to classify";

export async function predict(exported, texts, { batchSize } = {}) {
  return (await loadSentiment(exported))(texts, { batchSize });
}

export function formatRow(row) {
  const chars = Array.from(row.text);
  const text = chars.length <= 70 ? row.text : chars.slice(0, 67).join("") + "...";
  return `${row.label}\t${row.probability.toFixed(3)}\t${text}`;
}
