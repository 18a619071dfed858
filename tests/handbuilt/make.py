"""Write the hand-built detection scenarios of tests/handbuilt/ (what each one is and why: README.md here).

    python tests/handbuilt/make.py            # rewrites the committed CSVs beside this file
    python tests/handbuilt/make.py OUTDIR     # writes them elsewhere (the test compares the two)

Standard library only; nothing from graphlinker (least of all graphlinker.sim): the point of these
scenarios is that the detector's authors did not generate them. Every row is a plain function of
the account's name and the request's number: where a value should look irregular (a minute, which
of a few phrasings) it is chosen by ``h()``, a SHA-256 of those names, so the files are the same on
every machine and every run (and the 40 background people are the same in every scenario). Who shares what — the whole point of each scenario — is written out
literally below, never drawn.

All people, cards, addresses, phone numbers and ids are invented: e-mail domains are the reserved
``example.*`` ones, IPs come from documentation (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24),
benchmarking (198.18.0.0/15) and carrier-grade NAT (100.64.0.0/10) ranges, phone numbers from
Ofcom's range reserved for fiction (+44 7700 900xxx), national ids are in a made-up "ZZ" format.
"""

from __future__ import annotations

import csv
import hashlib
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
START = datetime(2026, 9, 1, tzinfo=UTC)  # a Tuesday; the requests span the 14 days from here
DAYS = 14
MODELS = ["model-a", "model-b"]  # both in use from day one: no scenario has a newly released model

ACCOUNT_COLUMNS = ["account_id", "created_at", "email_domain", "country", "org_id"]
PAYMENT_COLUMNS = ["account_id", "payment_fingerprint", "card_bin", "billing_country", "added_at"]
REQUEST_COLUMNS = ["account_id", "ts", "ip", "user_agent", "model", "prompt", "input_tokens", "output_tokens"]
IDENTIFIER_COLUMNS = ["account_id", "kind", "value", "seen_at"]

BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:130.0) Gecko/20100101 Firefox/130.0",
]
PHONES = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-A536B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0.0.0 Mobile Safari/537.36",
]
DEVELOPER_CLIENT = "python-httpx/0.27.0"  # a few background users call the API from their own scripts
WEBMAIL = ["example.com", "example.net", "example.org"]


def h(*parts: object) -> int:
    """A stable pseudo-random number from names: the same on every machine and Python version."""
    return int.from_bytes(hashlib.sha256("/".join(map(str, parts)).encode()).digest()[:8], "big")


def pick(options: list, *parts: object):
    return options[h(*parts) % len(options)]


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def tokens(text: str) -> int:
    """Input tokens as an API counts them, roughly: four characters a token."""
    return max(1, round(len(text) / 4))


# ---------------------------------------------------------------------------------------------
# Ordinary prompts. A prompt is an optional opener, one task with its slot filled, and an
# optional closer, so that two people rarely send the very same text, as in real traffic; a
# few tasks quote the user's own text ('...'), which everybody phrases alike.
# ---------------------------------------------------------------------------------------------

OPENERS = ["", "", "", "", "Quick question: ", "Hi! ", "Hey! ", "Can you help? ", "Please help: "]
CLOSERS = ["", "", "", "", " Keep it short.", " Thanks!", " Use bullet points.", " Explain it simply.",
           " Two or three sentences is enough.", " Thanks in advance."]

