// Every app the CLI knows: its input description, ``predict(exported, inputs, settings)``
// (rows as the Python predict command prints them) and ``formatRow`` for plain output.

import * as captioning from "./captioning.js";
import * as ner from "./ner.js";
import * as sentiment from "./sentiment.js";
import * as stocks from "./stocks.js";
import * as translation from "./translation.js";

export const APPS = { captioning, ner, sentiment, stocks, translation };
