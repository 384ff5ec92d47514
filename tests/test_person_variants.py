"""Person search finds people as they are written (issue 13): middle names and initials,
"Last, First", initials with or without dots, hyphenated and particle names, diacritics either
way, in the query and in the document; the answer says which form matched. Planted documents
written here, the C4 sample's "Joseph W. Bendersky", and the privacy contract's attacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corpuscope import jobs
from corpuscope.config import Settings
from corpuscope.errors import QueryError
from corpuscope.index.person import NameMatcher, name_variants, parse_name, person
from corpuscope.index.searcher import Indexes
from corpuscope.models.answers import Filters
from corpuscope.store import Store


def forms(query: str, text: str) -> list[tuple[str, str]]:
    """(matched text, variant) of every mention of `query` in `text`."""
    return [(text[m.start : m.end], m.variant) for m in NameMatcher(parse_name(query)).find(text)]


# -- the rules, on strings ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "matched", "variant"),
    [
        ("Jane Walker said so.", "Jane Walker", "First Last"),
        ("Jane A. Walker said so.", "Jane A. Walker", "First M. Last"),
        ("Jane Ann Walker said so.", "Jane Ann Walker", "First Middle Last"),
        ("Jane Ann Marie Walker said so.", "Jane Ann Marie Walker", "First Middle Middle Last"),
        ("J. Walker said so.", "J. Walker", "F. Last"),
        ("J Walker said so.", "J Walker", "F Last"),
        ("J.A. Walker said so.", "J.A. Walker", "F. M. Last"),
        ("See Walker, Jane (2001).", "Walker, Jane", "Last, First"),
        ("See Walker, J. (2001).", "Walker, J.", "Last, F."),
        ("See Walker, J. A. (2001).", "Walker, J. A.", "Last, F. M."),
        ("Walker J, Smith K. Title.", "Walker J", "Last F"),
        ("Walker JA, Smith K. Title.", "Walker JA", "Last FM"),
        ("Listed as Walker Jane in the index.", "Walker Jane", "Last First"),
        ("WALKER, JANE: notes", "WALKER, JANE", "Last, First"),
        ("jane walker wrote", "jane walker", "First Last"),
    ],
)
def test_every_form_of_jane_walker_is_found(text, matched, variant):
    assert forms("Jane Walker", text) == [(matched, variant)]


@pytest.mark.parametrize(
    "query",
    [
        "Jane Walker",
        "Walker, Jane",
        "Walker, J.",
        "J. Walker",
        "J Walker",
        "Walker J",
        "JANE WALKER",
    ],
)
def test_the_query_may_be_written_in_any_form(query):
    text = "By Jane Walker. Later Walker, J. wrote it; J. A. Walker agreed; Walker JA (2001)."
    assert [m for m, _ in forms(query, text)] == [
        "Jane Walker",
        "Walker, J.",
        "J. A. Walker",
        "Walker JA",
    ]


def test_an_initial_in_the_query_finds_every_given_name_with_it():
    text = "Jane Walker met John Walker and Walker, Joan; K. Walker and Walker, K. did not."
    assert [m for m, _ in forms("Walker, J.", text)] == [
        "Jane Walker",
        "John Walker",
        "Walker, Joan",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "K. Walker said so.",  # another initial
        "Walker I think was right.",  # "Last F" needs the initial to end the name
        "A Walker came by.",  # undotted A and I are words, not initials, before a surname
        "Jane met Walker.",  # a lower-case word between is no middle name
        "Jane, Walker and Smith.",  # a comma inside "First Last"
        "Jane.\nWalker arrived.",  # a line break inside
        "Jane Walker-Smith arrived.",  # another (double-barrelled) surname
        "Mary-Jane Walker arrived.",  # another given name
        "Jane [PERSON] Walker.",  # a type label is never part of a name
        "Walker John said",  # for the initial query only: a full given name after needs a comma
        "J. Smith and Walker.",  # an initial alone, away from the surname
    ],
)
def test_precision_rules(text):
    assert forms("J. Walker" if "John" in text else "Jane Walker", text) == []


def test_middle_names_must_agree_with_those_asked():
    text = "Jane Beth Walker; J. B. Walker; Walker, J. B.; Walker JB; Jane A. Walker; Walker JA"
    assert [m for m, _ in forms("Jane Ann Walker", text)] == ["Jane A. Walker", "Walker JA"]
    assert len(forms("Jane Walker", text)) == 6  # none asked: any middle name goes


@pytest.mark.parametrize(
    ("query", "text", "matched"),
    [
        ("José Müller", "Jose Mueller", "Jose Mueller"),
        ("José Müller", "JOSE MULLER", "JOSE MULLER"),
        ("Jose Mueller", "José Müller", "José Müller"),
        ("Jose Mueller", "Jose Muller", "Jose Muller"),
        ("Mueller, J.", "José Müller", "José Müller"),
        ("Jürgen Strauß", "Juergen Strauss", "Juergen Strauss"),
        ("Søren Kierkegaard", "Soeren Kierkegaard", "Soeren Kierkegaard"),
        ("Ludwig van Beethoven", "Beethoven, Ludwig van", "Beethoven, Ludwig van"),
        ("Ludwig van Beethoven", "van Beethoven, Ludwig", "van Beethoven, Ludwig"),
        ("Ludwig van Beethoven", "L. van Beethoven", "L. van Beethoven"),
        ("Ludwig van Beethoven", "Ludwig Beethoven", "Ludwig Beethoven"),
        ("Ludwig Beethoven", "Ludwig van Beethoven", "Ludwig van Beethoven"),
        ("Beethoven, Ludwig van", "Ludwig van Beethoven", "Ludwig van Beethoven"),
        ("Johannes van der Waals", "J. D. van der Waals", "J. D. van der Waals"),
        ("Charles de Gaulle", "de Gaulle, Charles", "de Gaulle, Charles"),
        ("de Gaulle", "General de Gaulle", "de Gaulle"),
        ("Jean-Paul Sartre", "Jean Paul Sartre", "Jean Paul Sartre"),
        ("Jean-Paul Sartre", "J.-P. Sartre", "J.-P. Sartre"),
        ("Jean-Paul Sartre", "Sartre, J.-P.", "Sartre, J.-P."),
        ("J.-P. Sartre", "Jean-Paul Sartre", "Jean-Paul Sartre"),
        ("Mary Smith-Jones", "Smith-Jones, M.", "Smith-Jones, M."),
        ("Mary Smith-Jones", "Mary Smith Jones", "Mary Smith Jones"),
        ("Seán O'Brien", "O\u2019Brien, S.", "O\u2019Brien, S."),
    ],
)
def test_diacritics_particles_and_hyphens_either_way(query, text, matched):
    assert [m for m, _ in forms(query, text)] == [matched]


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("Jose Muller", "Jose Mueller"),  # a plain u is not known to be an umlaut
        ("Jean-Paul Sartre", "Jean Sartre"),  # part of a compound given name
        ("Mary Smith-Jones", "Mary Jones"),  # part of a double-barrelled surname
        ("Charles de Gaulle", "General de Gaulle"),  # no given name next to it
        ("Marilyn Monroe", "Marilyn Monro"),  # "oe" at a word's end is no umlaut
    ],
)
def test_documented_non_matches(query, text):
    assert forms(query, text) == []


def test_only_surnames_near_the_given_name_are_read_and_nothing_is_lost():
    # The surname is checked only within reach of a word that may be the given name (its
    # spellings, or a capital initial: one outside ASCII may fold to it); a common surname
    # no longer makes every word of a long text a check.
    filler = "the cat sat on the mat and the dog ran. " * 200
    written = ["Émile Zola", "É. Zola", "Zola, É.", "Zola ÉM", "E. Zola"]
    text = filler + "".join(f"{w}; {filler}" for w in written)  # each out of the others' reach
    assert [m for m, _ in forms("Émile Zola", text)] == [
        "Émile Zola",
        "É. Zola",
        "Zola, É.",
        "Zola ÉM",
        "E. Zola",
    ]
    assert [m for m, _ in forms("Tom The", f"{filler}Tom The {filler}T. The")] == [
        "Tom The",
        "T. The",
    ]
    assert forms("Tom The", filler) == []
    far = "Jane " + "x " * 9 + "Walker"  # a given name ten words away is no mention
    assert forms("Jane Walker", far) == []


def test_a_name_of_initials_or_several_commas_is_refused():
    for bad in ("J.W.", "J. W.", "Walker, Jane, Ann", ",", "  "):
        with pytest.raises(QueryError):
            parse_name(bad)


def test_the_plain_phrases_are_still_listed():
    # name_variants keeps the phrases searched before issue 13 (bench/person_quality's baseline)
    assert ["ada", "lovelace"] in name_variants("Ada Lovelace")
    assert name_variants("Lovelace, Ada") == name_variants("ada LOVELACE")


# -- the planted set, through the index ---------------------------------------------------------
#: (document id, text): every planted form of seven people, and decoys no query may match.
PLANTED = {
    "w1": "Jane Walker opened the meeting on the budget.",
    "w2": "The report by Jane Ann Walker was read aloud.",
    "w3": "Jane A. Walker chaired the session on rivers.",
    "w4": "Photographs: J. Walker, with thanks to the archive.",
    "w5": "J Walker and the team planted the hedge.",
    "w6": "Signed J.A. Walker on behalf of the board.",
    "w7": "Cited as Walker, Jane (2004), pages 3-9.",
    "w8": "Cited as Walker, J. (2004), pages 10-19.",
    "w9": "Walker JA, Smith B. Rivers of the north. 2004.",
    "w10": "WALKER, JANE: collected letters, volume two.",
    "m1": "José Müller gave the keynote in Basel.",
    "m2": "Jose Mueller gave a second talk on looms.",
    "m3": "Müller, José: notes on weaving, 1999.",
    "m4": "A paper by J. Mueller on dyes was cited.",
    "b1": "Ludwig van Beethoven wrote nine symphonies.",
    "b2": "Beethoven, Ludwig van: the late quartets.",
    "b3": "A letter of L. van Beethoven was auctioned.",
    "b4": "Ludwig Beethoven, as the poster spelt him, was played.",
    "s1": "Jean-Paul Sartre sat at the café.",
    "s2": "Sartre, J.-P. Being and nothingness. Paris, 1943.",
    "s3": "Jean Paul Sartre declined the prize.",
    "h1": "Mary Smith-Jones won the rowing race.",
    "h2": "Smith-Jones, M. Rowing in the fens. 2010.",
    "g1": "Charles de Gaulle spoke on the radio.",
    "g2": "de Gaulle, Charles. Memoirs of hope.",
    "o1": "Seán O'Brien read a poem.",
    "o2": "O\u2019Brien, S. Collected poems. Dublin.",
    "d1": "K. Walker and the rest of the crew sailed at dawn.",
    "d2": "Walker I think was the name of the street.",
    "d3": "Jane met Walker at the station.",
    "d4": "Mary-Jane Walker ran the café.",
    "d5": "Jane Walker-Smith ran the bakery.",
    "d6": "J.W. initialled the form; Smith signed it.",
    "d7": "Jean Sartre, a baker, is no philosopher.",
    "d8": "Mary Jones and Smith went rowing.",
    "d9": "Write to quorvina.teslaw@example.org about the budget.",
    "d10": "Jane Beth Walker is another person.",
}
WALKER = {f"w{i}" for i in range(1, 11)}
#: query -> documents it must find (all of them: recall 1.0) and no others (the decoys).
EXPECTED = {
    "Jane Walker": WALKER | {"d10"},  # no middle name asked: Jane Beth Walker goes too
    "Jane Ann Walker": WALKER,
    "Walker, Jane A.": WALKER,
    "Walker, J.": WALKER | {"d10"},
    "J. A. Walker": WALKER,
    "José Müller": {"m1", "m2", "m3", "m4"},
    "Jose Mueller": {"m1", "m2", "m3", "m4"},
    "Mueller, J.": {"m1", "m2", "m3", "m4"},
    "Ludwig van Beethoven": {"b1", "b2", "b3", "b4"},
    "Beethoven, Ludwig van": {"b1", "b2", "b3", "b4"},
    "Jean-Paul Sartre": {"s1", "s2", "s3"},
    # initials asked: "J. P." may be a given name and a middle one, and a middle name may be
    # left out, so Jean Sartre goes (the compound "Jean-Paul" asked in full does not find him)
    "Sartre, J.-P.": {"s1", "s2", "s3", "d7"},
    "Mary Smith-Jones": {"h1", "h2"},
    "Charles de Gaulle": {"g1", "g2"},
    "Sean O'Brien": {"o1", "o2"},
}
#: the form each document is found under, asked as "First Last" (or the person's full name)
FORM_OF = {
    "w1": "First Last",
    "w2": "First Middle Last",
    "w3": "First M. Last",
    "w4": "F. Last",
    "w5": "F Last",
    "w6": "F. M. Last",
    "w7": "Last, First",
    "w8": "Last, F.",
    "w9": "Last FM",
    "w10": "Last, First",
}


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> tuple[Indexes, Settings]:
    root = tmp_path_factory.mktemp("person-variants")
    src = root / "planted.jsonl"
    src.write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in PLANTED.items()))
    settings = Settings(data=root / "data")
    assert jobs.ingest(settings, "planted", [str(src)]).ok
    assert jobs.scan(settings, "planted").ok
    jobs.index(settings, "planted")
    return Indexes(Store(settings.data)), settings


def _found(ix: Indexes, settings: Settings, query: str) -> dict[str, object]:
    ans = person(ix, query, settings, filters=Filters(corpora=["planted"]), k=50)
    return {e.doc_id: e for e in ans.evidence}, ans


def _source_id(ix: Indexes, doc_id: str) -> str:
    """The planted document's key, from its text as the index holds it (the redacted view)."""
    text = ix.find_doc(doc_id).text
    return next(k for k, v in PLANTED.items() if v.replace(ADDRESS, "[EMAIL]") == text)