EVERYDAY = [  # (task, its slot's fillers): 35 everyday asks with 4 to 16 variants each
    ("What can I cook tonight with {}?", [
        "leftover rice and two eggs", "a tin of chickpeas and some spinach", "half a pumpkin", "frozen peas, pasta and a lemon",
        "three potatoes and an onion", "tofu and broccoli", "a bag of lentils and some carrots", "stale bread and tomatoes",
        "a cauliflower and a jar of curry paste", "two chicken thighs and a courgette", "mushrooms, cream and tagliatelle",
        "a can of coconut milk and some prawns", "sweet potatoes and black beans", "eggs, feta and a bunch of dill"]),
    ("Suggest a {} itinerary that works on a rainy day.", [
        "two-day Lisbon", "one-day Edinburgh", "weekend Vienna", "three-day Kyoto", "one-day Montreal", "two-day Dublin",
        "weekend Prague", "one-day Amsterdam", "three-day Buenos Aires", "two-day Seoul", "one-day Bruges", "weekend Krakow"]),
    ("How do I get {} out of a cotton shirt?", [
        "a red wine stain", "ballpoint ink", "grass stains", "candle wax", "turmeric", "bicycle grease", "coffee", "tomato sauce",
        "sweat marks", "chewing gum", "blood", "mud from a football pitch"]),
    ("My {} keeps dropping its Wi-Fi connection. What should I check first?", [
        "laptop", "smart TV", "printer", "phone", "game console", "doorbell camera", "tablet", "smart speaker", "e-reader",
        "desktop PC upstairs", "robot vacuum", "baby monitor"]),
    ("Write a short birthday message for {}.", [
        "my grandmother who loves gardening", "a coworker who is retiring", "my brother who just turned 30",
        "a friend who runs marathons", "the neighbours' kid who loves dinosaurs", "my aunt who just moved to Spain",
        "a friend who is a nurse", "my dad who loves fishing", "a teammate from my hockey club", "my best friend since school",
        "my sister who is expecting a baby", "an old teacher I still keep in touch with"]),
    ("Explain {} in simple terms.", [
        "how compound interest works", "what an index fund is", "why the sky is blue", "how vaccines train the immune system",
        "what inflation does to savings", "how a heat pump works", "how noise-cancelling headphones work",
        "what a mortgage offset account is", "how solar panels make electricity", "why bread goes stale",
        "what a credit score is", "how an electric car's battery ages", "what jet lag does to the body",
        "how a pension works"]),
    ("Which houseplants do well in {}?", [
        "a dark bathroom", "a sunny windowsill", "a flat with cats", "an office with no windows", "a cold hallway",
        "a humid kitchen", "a north-facing bedroom", "hanging baskets indoors", "a student room", "a home with toddlers"]),
    ("Give me a {} workout I can do at home without equipment.", [
        "beginner", "low-impact", "core-focused", "quick morning", "knee-friendly", "lower-body", "stretching-only",
        "pregnancy-safe", "lunch-break", "back-friendly", "upper-body", "cardio"]),
    ("Recommend three {} for a long train ride.", [
        "mystery novels", "history podcasts", "science fiction books", "books about the ocean", "funny audiobooks",
        "short story collections", "books about mountaineering", "true crime podcasts", "graphic novels",
        "books set in Japan", "biographies of scientists", "cosy fantasy novels"]),
    ("How should I prepare for {}?", [
        "a job interview at a bakery", "my first half marathon", "a driving test", "a camping trip in autumn",
        "a move to a new city", "a long-haul flight with a baby", "a dentist appointment I'm nervous about",
        "a salary negotiation", "my first week at a new job", "a job interview at a bank", "a hiking trip in the Alps",
        "a power cut during a storm"]),
    ("Help me write a polite email to {}.", [
        "my landlord about a broken heater", "a plumber asking for a quote", "a hotel about a late check-in",
        "my gym to cancel my membership", "a neighbour about their barking dog", "my child's school about a day off",
        "an airline about a lost suitcase", "a shop about a faulty kettle", "a recruiter to decline an offer",
        "my council about a missed bin collection", "a client to reschedule a meeting", "my bank about a double charge"]),
    ("What is the difference between {}?", [
        "baking soda and baking powder", "a virus and a bacterium", "weather and climate", "RAM and storage",
        "latitude and longitude", "an alligator and a crocodile", "a cold and the flu", "jam and jelly",
        "a stock and a bond", "a tornado and a hurricane", "a lawyer and a solicitor", "espresso and filter coffee"]),
    ("Is it safe to {}?", [
        "freeze cooked rice", "run the dishwasher overnight", "charge my phone overnight", "eat eggs a week past the date on the box",
        "reheat chicken twice", "leave a candle burning in another room", "use a space heater in a bedroom",
        "give my dog a bit of cheese", "drink tap water in Lisbon", "swim right after eating", "paint a room while pregnant",
        "use an extension lead for a kettle"]),
    ("How long should I {}?", [
        "boil an egg for a runny yolk", "let bread dough rise", "steep green tea", "rest a steak after cooking",
        "roast a whole chicken", "leave hair dye on", "wait before walking on a new lawn", "soak dried beans",
        "charge a new e-bike battery", "nap to feel refreshed", "marinate salmon", "cook brown rice"]),
    ("What are fun things to do with kids in {}?", [
        "Barcelona", "a small town on a rainy weekend", "the countryside in spring", "Copenhagen", "London on a budget",
        "the Lake District", "Paris in winter", "a seaside town out of season", "Berlin", "the Scottish Highlands",
        "a big city in a heatwave", "Rome"]),
    ("Suggest a name for {}.", [
        "a grey kitten", "a book club that meets on Thursdays", "a small coffee cart", "a five-a-side football team",
        "a sourdough starter", "a family group chat", "a rescue greyhound", "a quiz team", "a vegetable allotment",
        "a knitting circle", "a camper van", "a goldfish"]),
    ("Summarise the plot of {} without spoilers.", [
        "Pride and Prejudice", "The Odyssey", "Moby-Dick", "Frankenstein", "Jane Eyre", "Great Expectations", "Don Quixote",
        "The Count of Monte Cristo", "Wuthering Heights", "Dracula", "War and Peace", "Les Misérables"]),
    ("Translate '{}' into Spanish.", ["where is the nearest pharmacy", "thank you for dinner", "a table for two, please",
                                      "how much does this cost"]),
    ("What should I look for when buying {}?", [
        "a used bicycle", "a winter coat", "a second-hand car", "running shoes", "a laptop for school", "a sofa bed",
        "a kitchen knife", "a child's car seat", "a tent for two", "a washing machine", "hiking boots", "a mattress"]),
    ("Make a packing list for {}.", [
        "a weekend at the beach", "a week of hiking", "a business trip to Oslo", "a music festival", "a ski holiday",
        "a hospital stay", "a road trip with two dogs", "a wedding abroad", "a city break in December", "a school trip",
        "a fortnight in Thailand", "a canoe trip"]),
    ("How do I {} in a spreadsheet?", [
        "remove duplicate rows", "freeze the top row", "make a drop-down list", "count the cells that contain text",
        "split first and last names into two columns", "highlight overdue dates", "make a simple budget", "sort by two columns",
        "turn a column of dates into weekdays", "protect one sheet", "make a bar chart", "add up a column by month"]),
    ("Why does my {}?", [
        "sourdough come out flat", "cat knock things off the table", "basil plant keep wilting", "bike chain keep slipping",
        "laptop fan run all the time", "dog bark at the post", "shower drain smell", "car battery keep dying",
        "rice turn out sticky", "fridge make a clicking noise", "cake sink in the middle", "phone battery drain overnight"]),
    ("Write a limerick about {}.", [
        "a forgetful penguin", "a cat who hates Mondays", "a very slow bus", "burnt toast", "a tortoise in a hurry",
        "a wizard who lost his hat", "a sleepy owl", "a runaway shopping trolley", "a vegetarian shark", "a haunted fridge"]),
    ("What are healthy snacks for {}?", [
        "a long drive", "an afternoon at the office", "kids after school", "someone who can't eat nuts", "a night shift",
        "a football match", "a hike", "revision sessions", "someone with diabetes", "a toddler's lunchbox"]),
    ("How do I {}?", [
        "unclog a bathroom sink", "repot a cactus", "tie a bowline knot", "descale a kettle", "change a bike tyre",
        "bleed a radiator", "clean a cast-iron pan", "sharpen a kitchen knife", "fold a fitted sheet", "get rid of fruit flies",
        "defrost a freezer quickly", "hang a heavy mirror", "stop a door from squeaking", "reset a router"]),
    ("Can you plan a week of {} dinners?", [
        "vegetarian", "cheap", "quick weeknight", "high-protein", "gluten-free", "one-pot", "Mediterranean",
        "freezer-friendly", "kid-friendly", "low-salt"]),
    ("What's a good gift for {}?", [
        "a friend who just got a puppy", "my mum who has everything", "a colleague leaving for a new job",
        "a ten-year-old who likes space", "someone who loves tea", "a new neighbour", "my partner who cycles to work",
        "a grandparent who lives alone", "a teenager who is into photography", "a couple who just got married"]),
    ("How can I save money on {}?", [
        "groceries", "my heating bill", "train tickets", "a wedding", "childcare", "my phone contract", "car insurance",
        "a holiday in August", "school uniforms", "the weekly food shop for four"]),
    ("What's the best way to learn {}?", [
        "to play the guitar as an adult", "basic Italian before a trip", "to touch type", "to swim front crawl",
        "sign language", "to draw faces", "to bake bread", "to cook Thai food", "photography with my phone", "chess openings"]),
    ("Give me a short history of {}.", [
        "the bicycle", "chocolate", "the printing press", "the Olympic Games", "tea in Britain", "the London Underground",
        "jeans", "coffee houses", "the postcard", "football in Brazil"]),
    ("Write a short thank-you note to {}.", [
        "my child's teacher at the end of term", "a neighbour who watered my plants", "the nurses who looked after my dad",
        "a friend who helped me move house", "my team after a busy month", "a host after a dinner party",
        "the volunteers at our food bank", "a stranger who returned my wallet"]),
    ("What are good questions to ask {}?", [
        "at a nursery visit", "a landlord before renting", "at the end of a job interview", "a vet about an older cat",
        "a builder before hiring them", "on a first date", "a financial adviser", "a wedding photographer"]),
    ("How do I make {} from scratch?", [
        "pizza dough", "mayonnaise", "a basic tomato sauce", "pancakes", "hummus", "granola", "chicken stock", "fresh pasta",
        "flatbread", "apple crumble", "guacamole", "lemonade"]),
    ("What is a good name for a podcast about {}?", [
        "gardening", "local history", "board games", "running", "parenting twins", "old films", "birdwatching", "home repair"]),
    ("Tips for {}?", [
        "sleeping better in hot weather", "staying focused when working from home", "keeping a toddler busy on a flight",
        "running in the rain", "keeping houseplants alive", "getting up early", "cutting down on sugar", "making friends in a new city",
        "packing light", "writing a wedding speech", "waking up a teenager", "staying warm without the heating on"]),
]

