"""The clause rules of the extractor, and the vocabulary they share with the sentence
and reply handling in ``extract`` and ``assistant``. Internal to ``maia.proxy``."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from maia.proxy.grammar import first_to_third, sentence

USER_MESSAGE = "user_message"
ASSISTANT_RESPONSE = "assistant_response"

# Categories (stored as metadata.extraction_category).
PREFERENCE = "preference"
FACT = "fact"
EXPLICIT = "explicit"
INSTRUCTION = "instruction"
IMPORTANT = "important"
USER_DECLARATION = "user_declaration"
IDENTITY = "identity"
CORRECTION = "correction"
PLAN = "plan"  # "I'm going to / I plan to …": an event of the user's, so episodic

EPISODIC_CATEGORIES = frozenset({FACT, IDENTITY, USER_DECLARATION, CORRECTION, PLAN})

MAX_OBJECT_WORDS = 15


@dataclass(frozen=True)
class Found:
    content: str
    category: str
    # The single-valued attribute the fact sets ("where the user lives"), if any: what a
    # correction of it replaces.
    attribute: str | None = None
    replaces: str | None = None


# -- shared vocabulary ---------------------------------------------------------------------

_HYPOTHETICAL = re.compile(
    r"\b(?:if|would|could|might|wish|suppose|supposing|imagine|pretend|hypothetically|"
    r"assuming|assume|unless|whether|wonder|wondering|maybe|perhaps|should|let's say|"
    r"i'd|you'd|what if)\b",
    re.IGNORECASE,
)
_MAY = re.compile(r"\bmay\b")  # lower case only: "in May" is a month
ADV = (
    r"(?:(?:really|also|absolutely|just|truly|totally|definitely|generally|usually|mostly|"
    r"mainly|still|currently|now|much|strongly|kind of|sort of|do|actually|originally)\s+)*"
)
_FILLERS = re.compile(
    r"^(?:well|oh|ok|okay|so|also|and|but|btw|by the way|hi|hello|hey|yes|yeah|yep|"
    r"honestly|anyway|anyways|fun fact|as i said|as i mentioned|now|oh and|ah|alright|"
    r"all right|thanks|thank you|cool|great|sure|of course|got it|understood|perfect|"
    r"i see)\b[\s,:!.-]*",
    re.IGNORECASE,
)
NO_LONGER = re.compile(r"\b(?:anymore|any more|no longer|used to)\b", re.IGNORECASE)
NEGATION = re.compile(r"\b(?:not|never|no)\b|n't\b", re.IGNORECASE)
_TRAILING_TIME = re.compile(
    r"(?:\s+(?:last|this|next)\s+\w+|\s+(?:in|since)\s+\d{4}|\s+(?:a\s+(?:few|couple\s+of)\s+)?"
    r"\w+\s+ago|\s+(?:recently|yesterday|today|now|already|again|for good))+$",
    re.IGNORECASE,
)
# Objects that point back at the conversation, not at something about the user.
_DEICTIC = re.compile(
    r"^(?:it|it's|its|this|that|that's|these|those|them|they|you|your|yours|him|her|"
    r"what|how|when|where|which|who|why|both|either|neither|none|so|too|very|as|here|"
    r"there|the (?:idea|way|answer|response|suggestion|code|above|first|second|last|"
    r"new|same|one|other|fact|result|output|former|latter|previous|next|shorter|longer)|"
    r"option|version|approach|solution|method|variant|choice|all of (?:it|them|this|that))\b",
    re.IGNORECASE,
)


def words(text: str) -> list[str]:
    return text.split()


# Where an object ends and a comment on it starts ("tea, so …", "Paris — it's lovely").
_AFTERTHOUGHT = re.compile(
    r",\s*(?:so|but|which|though|although|while|then|and then|because|since)\b"
    r"|\s+[\u2014\u2013-]\s+",
    re.IGNORECASE,
)


def phrase(text: str, *, owner: str = "their") -> str | None:
    """The object of a rule, cleaned and in third person; None when it is empty, too
    long or points back at the conversation."""
    text = _AFTERTHOUGHT.split(text.strip(), maxsplit=1)[0].strip("\"'")
    text = re.sub(r"[\s.,;:!\u2026)(-]+$", "", text)
    text = re.sub(r"\s+(?:lol|haha|please|thanks|btw)$", "", text, flags=re.IGNORECASE)
    if not text or len(words(text)) > MAX_OBJECT_WORDS or _DEICTIC.match(text):
        return None
    if not re.search(r"[^\W_]", text):
        return None
    return first_to_third(text, owner=owner)


def place(text: str) -> str | None:
    text = _TRAILING_TIME.sub("", text.strip().rstrip(".,!;"))
    if re.match(r"^(?:fear|hope|denial|the moment|the past|a bubble|my head)\b", text, re.I):
        return None  # "I live in hope" is an idiom, not an address
    if len(words(text)) > 8:
        return None
    return phrase(text)


def strip_fillers(text: str) -> str:
    while True:
        stripped = _FILLERS.sub("", text, count=1).strip()
        if stripped == text:
            return text
        text = stripped


def hypothetical(text: str) -> bool:
    return bool(_HYPOTHETICAL.search(text) or _MAY.search(text))


WHEN = r"(?P<when>from now on|going forward|in (?:the )?future)"
_NOT_IMPERATIVE = frozenset(
    "mind been had thought heard seen knew wanted wondered liked loved hated got did was "
    "were the a an my i it this that you your seems seem happens happen again ever forget "
    "is are has really".split()
)


def imperative(text: str) -> bool:
    first = text.split()[0].lower() if text.split() else ""
    if first in _NOT_IMPERATIVE or not first.isalpha() or first.endswith("ed"):
        return False
    return not (first.endswith("s") and not first.endswith("ss"))


# -- user rules ----------------------------------------------------------------------------

Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], Found | None]]
_NOT_NAMES = frozenset(
    "not a an the very so just really still also here there back from and or but with "
    "going trying looking working sure sorry fine good ok okay new done".split()
)
_NOT_OWNED = frozenset(
    "question questions problem problems issue issues error errors code point guess "
    "understanding concern idea answer output result results bad fault pleasure turn "
    "apologies mistake bet take suggestion request task thought thoughts opinion feeling "
    "impression worry doubt query prompt script function file files program app test tests "
    "build server database table data input message reply response first second last next "
    "main current only best worst favourite favorite english grammar spelling".split()
)
_NOT_HAD = frozenset(
    "question questions problem problems issue issues error errors bug bugs doubt favor "
    "favour feeling look try go idea suggestion request quick follow-up followup few couple "
    "lot bit little minute second moment chance file script function class list table "
    "dataset document text code query task project meeting call question: similar "
    "different same hard tough".split()
)
_CHAT_ACTIONS = frozenset(
    "ask try paste share send show give tell explain check test copy post upload provide "
    "attach rephrase clarify describe add include answer respond reply think look see wait "
    "keep let need do say read review restart reboot install update fix debug modify edit "
    "call use be continue stop".split()
)
_STATUS = (
    r"married|single|divorced|engaged|widowed|retired|unemployed|pregnant|vegetarian|vegan|"
    r"pescatarian|left-handed|right-handed|colou?r-?blind|diabetic|lactose intolerant|"
    r"gluten intolerant|(?:allergic|intolerant) to .+"
)
PREFERENCE_VERBS = {
    "don't like": "doesn't like",
    "do not like": "does not like",
    "don't enjoy": "doesn't enjoy",
    "do not enjoy": "does not enjoy",
    "don't care for": "doesn't care for",
    "can't stand": "can't stand",
    "cannot stand": "cannot stand",
    "prefer": "prefers",
    "like": "likes",
    "love": "loves",
    "enjoy": "enjoys",
    "adore": "adores",
    "hate": "hates",
    "dislike": "dislikes",
    "detest": "detests",
    "loathe": "loathes",
}
PREFERENCE_VERB = "|".join(re.escape(v) for v in PREFERENCE_VERBS)
I_AM = r"^i(?:'m|\s+am)\s+"


def _name(text: str, *, capitalised: bool) -> str | None:
    text = re.sub(r"[\s.,;:!)]+$", "", text.strip())
    words = text.split()
    if not 1 <= len(words) <= 3:
        return None
    for word in words:
        if not re.fullmatch(r"[A-Za-z][A-Za-z'.-]*", word) or word.lower() in _NOT_NAMES:
            return None
    if capitalised and not words[0][0].isupper():
        return None
    return " ".join(w if w[0].isupper() else w.capitalize() for w in words)


def my_name(m: re.Match[str]) -> Found | None:
    name = _name(m["x"], capitalised=False)
    if name is None:
        return None
    return Found(f"The user's name is {name}.", IDENTITY, "the user's name")


def _call_me(m: re.Match[str]) -> Found | None:
    name = _name(m["x"], capitalised=True)
    if name is None:
        return None
    return Found(
        f"The user wants to be called {name}.", IDENTITY, "what the user wants to be called"
    )


def lives(m: re.Match[str]) -> Found | None:
    where = place(m["x"])
    return (
        None
        if where is None
        else Found(sentence(f"The user lives in {where}"), USER_DECLARATION, "where the user lives")
    )


def _moved(m: re.Match[str]) -> Found | None:
    where = place(m["x"])
    if where is None:
        return None
    return Found(
        sentence(f"The user lives in {where}"),
        CORRECTION,
        "where the user lives",
        replaces="where the user lives",
    )


def origin(m: re.Match[str]) -> Found | None:
    where = place(m["x"])
    return (
        None
        if where is None
        else Found(
            sentence(f"The user is from {where}"), USER_DECLARATION, "where the user is from"
        )
    )


def works(m: re.Match[str]) -> Found | None:
    prep = m["prep"].lower()
    where = place(m["x"]) if prep in ("at", "for", "by") else phrase(m["x"])
    if where is None:
        return None
    if prep == "as":
        if not re.match(r"^(?:an?|the|head|lead|chief|senior|junior)\b", where, re.I):
            return None
        return Found(
            sentence(f"The user works as {where}"), USER_DECLARATION, "what the user works as"
        )
    if prep == "in":
        return Found(sentence(f"The user works in {where}"), USER_DECLARATION)
    prep = "at" if prep == "by" else prep
    return Found(
        sentence(f"The user works {prep} {where}"), USER_DECLARATION, "where the user works"
    )


def _age(m: re.Match[str]) -> Found | None:
    years = int(m["n"])
    if not 1 <= years <= 120:
        return None
    return Found(f"The user is {years} years old.", USER_DECLARATION, "how old the user is")


def _status(m: re.Match[str]) -> Found | None:
    what = phrase(m["x"])
    return None if what is None else Found(sentence(f"The user is {what}"), USER_DECLARATION)


def _is_a(m: re.Match[str]) -> Found | None:
    what = m["x"]
    fan = re.match(r"^an?\s+(?:big\s+|huge\s+)?fan\s+of\s+(?P<y>.+)$", what, re.I)
    if fan:
        liked = phrase(fan["y"])
        return (
            None if liked is None else Found(sentence(f"The user is a fan of {liked}"), PREFERENCE)
        )
    if re.match(r"^an?\s+(?:bit|little|tad|lot|few|fan|sec|second|minute)\b", what, re.I):
        return None
    thing = phrase(what)
    return None if thing is None else Found(sentence(f"The user is {thing}"), USER_DECLARATION)


def _has(m: re.Match[str]) -> Found | None:
    what = m["x"]
    counted = re.match(
        r"^(?:an?|one|two|three|four|five|six|seven|eight|nine|ten|\d+|several|many)\s+"
        r"(?:\w+\s+){0,2}?(?P<noun>[\w-]+)",
        what,
        re.I,
    )
    if counted is None:
        return None
    first = what.split()[1].lower().strip(",.") if len(what.split()) > 1 else ""
    if first in _NOT_HAD or counted["noun"].lower() in _NOT_HAD:
        return None
    thing = phrase(what)
    return None if thing is None else Found(sentence(f"The user has {thing}"), USER_DECLARATION)


def uses(m: re.Match[str]) -> Found | None:
    what = phrase(m["x"])
    if what is None or re.match(r"^(?:to|the same|a lot)\b", what, re.I):
        return None
    return Found(sentence(f"The user uses {what}"), USER_DECLARATION)


def _speaks(m: re.Match[str]) -> Found | None:
    languages = phrase(m["x"])
    return (
        None
        if languages is None
        else Found(sentence(f"The user speaks {languages}"), USER_DECLARATION)
    )


def _born(m: re.Match[str]) -> Found | None:
    where = phrase(m["x"])
    return (
        None
        if where is None
        else Found(sentence(f"The user was born {m['prep'].lower()} {where}"), USER_DECLARATION)
    )


def _learning(m: re.Match[str]) -> Found | None:
    subject = m["x"]
    if not subject[0].isupper():  # "I'm learning a lot" / "learning how to …": the chat
        return None
    what = phrase(subject)
    return (
        None if what is None else Found(sentence(f"The user is learning {what}"), USER_DECLARATION)
    )


def _avoids(m: re.Match[str]) -> Found | None:
    food = phrase(m["x"])
    return None if food is None else Found(sentence(f"The user doesn't eat {food}"), PREFERENCE)


def _likes(m: re.Match[str]) -> Found | None:
    verb = PREFERENCE_VERBS[" ".join(m["v"].lower().split())]
    liked = phrase(m["x"])
    return None if liked is None else Found(sentence(f"The user {verb} {liked}"), PREFERENCE)


def _favourite(m: re.Match[str]) -> Found | None:
    kind = " ".join(m["k"].lower().split())
    value = phrase(m["y"])
    if value is None or len(kind.split()) > 3:
        return None
    return Found(
        sentence(f"The user's favourite {kind} {m['v'].lower()} {value}"),
        PREFERENCE,
        f"the user's favourite {kind}",
    )


def _owned(m: re.Match[str]) -> Found | None:
    kind = " ".join(m["k"].split())
    words = [w.lower().strip("'") for w in re.split(r"[\s']+", kind) if w]
    if set(words) & (_NOT_OWNED | {"and", "or", "i", "me", "you", "with"}):
        return None
    value = m["y"].strip()
    if re.match(
        r"^(?:that|this|it|so|too|here|there|below|above|attached|as follows|like)\b", value, re.I
    ):
        return None
    thing = phrase(value)
    if thing is None:
        return None
    verb = m["v"].lower()
    attribute = f"the user's {kind.lower()}" if verb == "is" else None
    return Found(sentence(f"The user's {kind} {verb} {thing}"), USER_DECLARATION, attribute)


_NOT_VERBS = frozenset(
    "the a an my your his her their our this that these those some work school bed church "
    "class college university sleep".split()
)


def _plan(text: str, connector: str) -> Found | None:
    what = text.strip()
    first = what.split()[0] if what else ""
    if (
        not what
        or first.lower() in _CHAT_ACTIONS | _NOT_VERBS
        or re.search(r"\byou\b|^(?:have to|go ahead)\b", what, re.I)
    ):
        return None
    thing = phrase(what)
    if thing is None:
        return None
    if first[0].isupper() and connector == "going to":  # "I'm going to Japan in May"
        return Found(sentence(f"The user is going to {thing}"), PLAN)
    if first[0].isupper():
        return None
    return Found(sentence(f"The user plans {connector.replace('going ', '')} {thing}"), PLAN)


def _going_to(m: re.Match[str]) -> Found | None:
    return _plan(m["x"], "going to")


def _plan_to(m: re.Match[str]) -> Found | None:
    return _plan(m["x"], "to")


def _plan_on(m: re.Match[str]) -> Found | None:
    return _plan(m["x"], "on")


_USER_RULES: list[Rule] = [
    (
        re.compile(r"^my\s+(?:first\s+|full\s+|real\s+)?name(?:'s|\s+is)\s+(?P<x>.+)$", re.I),
        my_name,
    ),
    (re.compile(r"^(?:please\s+)?call\s+me\s+(?P<x>.+)$", re.I), _call_me),
    (re.compile(I_AM + r"called\s+(?P<x>.+)$", re.I), _call_me),
    (re.compile(r"^i\s+go\s+by\s+(?P<x>.+)$", re.I), _call_me),
    (
        re.compile(r"^(?:people|everyone|everybody|my friends)\s+calls?\s+me\s+(?P<x>.+)$", re.I),
        _call_me,
    ),
    (re.compile(r"^i\s+" + ADV + r"(?:live|reside)\s+in\s+(?P<x>.+)$", re.I), lives),
    (re.compile(I_AM + ADV + r"(?:living|based|located)\s+in\s+(?P<x>.+)$", re.I), lives),
    (
        re.compile(
            r"^i(?:'ve|\s+have)?\s+" + ADV + r"(?:moved|relocated)\s+(?:back\s+)?to\s+(?P<x>.+)$",
            re.I,
        ),
        _moved,
    ),
    (re.compile(I_AM + ADV + r"from\s+(?P<x>.+)$", re.I), origin),
    (re.compile(r"^i\s+" + ADV + r"come\s+from\s+(?P<x>.+)$", re.I), origin),
    (
        re.compile(
            r"^i(?:\s+|'m\s+|\s+am\s+)"
            + ADV
            + r"(?:work|working)\s+(?P<prep>at|for|as|in)\s+(?P<x>.+)$",
            re.I,
        ),
        works,
    ),
    (re.compile(I_AM + ADV + r"employed\s+(?P<prep>at|by)\s+(?P<x>.+)$", re.I), works),
    (re.compile(I_AM + r"(?P<n>\d{1,3})(?:\s+years?\s+old|\s+y/?o)?$", re.I), _age),
    (re.compile(I_AM + ADV + r"(?P<x>" + _STATUS + r")$", re.I), _status),
    (re.compile(I_AM + ADV + r"(?P<x>an?\s+.+)$", re.I), _is_a),
    (re.compile(r"^i(?:\s+have|'ve\s+got|\s+have\s+got)\s+(?P<x>.+)$", re.I), _has),
    (re.compile(r"^i\s+" + ADV + r"use\s+(?P<x>.+)$", re.I), uses),
    (re.compile(r"^i\s+" + ADV + r"speak\s+(?P<x>.+)$", re.I), _speaks),
    (re.compile(r"^i\s+was\s+born\s+(?P<prep>in|on)\s+(?P<x>.+)$", re.I), _born),
    (re.compile(I_AM + ADV + r"learning\s+(?P<x>.+)$", re.I), _learning),
    (re.compile(r"^i\s+" + ADV + r"(?:don't|do\s+not|never)\s+eat\s+(?P<x>.+)$", re.I), _avoids),
    (re.compile(r"^i\s+" + ADV + r"(?P<v>" + PREFERENCE_VERB + r")\s+(?P<x>.+)$", re.I), _likes),
    (
        re.compile(r"^my\s+favou?rite\s+(?P<k>[\w' -]+?)\s+(?P<v>is|are)\s+(?P<y>.+)$", re.I),
        _favourite,
    ),
    (
        re.compile(
            r"^my\s+(?P<k>[\w'-]+(?:\s+[\w'-]+){0,3}?)\s+(?P<v>is|are|was)\s+(?P<y>.+)$", re.I
        ),
        _owned,
    ),
    (re.compile(I_AM + r"going\s+to\s+(?P<x>.+)$", re.I), _going_to),
    (re.compile(I_AM + r"planning\s+to\s+(?P<x>.+)$", re.I), _plan_to),
    (re.compile(r"^i\s+" + ADV + r"(?:plan|intend)\s+to\s+(?P<x>.+)$", re.I), _plan_to),
    (re.compile(I_AM + r"planning\s+on\s+(?P<x>.+)$", re.I), _plan_on),
]
_GREETED_NAME = re.compile(r"^(?i:i'm|i\s+am)\s+(?P<x>[A-Z][a-z'-]+(?:\s+[A-Z][a-z'-]+)?)$")


def user_clause(clause: str, *, greeted: bool = False) -> Found | None:
    """What one first-person clause states, by the first rule that recognises it."""
    text = strip_fillers(clause)
    if not text or hypothetical(text) or NO_LONGER.search(text):
        return None
    if greeted and (named := _GREETED_NAME.match(text)):  # "Hi, I'm Sam"
        return my_name(named)
    for pattern, build in _USER_RULES:
        match = pattern.match(text)
        if match:
            return build(match)  # the first rule that matches decides, even if it declines
    return None
