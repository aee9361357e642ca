"""Demo sentences for running the NER app offline, and the corpus for its word vectors.

Without ``--data`` the app trains on sentences generated from hand-written templates and
name lists, so the whole path (training, scoring, export) runs anywhere in seconds; the
log and ``metrics.json`` say clearly that this is demo data.
"""

import random

from apps.ner.formats import Sentence
from apps.ner.schemes import OUTSIDE

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