WORK = [  # what people at a freight-forwarding company ask during the working day
    ("Draft a short reply to a customer whose {} was delayed.", [
        "pallet delivery", "container shipment", "parcel to Rotterdam", "refrigerated load", "furniture order",
        "air freight consignment", "return shipment", "delivery of spare parts"]),
    ("Write an SQL query that returns {}.", [
        "the ten customers with the most late deliveries last month", "orders that have no invoice yet",
        "the average delivery time per depot", "drivers who worked more than 48 hours in a week",
        "shipments that were scanned twice", "the busiest hour of the day per warehouse", "customers with no orders this year",
        "the total weight shipped per country"]),
    ("Which Excel formula gives me {}?", [
        "the number of working days between two dates", "the last non-empty cell in a column",
        "a lookup from another sheet by order number", "the total weight per customer", "the week number of a date",
        "the second-largest value in a range", "a running total", "the share of late deliveries"]),
    ("Suggest a clearer title for a slide about {}.", [
        "fuel costs this quarter", "our new returns process", "warehouse safety incidents", "customer satisfaction scores",
        "the new depot in Leeds", "driver turnover", "carbon emissions per delivery", "the budget for next year"]),
    ("Give me a checklist for {}.", [
        "onboarding a new warehouse employee", "a quarterly fire drill", "closing the books at month end",
        "a forklift safety inspection", "a customer site visit", "moving to a new office", "a customs audit",
        "handing over to the night shift"]),
    ("Write a Python function that {}.", [
        "sums the shipment weights per destination in a CSV file", "converts a list of parcel weights from kilograms to pounds",
        "checks that a tracking number has eleven characters", "finds duplicate order numbers in a list",
        "rounds delivery times to the nearest quarter hour", "reads an Excel sheet and prints the late orders"]),
    ("Help me phrase a message asking {}.", [
        "for a deadline extension", "a supplier to confirm a pickup time", "the team to fill in their timesheets",
        "IT for a second monitor", "a customer to pay an overdue invoice", "my manager for a day off next Friday",
        "a driver to send photos of the damage", "finance to approve a purchase order"]),
    ("What are the pros and cons of {}?", [
        "cross-docking", "route optimisation software", "a four-day work week", "moving our spreadsheets to a database",
        "electric delivery vans", "hot-desking", "outsourcing our payroll", "night deliveries"]),
    ("Proofread this sentence for me: '{}'", ["Please find attached the revised quotation for you're review.",
                                              "The shipment have been dispatched yesterday.",
                                              "We appologise for the inconvenience caused."]),
    ("Summarise these notes as three action items: {}", [
        "Depot B short two drivers next week, agency quote pending, Sam to check overtime budget.",
        "Customer wants weekly reports instead of monthly, format unclear, follow up with Priya.",
        "New scanner firmware breaks label printing, rollback planned Friday, warn the night shift.",
        "Forklift 3 failed inspection, parts ordered, rota to cover loading bay until Thursday.",
        "Quarterly review moved to the 14th, slides due the 10th, Lee owns the cost section."]),
    ("How do I explain {} to a new colleague?", [
        "incoterms", "what a bill of lading is", "how we calculate volumetric weight", "the difference between LTL and FTL",
        "how customs clearance works", "what a pro forma invoice is", "our booking system", "demurrage charges"]),
    ("Write a friendly reminder about {} for the team chat.", [
        "the office party on Friday", "expense reports due Monday", "the fire alarm test at 10", "cleaning out the fridge",
        "the charity bake sale", "locking the loading bay doors", "booking holidays for August", "the new parking rules"]),
    ("What is a good way to structure {}?", [
        "a one-to-one with a new hire", "a weekly operations report", "a post-mortem after a missed delivery",
        "a training day for dispatchers", "a quarterly business review", "a handover document", "an all-hands meeting",
        "a supplier scorecard"]),
    ("Translate this email line into German: '{}'", ["Thank you for your quick reply.",
                                                     "The truck will arrive between 8 and 10 am.",
                                                     "Could you send us the customs documents?"]),
]