ADDRESS = "quorvina.teslaw@example.org"


@pytest.mark.parametrize("query", sorted(EXPECTED))
def test_planted_recall_and_precision(planted, query):
    ix, settings = planted
    evidence, ans = _found(ix, settings, query)
    found = {_source_id(ix, d) for d in evidence}
    assert found == EXPECTED[query]  # every planted form (recall 1.0), no decoy
    assert ans.corpora[0].name_documents == len(EXPECTED[query])
    assert not ans.partial


def test_the_answer_says_which_form_matched_and_shows_it(planted):
    ix, settings = planted
    evidence, ans = _found(ix, settings, "Jane Walker")
    assert ans.variants[0] == "First [Middle] Last" and "Last FM" in ans.variants
    by_source = {_source_id(ix, d): e for d, e in evidence.items()}
    for source, variant in FORM_OF.items():
        e = by_source[source]
        assert e.variant == variant, source
        assert e.matched in PLANTED[source] and e.mentions == 1
        # the matched form is highlighted, whole, in the snippet
        assert [e.snippet.text[s:x] for s, x in e.snippet.highlights] == [e.matched]


def test_c4_middle_initial_found_from_first_and_last_name(ix_c4):
    """The C4 sample's page on the word "Führer" cites "Joseph W. Bendersky (2007)"; the
    plain phrases ("joseph bendersky", "j bendersky" …) never matched it."""
    ix, settings = ix_c4
    ans = person(ix, "Joseph Bendersky", settings, filters=Filters(corpora=["c4"]))
    assert ans.corpora[0].name_documents == 1
    (e,) = ans.evidence
    assert (e.matched, e.variant) == ("Joseph W. Bendersky", "First M. Last")
    from corpuscope.index.person import _any, _phrase  # the phrases searched before

    for ci in ix.indexed():
        if ci.name == "c4":
            old = _any([_phrase(ci.schema, v) for v in name_variants("Joseph Bendersky")])
            total, _ = ix.search([ci], lambda c, q=old: q, 1)
            assert total == 0
    ans = person(ix, "Evans, Richard J.", settings, filters=Filters(corpora=["c4"]))
    assert {e.matched for e in ans.evidence} == {"Richard J. Evans"}
    assert ans.evidence[0].mentions == 2  # and "Evans, Richard J." in its references


