"""Synthetic consultation corpora with known answers (deterministic by seed).

Comments about a cyber-crime bill: 32 planted arguments, each with several surface
forms (paraphrases), Zipf popularity (argument 0 is the most frequent), chatter
("+1", "thanks"), typos, quoted passages of the bill and links, and planted
agreement (each argument has a share of 👍 among its reactions).

``make_corpus(n, seed)`` returns a :class:`Corpus` of ``SummaryComment`` objects with
``labels[i]`` = planted argument id of comment ``i`` (-1 for chatter).
``make_topics(n, seed)`` builds synthetic topics for the map with planted
cross-references and shared citations.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # running as a script: make `bot` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.core.summary import SummaryComment  # noqa: E402


@dataclass(frozen=True)
class Argument:
    aid: int
    forms: tuple[str, ...]
    extras: tuple[str, ...]
    agree_share: float  # planted share of 👍 among reactions to comments making it


def _a(aid: int, agree: float, forms: list[str], extras: list[str]) -> Argument:
    return Argument(aid, tuple(forms), tuple(extras), agree)


ARGUMENTS: tuple[Argument, ...] = (
    _a(0, 0.90, [
        "The UK should sign up to the Budapest Convention on Cybercrime rather than invent its own rules.",
        "Joining the Budapest Convention is the best way to get international agreement on cyber crime.",
        "We already have the Budapest Convention as a framework, countries should ratify the Budapest Convention.",
        "Ratifying the Budapest Convention would make cross-border co-operation on cybercrime much easier.",
    ], ["Most of our partners are already parties to it.", "A new treaty would take decades to negotiate."]),
    _a(1, 0.50, [
        "Encryption backdoors would make everyone less safe, criminals included would just switch tools.",
        "Any power to force companies to weaken encryption is dangerous and will be abused.",
        "Breaking end-to-end encryption to catch criminals puts ordinary users and businesses at risk.",
        "Mandated encryption backdoors are a gift to hostile states and hackers.",
    ], ["Strong encryption protects banking and health data.", "Police need lawful access somehow though."]),
    _a(2, 0.85, [
        "There must be no safe havens for cyber criminals, countries have to work together across borders.",
        "Online criminals operate across national borders so we need collective international action against safe havens.",
        "Cyber criminals exploit safe havens abroad, international co-operation is the only answer.",
    ], ["Extradition agreements need updating.", "Countries that harbour criminals should face consequences."]),
    _a(3, 0.20, [
        "The data retention period of two years in clause 12 is far too long and invades privacy.",
        "Keeping everyone's communications data for two years is disproportionate mass retention.",
        "Clause 12 data retention should be cut to six months, two years of records is excessive.",
        "Blanket retention of internet connection records treats every citizen as a suspect.",
    ], ["The courts have already struck down similar retention schemes.", "Retained data is itself a target for hackers."]),
    _a(4, 0.75, [
        "Police cyber crime units are badly underfunded and lack forensic capacity.",
        "Without money for digital forensics and trained investigators the new offences will never be enforced.",
        "Local police forces need far more funding and training to investigate cyber crime.",
        "The bill creates offences but gives police no extra resources for cyber investigations.",
    ], ["Most fraud reports are never investigated.", "Forensic backlogs run to many months."]),
    _a(5, 0.80, [
        "Security researchers who report vulnerabilities in good faith need a legal defence.",
        "The unauthorised access offence would criminalise ethical hackers and penetration testers.",
        "Please add a public interest exemption for good faith vulnerability research.",
        "Responsible disclosure by security researchers should not be a crime under this bill.",
    ], ["Other countries have safe harbour rules for researchers.", "Researchers are already leaving the country."]),
    _a(6, 0.70, [
        "Mandatory breach reporting within 72 hours is reasonable and should apply to all companies.",
        "Firms must be required to report data breaches and ransomware attacks to the regulator quickly.",
        "A duty to notify breaches within three days would finally expose how common attacks are.",
    ], ["Victims deserve to know when their data is stolen.", "Fines for late reporting must be meaningful."]),
    _a(7, 0.45, [
        "Compliance costs will crush small businesses that cannot afford security audits.",
        "Small firms and charities do not have the budget to meet these cyber security obligations.",
        "The reporting and audit duties are too burdensome for small and medium enterprises.",
    ], ["Give SMEs a longer transition period.", "Offer free templates and support for small firms."]),
    _a(8, 0.80, [
        "What is unacceptable offline should also be unacceptable online.",
        "The same laws should apply online as offline, crime is crime wherever it happens.",
        "Online and offline are one world now, offences should not depend on the medium.",
    ], ["Young people do not separate the two at all.", "Harassment online is as harmful as offline."]),
    _a(9, 0.75, [
        "The 24/7 Network of law enforcement contact points should be expanded so urgent requests get answered.",
        "Every country should join the 24/7 contact point network for urgent cyber crime assistance.",
        "Urgent cross-border requests need a staffed 24/7 point of contact in each police force.",
    ], ["Evidence disappears within hours.", "The current contact list is out of date."]),
    _a(10, 0.65, [
        "Mutual legal assistance requests take months, far too slow for digital evidence.",
        "The MLAT process for cross-border evidence is broken and needs fast-track procedures.",
        "Getting data from foreign service providers through mutual legal assistance takes far too long.",
    ], ["Data can be deleted long before a request is answered.", "Direct requests to providers would be faster."]),
    _a(11, 0.85, [
        "Manufacturers should be required to make connected devices secure by default.",
        "Insecure smart devices with default passwords should be banned from sale.",
        "Industry must ship IoT products with security updates and no default passwords.",
    ], ["Botnets are built from cheap cameras and routers.", "Security updates should last at least five years."]),
    _a(12, 0.90, [
        "Any access to communications data must require a warrant approved by a judge.",
        "Judicial oversight is essential, police should not authorise their own data requests.",
        "Independent judicial authorisation must be required before interception or data access.",
    ], ["Self-authorisation has been abused before.", "Oversight reports should be published every year."]),
    _a(13, 0.30, [
        "Paying ransomware demands should be made illegal to stop funding criminal gangs.",
        "A ban on ransom payments would remove the incentive for ransomware attacks.",
        "Companies that pay ransomware gangs are financing organised crime and should be prohibited.",
    ], ["Hospitals could not survive a payment ban.", "Insurers currently reimburse ransoms."]),
    _a(14, 0.40, [
        "The definition of unauthorised access in section 3 is far too vague.",
        "Section 3 is so broadly drafted that breaking a website's terms of service could become a crime.",
        "The bill needs a clear definition of what counts as unauthorised access to a computer.",
    ], ["Vague offences chill legitimate activity.", "Prosecutors should not decide what the law means."]),
    _a(15, 0.70, [
        "Teenagers caught hacking should be diverted into education and jobs, not prison.",
        "Young offenders in cyber crime need diversion programmes rather than harsh sentences.",
        "Harsh sentencing of young hackers wastes talent that could defend the country.",
    ], ["Many start out of curiosity.", "Diversion schemes have low reoffending rates."]),
    _a(16, 0.85, [
        "Cyber security awareness should be taught in schools from primary age.",
        "Education campaigns for the public would prevent more crime than new offences.",
        "Teach children and parents basic online safety and security habits in schools.",
    ], ["Most attacks start with a phishing email.", "Libraries could run free sessions."]),
    _a(17, 0.90, [
        "Victims of online fraud need a single reporting portal and real support.",
        "Fraud victims are passed between banks and police with no support at all.",
        "Reporting cyber crime as a victim is confusing, there should be one place to report it.",
    ], ["Victims rarely get their money back.", "Elderly victims are often too ashamed to report."]),
    _a(18, 0.35, [
        "Internet service providers should be liable for blocking criminal websites.",
        "ISPs must be obliged to block known phishing and fraud domains quickly.",
    ], ["Blocking lists need judicial review.", "Blocking is easy to circumvent."]),
    _a(19, 0.60, [
        "Cryptocurrency exchanges need to trace and freeze stolen funds.",
        "Police need powers to seize cryptocurrency wallets used for crime.",
    ], ["Mixers make tracing much harder.", "Exchanges should follow know your customer rules."]),
    _a(20, 0.80, [
        "Human rights safeguards and freedom of expression must be written into the bill.",
        "Cyber crime laws are often used to silence journalists and activists, include strong free speech protections.",
    ], ["Look at how similar laws were misused abroad.", "Proportionality tests should be explicit."]),
    _a(21, 0.75, [
        "Developing countries need capacity building and technical assistance to fight cyber crime.",
        "Rich countries should fund cyber capacity building programmes in the global south.",
    ], ["Weak links anywhere affect everyone.", "Training prosecutors matters as much as equipment."]),
    _a(22, 0.70, [
        "Public private information sharing about threats should be encouraged with legal protections.",
        "Companies will only share threat intelligence with government if they are protected from liability.",
    ], ["Sharing indicators quickly stops campaigns early.",]),
    _a(23, 0.85, [
        "Critical national infrastructure like energy and water needs stronger cyber protection.",
        "Attacks on power grids and hospitals should be treated as a national security priority.",
    ], ["Legacy industrial control systems are very exposed.",]),
    _a(24, 0.80, [
        "Elderly people are targeted by online scams and identity theft and need protection.",
        "Banks should refund pensioners who lose savings to online fraud scams.",
    ], ["Scammers impersonate banks and family members.",]),
    _a(25, 0.75, [
        "The act should have a sunset clause and an independent review after three years.",
        "Include a statutory review of these powers after three years with a sunset clause.",
    ], ["Emergency powers tend to become permanent.",]),
    _a(26, 0.55, [
        "The Commonwealth model law on cyber crime is a useful stepping stone for smaller states.",
        "Smaller states could adopt the Commonwealth model law as a first step.",
    ], ["It is simpler than the full convention.",]),
    _a(27, 0.60, [
        "Publish transparency reports on how often surveillance powers are used.",
        "Government should publish annual statistics on interception and data requests.",
    ], ["Secrecy breeds distrust.",]),
    _a(28, 0.50, [
        "Moving government services to foreign cloud providers creates security and sovereignty risks.",
        "Outsourcing public data to cloud computing companies must come with strict security requirements.",
    ], ["Procurement should make security a key criterion.",]),
    _a(29, 0.80, [
        "Consumers need clear security labels on products so they can choose safe devices.",
        "A security rating label on routers and phones would help buyers pick secure products.",
    ], ["Energy labels worked for appliances.",]),
    _a(30, 0.65, [
        "Governments should lead by example and secure their own systems first.",
        "The public sector has some of the worst security, fix government networks first.",
    ], ["Several councils were hit by ransomware last year.",]),
    _a(31, 0.40, [
        "Online harassment and stalking should be covered by the cyber crime bill too.",
        "Cyberstalking and online abuse deserve specific offences in this bill.",
    ], ["Victims are mostly women.",]),
)

INTROS = ("", "", "", "I think ", "In my view, ", "Honestly, ", "As a small business owner, ",
          "Speaking as a lawyer, ", "For what it's worth, ", "Strongly feel that ")
OUTROS = ("", "", "", " Please reconsider.", " This matters.", " Just my two cents.",
          " Thanks for listening.", " Hope the committee takes note.")
CHATTER = ("+1", "thanks", "agreed", "Agreed!", "this", "Exactly this.", "good point", "+1 from me",
           "thanks for raising this", "hear hear", "I agree", "Well said", "yes", "same here",
           "👍", "thank you!", "+1 agreed", "lol true")
PASSAGES = (
    "A person is guilty of an offence if they cause a computer to perform any function with intent "
    "to secure unauthorised access.",
    "Communications data shall be retained for a period of two years.",
    "A service provider must notify the regulator of a breach within 72 hours.",
    "The Secretary of State may by regulations require a provider to remove electronic protection.",
    "Member states shall designate a point of contact available 24 hours a day, seven days a week.",
)
LINKS = (
    "https://www.coe.int/en/web/cybercrime/the-budapest-convention",
    "https://www.eff.org/issues/encryption",
    "https://www.ncsc.gov.uk/collection/small-business-guide",
    "https://www.gov.uk/government/publications/secure-by-design",
    "https://example.org/report/cyber-crime-statistics",
    "https://www.europol.europa.eu/crime-areas/cybercrime",
)
CHATTER_SHARE = 0.15
QUOTE_SHARE = 0.10
LINK_SHARE = 0.10
TYPO_SHARE = 0.30


@dataclass
class Corpus:
    comments: list[SummaryComment]
    labels: list[int]  # planted argument id per comment, -1 = chatter
    popularity: list[float] = field(default_factory=list)  # planted P(argument)

    def top_arguments(self, k: int = 8) -> list[int]:
        counts: dict[int, int] = {}
        for lab in self.labels:
            if lab >= 0:
                counts[lab] = counts.get(lab, 0) + 1
        return sorted(counts, key=lambda a: (-counts[a], a))[:k]


def _typo(rng: random.Random, text: str) -> str:
    words = text.split(" ")
    for _ in range(rng.choice((1, 1, 2))):
        i = rng.randrange(len(words))
        w = words[i]
        if len(w) > 4:
            j = rng.randrange(1, len(w) - 2)
            op = rng.random()
            if op < 0.5:
                w = w[:j] + w[j + 1] + w[j] + w[j + 2:]
            elif op < 0.8:
                w = w[:j] + w[j + 1:]
            else:
                w = w[:j] + w[j] + w[j:]
            words[i] = w
    return " ".join(words)


def comment_text(rng: random.Random, arg: Argument) -> str:
    body = rng.choice(arg.forms)
    intro = rng.choice(INTROS)
    if intro:
        body = intro + body[0].lower() + body[1:]
    if arg.extras and rng.random() < 0.5:
        body += " " + rng.choice(arg.extras)
    body += rng.choice(OUTROS)
    if rng.random() < TYPO_SHARE:
        body = _typo(rng, body)
    if rng.random() < QUOTE_SHARE:
        body = f"> {rng.choice(PASSAGES)}\n{body}"
    if rng.random() < LINK_SHARE:
        body += " " + rng.choice(LINKS)
    return body


def make_corpus(
    n: int,
    seed: int = 0,
    *,
    zipf_s: float = 1.0,
    arguments: tuple[Argument, ...] = ARGUMENTS,
    weights: list[float] | None = None,
    reactions_per_comment: float = 1.5,
    days: int = 14,
) -> Corpus:
    """``n`` comments; deterministic by ``seed``."""
    rng = random.Random(seed)
    pop = weights or [1.0 / (r + 1) ** zipf_s for r in range(len(arguments))]
    total = sum(pop)
    pop = [p / total for p in pop]
    n_authors = max(12, n // 4)
    author_w = [1.0 / (a + 1) ** 0.6 for a in range(n_authors)]
    base = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
    times = sorted(rng.random() * days * 86400 for _ in range(n))
    arg_choice = rng.choices(range(len(arguments)), weights=pop, k=n)
    authors = rng.choices(range(n_authors), weights=author_w, k=n)
    comments, labels = [], []
    for i in range(n):
        cid = 10_000_000 + i
        if rng.random() < CHATTER_SHARE:
            text, lab, ag, dis = rng.choice(CHATTER), -1, 0, 0
        else:
            arg = arguments[arg_choice[i]]
            text, lab = comment_text(rng, arg), arg.aid
            r = _poisson(rng, reactions_per_comment)
            ag = sum(1 for _ in range(r) if rng.random() < arg.agree_share)
            dis = r - ag
        comments.append(
            SummaryComment(
                comment_id=cid,
                author_id=1000 + authors[i],
                text=text,
                created_at=base + timedelta(seconds=times[i]),
                jump_url=f"https://discord.com/channels/1/2/{cid}",
                agree=ag,
                disagree=dis,
            )
        )
        labels.append(lab)
    return Corpus(comments, labels, pop)


def _poisson(rng: random.Random, lam: float) -> int:
    # Knuth; lam is small
    import math

    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


# --------------------------------------------------------------------------- map topics


@dataclass
class PlantedTopics:
    topics: list  # list[MapTopic]
    cross_refs: list[tuple[int, int, int]]
    citations: list[tuple[int, str, int]]
    quote_links: list[tuple[int, int, int]]
    planted_pairs: set[frozenset[int]]  # pairs with a planted cross-ref or shared source


def make_topics(n: int, seed: int = 0, *, comments_per_topic: int = 12) -> PlantedTopics:
    """``n`` topics: a tree of items and sub-items, each topic's text drawn from one
    or two arguments (so similar topics share vocabulary), planted cross-references,
    shared citations (unique URLs per planted pair plus a few ubiquitous ones) and
    quote links."""
    from bot.core.topic_map import MapTopic

    rng = random.Random(seed)
    n_roots = max(1, min(n, max(3, n // 6)))
    topics = []
    for t in range(n):
        parent = None if t < n_roots else rng.randrange(n_roots)
        args = [rng.randrange(len(ARGUMENTS))]
        if rng.random() < 0.5:
            args.append(rng.randrange(len(ARGUMENTS)))
        body = " ".join(
            comment_text(rng, ARGUMENTS[rng.choice(args)]) for _ in range(comments_per_topic)
        )
        title_arg = ARGUMENTS[args[0]].forms[0]
        title = f"{t + 1}. " + " ".join(title_arg.split()[:7]).rstrip(",.")
        status = rng.choices(("open", "locked", "closed"), weights=(6, 1, 2))[0]
        topics.append(
            MapTopic(
                topic_id=t + 1,
                title=title,
                status=status,
                activity=int(5 + 400 / (1 + rng.random() * 40)),
                parent_id=None if parent is None else parent + 1,
                text=body,
            )
        )
    planted: set[frozenset[int]] = set()
    cross_refs, citations, quote_links = [], [], []
    ids = [tp.topic_id for tp in topics]
    if n >= 2:
        for _ in range(max(1, n // 3)):
            a, b = rng.sample(ids, 2)
            cross_refs.append((a, b, rng.randint(2, 6)))
            planted.add(frozenset((a, b)))
        for j in range(max(1, n // 4)):
            a, b = rng.sample(ids, 2)
            for s in range(3):
                url = f"https://example.org/source/{j}/{s}"
                citations.append((a, url, rng.randrange(1, 500)))
                citations.append((b, url, rng.randrange(1, 500)))
            planted.add(frozenset((a, b)))
        for t in ids:  # ubiquitous sources: cited everywhere, carry no signal
            if rng.random() < 0.6:
                citations.append((t, "https://www.gov.uk/", rng.randrange(1, 500)))
        for _ in range(max(1, n // 10)):
            a, b = rng.sample(ids, 2)
            quote_links.append((a, b, rng.randint(1, 4)))
    return PlantedTopics(topics, cross_refs, citations, quote_links, planted)


LONDON_AGENDA = Path(__file__).resolve().parents[1] / "data" / "agendas" / "london-2011.toml"


def london_topics(path: Path = LONDON_AGENDA) -> tuple[list, list]:
    """The London agenda's 12 items and sub-items as the rehearsal sees them: sub-items
    under their item, the agenda's related pairs, uneven activity, a locked and a closed
    topic.  Returns (topics, agenda_links) for ``build_map(topics, agenda_links=...)``."""
    import tomllib

    from bot.core.topic_map import MapTopic

    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    topics: list = []
    keys: dict[str, int] = {}
    related: list[tuple[str, str]] = []

    def add(item: dict, parent: int | None) -> None:
        tid = len(topics) + 1
        keys[item["key"]] = tid
        activity = [3, 9, 14, 41, 12, 7, 22, 5, 10, 2, 0, 1][(tid - 1) % 12]
        topics.append(MapTopic(topic_id=tid, title=item["title"], activity=activity,
                               parent_id=parent, text=item.get("body", "")))
        related.extend((item["key"], r) for r in item.get("related", []))
        for sub in item.get("items", []):
            add(sub, tid)

    for item in doc["items"]:
        add(item, None)
    topics[5] = topics[5].model_copy(update={"status": "locked"})
    topics[9] = topics[9].model_copy(update={"status": "closed"})
    links = [(keys[a], keys[b]) for a, b in related if a in keys and b in keys]
    return topics, links