STUDY = [  # what teenagers ask after school
    ("Explain how to solve {} step by step.", ["3x + 5 = 20", "2(x - 4) = 10", "x^2 - 9 = 0", "5x - 7 = 3x + 9"]),
    ("What were the main causes of {}?", ["the French Revolution", "the First World War", "the Great Depression",
                                          "the fall of the Western Roman Empire"]),
    ("Give me ideas for a school project on {}.", ["renewable energy", "the water cycle", "ancient Egypt", "volcanoes"]),
    ("What does {} mean?", ["photosynthesis", "a metaphor", "osmosis", "supply and demand"]),
    ("Recommend songs similar to {}.", ["lo-fi study beats", "90s Britpop", "film soundtracks", "acoustic folk"]),
    ("Is this a good opening line for my essay: '{}'?", ["Since the dawn of time, people have wanted to fly.",
                                                          "Social media changed how we talk to each other.",
                                                          "Recycling is not enough to save the planet."]),
    ("Quiz me on {} with five questions.", ["the periodic table", "World War Two dates", "French verbs in the present tense",
                                            "the planets of the solar system"]),
    ("Any tips for {}?", ["revising for a chemistry exam", "getting better at chess", "learning to skateboard",
                          "memorising a speech"]),
]


def ordinary_prompt(tasks: list, *key: object) -> str:
    template, fillers = pick(tasks, *key, "task")
    return pick(OPENERS, *key, "opener") + template.format(pick(fillers, *key, "filler")) + pick(CLOSERS, *key, "closer")