@pytest.fixture(scope="module")
def ix_c4(indexed: Path) -> tuple[Indexes, Settings]:
    return Indexes(Store(indexed)), Settings(data=indexed)


# -- the privacy contract ----------------------------------------------------------------------
def test_a_name_hidden_in_personal_data_is_no_mention_right_or_wrong(planted):
    """d9 spells a name only inside an e-mail address: the public view holds [EMAIL]. A right
    and a wrong guess at it, in any form, give the same answer: no document, no evidence."""
    ix, settings = planted
    ask = Filters(corpora=["planted"])
    for right, wrong in (
        ("Quorvina Teslaw", "Quorvina Teslax"),
        ("Teslaw, Q.", "Teslax, Q."),
        ("Teslaw", "Teslax"),
    ):
        a, b = (person(ix, n, settings, filters=ask, k=50) for n in (right, wrong))
        assert a.corpora == b.corpora and a.evidence == b.evidence == []
        assert a.variants == b.variants and a.partial == b.partial
        assert a.corpora[0].name_documents == 0


def test_matching_and_evidence_do_not_depend_on_a_hidden_value(tmp_path):
    """Two corpora that differ only in the value of an e-mail next to the name answer alike:
    same counts, forms, matched text, snippets and highlights."""
    answers = []
    for address in ("a@example.org", "someone.much.longer.than.that@example.org"):
        src = tmp_path / f"{len(address)}.jsonl"
        doc = {"id": "x1", "text": f"Walker, J. ({address}) wrote the note. Jane A. Walker agreed."}
        src.write_text(json.dumps(doc) + "\n")
        settings = Settings(data=tmp_path / f"data{len(address)}", small_cell_threshold=1)
        assert jobs.ingest(settings, "one", [str(src)]).ok
        assert jobs.scan(settings, "one").ok
        jobs.index(settings, "one")
        ans = person(Indexes(Store(settings.data)), "Jane Walker", settings)
        answers.append(
            (
                ans.corpora[0].name_documents,
                [
                    (e.variant, e.matched, e.mentions, e.snippet.text, e.snippet.highlights)
                    for e in ans.evidence
                ],
            )
        )
    assert answers[0] == answers[1]
    assert answers[0][0] == 1 and answers[0][1][0][2] == 2


def test_the_api_answer_says_which_form_matched(indexed: Path):
    from fastapi.testclient import TestClient

    from corpuscope.api.app import create_app

    client = TestClient(create_app(Settings(data=indexed)))
    r = client.post("/v1/person", json={"name": "Bendersky, J.", "corpora": ["c4"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert "Last, F. [M.]" in body["variants"]
    (e,) = body["evidence"]
    assert (e["variant"], e["matched"], e["mentions"]) == (
        "First M. Last",
        "Joseph W. Bendersky",
        1,
    )
    s, x = e["snippet"]["highlights"][0]
    assert e["snippet"]["text"][s:x] == "Joseph W. Bendersky"
    r = client.post("/v1/person", json={"name": "J. W.", "corpora": ["c4"]})
    assert r.status_code == 422 and "surname" in r.json()["error"]["message"]