def ordinary_output(*key: object) -> int:
    """A chat answer: 120 to 719 tokens."""
    return 120 + h(*key, "output") % 600


# ---------------------------------------------------------------------------------------------
# The files of one scenario, and the people who appear in every scenario.
# ---------------------------------------------------------------------------------------------

class Scenario:
    def __init__(self, name: str) -> None:
        self.name = name
        self.accounts: list[list] = []
        self.payments: list[list] = []
        self.requests: list[list] = []
        self.identifiers: list[list] = []

    def write(self, root: Path) -> None:
        folder = root / self.name
        folder.mkdir(parents=True, exist_ok=True)
        tables = [("accounts", ACCOUNT_COLUMNS, self.accounts), ("payments", PAYMENT_COLUMNS, self.payments),
                  ("requests", REQUEST_COLUMNS, sorted(self.requests, key=lambda r: (r[1], r[0]))),
                  ("identifiers", IDENTIFIER_COLUMNS, self.identifiers)]
        for name, columns, rows in tables:
            if name == "identifiers" and not rows:
                continue  # identifiers.* is optional: only the scenario about them has it
            with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as out:
                writer = csv.writer(out, lineterminator="\n")
                writer.writerow(columns)
                writer.writerows(rows)


def casual_requests(scenario: Scenario, account: str, count: int, tasks: list, ip: str, client: str, hours: range) -> None:
    """``count`` ordinary requests at irregular times: any of the 14 days, an hour of ``hours``, any minute."""
    for k in range(count):
        key = (account, k)
        moment = START + timedelta(days=h(*key, "day") % DAYS, hours=pick(list(hours), *key, "hour"), minutes=h(*key, "minute") % 60,
                                   seconds=h(*key, "second") % 60)
        prompt = ordinary_prompt(tasks, *key)
        scenario.requests.append([account, iso(moment), ip, client, pick(MODELS, *key, "model"), prompt, tokens(prompt),
                                  ordinary_output(*key)])


BACKGROUND_COUNTS = [3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 45]  # requests per person in two weeks: mostly light, a few heavy


def add_background(scenario: Scenario) -> None:
    """40 unrelated people ("bg-01".."bg-40"): their own card, their own home IP, everyday questions.

    They are the population every cluster is measured against (a cluster's output volume, its
    output/input ratio and its template reuse are ratios to the population's median account).
    Every eighth one is a developer calling the API from a script.
    """
    for n in range(1, 41):
        account = f"bg-{n:02d}"
        created = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=9 * n, hours=h("bg", n, "created") % 24)
        country = pick(["GB", "US", "DE", "FR", "IN", "BR", "CA", "NL"], "bg", n, "country")
        scenario.accounts.append([account, iso(created), pick(WEBMAIL, "bg", n, "mail"), country, ""])
        scenario.payments.append([account, f"card_bg_{n:02d}", str(400000 + 1111 * n), country,
                                  iso(created + timedelta(days=1))])
        ip = f"198.18.{n}.{10 + n}"  # one home connection each, each in its own /24
        client = DEVELOPER_CLIENT if n % 8 == 0 else pick(BROWSERS, "bg", n, "browser")
        casual_requests(scenario, account, pick(BACKGROUND_COUNTS, "bg", n, "count"), EVERYDAY, ip, client, range(7, 23))


# ---------------------------------------------------------------------------------------------
# a. A ring of four accounts on one card and one /24, harvesting grader and chain-of-thought
#    outputs with a script.
# ---------------------------------------------------------------------------------------------

RING = ["ring-1", "ring-2", "ring-3", "ring-4"]
RING_CARD = "card_7Q2mXv"  # the one card all four pay with
RING_IPS = ["203.0.113.21", "203.0.113.22", "203.0.113.37", "203.0.113.58"]  # one VPS each, all in 203.0.113.0/24

QUESTIONS = [  # (question, a candidate answer to be graded) — some answers right, some wrong
    ("What is the boiling point of water at sea level in Celsius?", "100 degrees Celsius."),
    ("Who wrote 'Hamlet'?", "Christopher Marlowe wrote Hamlet in 1601."),
    ("Why do we have seasons on Earth?", "Because the Earth is closer to the Sun in summer."),
    ("What is the derivative of x^3?", "3x^2."),
    ("Name the largest planet in the solar system.", "Saturn, because of its rings."),
    ("What does DNA stand for?", "Deoxyribonucleic acid."),
    ("How many sides does a hexagon have?", "Six."),
    ("What causes tides?", "Mostly the Moon's gravity pulling on the oceans, with a smaller effect from the Sun."),
    ("What is the capital of Australia?", "Sydney."),
    ("Explain what a prime number is.", "A number divisible only by 1 and itself, greater than 1."),
    ("Why is the ocean salty?", "Rivers carry dissolved minerals from rocks into the sea, where they accumulate."),
    ("What is Newton's second law?", "Force equals mass times acceleration."),
    ("What is the main gas in Earth's atmosphere?", "Oxygen."),
    ("What is 15% of 240?", "36."),
    ("Translate 'good morning' into French.", "Bonne nuit."),
    ("What is the time complexity of binary search?", "O(log n)."),
    ("Who painted the Mona Lisa?", "Leonardo da Vinci."),
    ("What is the chemical symbol for gold?", "Ag."),
    ("Why do leaves change colour in autumn?", "Chlorophyll breaks down, revealing yellow and orange pigments."),
    ("What is the square root of 144?", "12."),
]

PROBLEMS = [  # word problems; the numbers change with the request number
    "A train travels {a} km at {b} km/h and then {c} km at {d} km/h. What is its average speed?",
    "A shop sells pens at {a} for {b} dollars. How much do {c} pens cost?",
    "A rectangle has a perimeter of {a} cm and one side of {b} cm. What is its area?",
    "If {a} workers build a wall in {b} days, how long do {c} workers take?",
    "A tank holds {a} litres and leaks {b} litres per hour. After how many hours is it a quarter full?",
    "The sum of two numbers is {a} and their difference is {b}. Find the numbers.",
    "A price rises by {a}% and then falls by {b}%. What is the overall change?",
    "How many ways can {a} people sit in a row of {b} chairs?",
]

GRADER = ("You are a strict grader. Score the following answer from 1 to 10 for correctness and completeness, "
          "then justify the score.\n\nQuestion: {q}\n\nAnswer: {a}")
PAIRWISE = ("Below are two responses to the same question. Decide which one is better, give each a score "
            "from 1 to 10 and explain the scores.\n\nQuestion: {q}\n\nResponse A: {a}\n\nResponse B: {b}")
CHAIN = ("Solve the following problem. Think step by step and write out your full reasoning before the final "
         "answer.\n\n{p}")


def ring_prompt(item: int) -> tuple[str, int]:
    """The ``item``-th job of the harvesting script's queue: its prompt and the answer's length in tokens.

    The queue cycles grader, pairwise, chain of thought. Graders answer in a paragraph; chains of
    thought are long (the reasoning is what is harvested).
    """
    question, answer = QUESTIONS[item % len(QUESTIONS)]
    other = QUESTIONS[(item + 7) % len(QUESTIONS)][1]
    if item % 3 == 0:
        return GRADER.format(q=question, a=answer), 250 + h("ring", item) % 200
    if item % 3 == 1:
        return PAIRWISE.format(q=question, a=answer, b=other), 300 + h("ring", item) % 200
    numbers = {"a": 20 + item % 97, "b": 3 + item % 11, "c": 5 + item % 23, "d": 2 + item % 7}
    return CHAIN.format(p=PROBLEMS[item % len(PROBLEMS)].format(**numbers)), 1200 + h("ring", item) % 900


def add_ring(scenario: Scenario) -> None:
    """Four accounts opened within an hour on 3 September, all paying with ``RING_CARD``.

    A script splits one queue of grading and reasoning jobs across the four (to stay under
    per-account rate limits): twice a day for three days it runs 20 rounds, one every 4 minutes,
    and in each round every account sends its next job within the same minute.
    """
    opened = datetime(2026, 9, 3, 2, 10, tzinfo=UTC)
    for i, account in enumerate(RING):
        created = opened + timedelta(minutes=17 * i)
        scenario.accounts.append([account, iso(created), WEBMAIL[i % 3], "US", ""])
        scenario.payments.append([account, RING_CARD, "431940", "US", iso(created + timedelta(minutes=4))])
    item = 0
    for day in (3, 4, 5):
        for session_hour in (1, 13):
            for round_ in range(20):
                start = START + timedelta(days=day, hours=session_hour, minutes=4 * round_)
                for i, account in enumerate(RING):
                    prompt, output = ring_prompt(item)
                    moment = start + timedelta(seconds=5 * i + h("ring", item, "jitter") % 30)
                    scenario.requests.append([account, iso(moment), RING_IPS[i], "python-requests/2.32.3", "model-b",
                                              prompt, tokens(prompt), output])
                    item += 1


# ---------------------------------------------------------------------------------------------
# b. An office of 30 behind one NAT address, all on one corporate card.
# ---------------------------------------------------------------------------------------------

OFFICE = [f"office-{n:02d}" for n in range(1, 31)]
OFFICE_IP = "198.51.100.7"  # the office's only public address
OFFICE_CARD = "card_Nw3Corp"


def add_office(scenario: Scenario) -> None:
    """Staff of a freight forwarder: company e-mail domain, one org id, one corporate card, one NAT IP.

    Each works weekdays 09:00-17:59 and sends 1 to 5 questions a working day (mostly work, some
    everyday) from a desktop browser. Accounts were opened over three years as people joined.
    """
    workdays = [d for d in range(DAYS) if (START + timedelta(days=d)).weekday() < 5]
    for n, account in enumerate(OFFICE, start=1):
        created = datetime(2023, 5, 2, 9, tzinfo=UTC) + timedelta(days=37 * n)
        scenario.accounts.append([account, iso(created), "northwind-freight.example", "GB", "org_northwind"])
        scenario.payments.append([account, OFFICE_CARD, "552233", "GB", iso(created + timedelta(hours=2))])
        k = 0
        for day in workdays:
            for _ in range(1 + h("office", account, day) % 5):
                key = ("office", account, k)
                moment = START + timedelta(days=day, hours=9 + h(*key, "hour") % 9, minutes=h(*key, "minute") % 60,
                                           seconds=h(*key, "second") % 60)
                prompt = ordinary_prompt(WORK if h(*key, "topic") % 4 else EVERYDAY, *key)
                scenario.requests.append([account, iso(moment), OFFICE_IP, pick(BROWSERS, "office", account),
                                          pick(MODELS, *key, "model"), prompt, tokens(prompt), ordinary_output(*key)])
                k += 1


# ---------------------------------------------------------------------------------------------
# c. A household: two parents and two teenagers on one card and one home connection.
# ---------------------------------------------------------------------------------------------

HOUSEHOLD = ["home-parent-1", "home-parent-2", "home-teen-1", "home-teen-2"]
HOUSEHOLD_CARD = "card_Fam88k"
HOUSEHOLD_IP = "192.0.2.44"


def add_household(scenario: Scenario) -> None:
    """The parents opened their accounts in 2024 and later added the teenagers', all on the family card.

    Evenings and weekends, from home: the parents ask everyday things, the teenagers mostly
    homework (which sometimes asks for a worked solution) and music.
    """
    created = ["2024-02-11T19:05:00Z", "2024-02-11T19:40:00Z", "2025-09-02T17:15:00Z", "2026-01-06T16:30:00Z"]
    for account, when, count in zip(HOUSEHOLD, created, [14, 9, 22, 12], strict=True):
        scenario.accounts.append([account, when, pick(WEBMAIL, account), "GB", ""])
        scenario.payments.append([account, HOUSEHOLD_CARD, "475129", "GB", when])
        tasks = STUDY + EVERYDAY[:6] if "teen" in account else EVERYDAY
        casual_requests(scenario, account, count, tasks, HOUSEHOLD_IP, pick(BROWSERS + PHONES, account), range(16, 23))


# ---------------------------------------------------------------------------------------------
# d. 300 unrelated people behind one mobile carrier's NAT.
# ---------------------------------------------------------------------------------------------

CARRIER = [f"mobile-{n:03d}" for n in range(1, 301)]
CARRIER_NAT = ["100.64.7.1", "100.64.7.2", "100.64.7.3", "100.64.7.4"]  # the carrier's NAT pool: one /24


def add_carrier(scenario: Scenario) -> None:
    """Strangers on phones: their own cards, 2 to 8 everyday questions each; each request leaves from
    whichever of the four NAT addresses the carrier hands out at that moment."""
    for n, account in enumerate(CARRIER, start=1):
        created = datetime(2024, 6, 1, tzinfo=UTC) + timedelta(hours=29 * n + h("mobile", n) % 29)
        scenario.accounts.append([account, iso(created), pick(WEBMAIL, "mobile", n), "GB", ""])
        scenario.payments.append([account, f"card_m{n:03d}", str(510000 + 37 * n), "GB", iso(created + timedelta(days=2))])
        client = pick(PHONES, "mobile", n)
        for k in range(2 + h("mobile", n, "count") % 7):
            key = (account, k)
            moment = START + timedelta(days=h(*key, "day") % DAYS, hours=7 + h(*key, "hour") % 16,
                                       minutes=h(*key, "minute") % 60, seconds=h(*key, "second") % 60)
            prompt = ordinary_prompt(EVERYDAY, *key)
            scenario.requests.append([account, iso(moment), pick(CARRIER_NAT, *key, "nat"), client,
                                      pick(MODELS, *key, "model"), prompt, tokens(prompt), ordinary_output(*key)])


# ---------------------------------------------------------------------------------------------
# e. A first-party fraud ring: five accounts on one address, one phone and one national id.
# ---------------------------------------------------------------------------------------------

FRAUD = ["fraud-1", "fraud-2", "fraud-3", "fraud-4", "fraud-5"]
FRAUD_ADDRESS = "Flat 2, 17 Quarry Lane, Exampleton EX1 2AB"
FRAUD_PHONE = "+44 7700 900417"
FRAUD_NATIONAL_ID = "ZZ-000417-C"


def add_identifiers_for_everyone(scenario: Scenario, people: list[str]) -> None:
    """Each person's own address, phone and national id, as a KYC export lists them."""
    streets = ["Mill Road", "Station Street", "Church Lane", "Park Avenue", "Orchard Close", "High Street"]
    for n, account in enumerate(people, start=1):
        seen = iso(START - timedelta(days=30 + n))
        scenario.identifiers += [
            [account, "address", f"{n} {pick(streets, account)}, Exampleton EX{1 + n % 9} {n % 9}CD", seen],
            [account, "phone", f"+44 7700 900{n:03d}", seen],  # 001..040: never 417
            [account, "national_id", f"ZZ-{n:06d}-A", seen],
        ]


def add_fraud_ring(scenario: Scenario) -> None:
    """Five synthetic identities opened over three weeks, each with its own card, connection and
    webmail address, but the same address, phone and national id on file (identifiers.csv).
    They use the service lightly and ordinarily: the fraud is in who they are, not what they ask.
    """
    for n, account in enumerate(FRAUD, start=1):
        created = datetime(2026, 8, 6, 11, tzinfo=UTC) + timedelta(days=5 * n, hours=3 * n)
        scenario.accounts.append([account, iso(created), WEBMAIL[n % 3], "GB", ""])
        scenario.payments.append([account, f"card_F{n}x{n * 7}", str(492100 + n), "GB", iso(created + timedelta(hours=1))])
        seen = iso(created)
        scenario.identifiers += [[account, "address", FRAUD_ADDRESS, seen], [account, "phone", FRAUD_PHONE, seen],
                                 [account, "national_id", FRAUD_NATIONAL_ID, seen]]
        casual_requests(scenario, account, 6 + 2 * n, EVERYDAY, f"198.19.{40 * n}.{9 + n}", pick(BROWSERS + PHONES, account),
                        range(8, 23))


def build() -> list[Scenario]:
    ring, office, household, carrier, fraud = (Scenario(name) for name in (
        "ring_grader", "office_nat", "household_card", "carrier_nat", "fraud_ring_identifiers"))
    for scenario in (ring, office, household, carrier, fraud):
        add_background(scenario)
    add_ring(ring)
    add_office(office)
    add_household(household)
    add_carrier(carrier)
    add_identifiers_for_everyone(fraud, [f"bg-{n:02d}" for n in range(1, 41)])
    add_fraud_ring(fraud)
    return [ring, office, household, carrier, fraud]


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    for scenario in build():
        scenario.write(root)
