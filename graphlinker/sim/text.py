"""Prompt generators: vocabularies, sentence structures and the vectorised template filler.

Benign prompts are composed from prefix x core structure x suffix x slot values in
five languages, so two benign users rarely share a template. Everything else is
a fixed template (hub, homework, extraction, agentic) whose slots vary per row.
"""

from __future__ import annotations

import string

import numpy as np

_FORMATTER = string.Formatter()


def _v(text: str) -> np.ndarray:
    return np.array(text.split("|"), dtype=object)


V = {
    "topic": _v("machine learning|inflation|photosynthesis|the French Revolution|blockchain|climate change|quantum computing|"
                "stoic philosophy|compound interest|the immune system|black holes|supply and demand|the Roman Empire|CRISPR|"
                "jazz harmony|object-oriented programming|the stock market|sleep cycles|plate tectonics|impressionism|"
                "game theory|the water cycle|neural networks|mortgage refinancing|the electoral college|probability|"
                "renewable energy|microservices|mindfulness|the Cold War"),
    "thing": _v("my cat|autumn|coffee|the ocean|a rainy Monday|electric cars|remote work|my grandmother's kitchen|city life|"
                "a lost umbrella|social media|the moon|running shoes|houseplants|a first date|old friends|the mountains|"
                "public transport|video games|homemade bread"),
    "city": _v("Lisbon|Tokyo|New York|Mexico City|Berlin|Kyoto|Barcelona|Istanbul|Buenos Aires|Seoul|Prague|Cape Town|"
               "Vancouver|Bangkok|Rome|Marrakech|Sydney|Reykjavik|Hanoi|Edinburgh"),
    "food": _v("lasagna|chicken curry|banana bread|pad thai|a vegan chili|sourdough|tacos al pastor|risotto|ramen|"
               "a birthday cake|falafel|shakshuka|pancakes|beef stew|sushi rice"),
    "job": _v("data analyst|nurse|junior developer|marketing manager|teacher|product designer|barista|project manager|"
              "accountant|mechanical engineer|sales associate|research assistant"),
    "issue": _v("a broken heater|a late rent payment|noisy neighbours|a leaking roof|renewing my lease|mold in the bathroom|"
                "a parking spot|the security deposit"),
    "skill": _v("public speaking|chess|guitar|time management|Spanish|drawing|negotiation|swimming|writing|focus|cooking|budgeting"),
    "plang": _v("Python|JavaScript|SQL|Rust|Java|Go|C#|TypeScript|Bash|R"),
    "task": _v("removes duplicates from a list|parses a CSV file|reverses a linked list|validates an email address|"
               "merges two sorted arrays|counts word frequencies|retries an HTTP request|converts Celsius to Fahrenheit|"
               "flattens a nested dictionary|finds the longest palindrome"),
    "error": _v("a KeyError|an IndexError|a null pointer exception|'undefined is not a function'|a segmentation fault|"
                "a timeout|a CORS error|a syntax error|a deadlock|an out-of-memory error"),
    "animal": _v("golden retriever|kitten|parrot|hamster|rescue greyhound|goldfish|bearded dragon|rabbit"),
    "activity": _v("eat raw cookie dough|run every day|take ibuprofen with coffee|swim after eating|"
                   "leave my laptop charging overnight|microwave plastic containers|use expired yeast"),
    "month": _v("January|March|April|June|July|October|November|December"),
    "language": _v("Spanish|German|Japanese|Italian|Portuguese|Korean"),
    "phrase": _v("good morning|where is the train station|I'm allergic to nuts|thank you very much|how much does this cost|see you tomorrow"),
    "casual": _v("gonna be late, traffic is crazy|can u send me the file asap|that meeting was kinda pointless|"
                 "i messed up the numbers, sorry|lets just push it to next week"),
    "cs": _v("recursion|hash tables|Big-O notation|binary search|pointers|dynamic programming|linked lists|"
             "graph traversal|closures|polymorphism|deadlocks|virtual memory|TCP handshakes|SQL joins|unit testing|"
             "garbage collection|regular expressions|sorting algorithms|inheritance|caching"),
    "product": _v("stainless steel water bottle|wireless earbuds|bamboo cutting board|ergonomic office chair|"
                  "kids' rain jacket|LED desk lamp|yoga mat|cast iron skillet|phone case|hiking backpack"),
    "sentence": _v("The quarterly results exceeded expectations despite rising costs.|Our team will move to the new office next month.|"
                   "The city council approved a new plan for bike lanes downtown.|I have been waiting for my refund for three weeks.|"
                   "The product arrived damaged and the box was open.|Researchers found that sleep improves memory consolidation.|"
                   "Please find attached the minutes of yesterday's meeting.|The concert was cancelled because of the storm.|"
                   "Prices for rental apartments rose by eight percent last year.|Customer support never answered my emails.|"
                   "The new update drains my battery much faster than before.|We are excited to announce our summer internship program.|"
                   "The hiking trail is closed until further notice.|He said that he dont like the new schedule.|"
                   "Their going to announce the winners tomorrow morning.|The museum offers free entry on the first Sunday of each month.|"
                   "Shipping took longer than promised but the quality is great.|The study had a small sample and no control group.|"
                   "Me and my friend was planning to visit the coast.|Absolutely love this blender, it crushes ice in seconds.|"
                   "The software crashes whenever I open a large file.|Local farmers expect a smaller harvest because of the drought."),
    "reason": _v("First I multiplied the two values, then subtracted the remainder.|I used the formula for the sum of a series.|"
                 "By symmetry the two cases are equal, so I doubled one of them.|I checked each case separately and added them up.|"
                 "Converting the units first makes the rest straightforward."),
}

_EN_CORES = _v(
    "what is the difference between {topic} and {topic2}?|write a short poem about {thing}|give me a {n}-day itinerary for {city}|"
    "how do I make {food} without an oven?|explain {topic} like I'm five|write a cover letter for a {job} position|"
    "can you recommend {n} books about {topic}?|draft a polite email to my landlord about {issue}|"
    "help me plan a birthday party for my {n}-year-old|what are the pros and cons of {thing}?|"
    "write a {plang} function that {task}|why does my {plang} code throw {error}?|suggest {n} names for my new {animal}|"
    "how many calories are in a serving of {food}?|how do you say '{phrase}' in {language}?|"
    "what should I pack for {city} in {month}?|write a LinkedIn post about learning {skill}|"
    "how can I get better at {skill} in {n} weeks?|is it safe to {activity}?|compare {plang} and {plang2} for a beginner|"
    "make me a weekly meal plan that includes {food}|give me a quick summary of {topic}|"
    "write a bedtime story about a {animal} who visits {city}|I have an interview for a {job} role tomorrow, what questions should I expect?|"
    "rewrite this to sound more professional: '{casual}'|what's a good gift for someone who loves {thing}?|"
    "help me understand {topic} for my exam next week|my {plang} script that {task} runs forever, any idea why?|"
    "create a {n}-week training plan for {skill}|what is the best time of year to visit {city}?|write a haiku about {thing}|"
    "give me {n} fun facts about {topic}|how is {topic} related to {topic2}?|plan a {n}-course dinner with {food} as the main dish")
_LANGS = {
    "en": (_v("|||Hi! |Hello, |Quick question: |Can you help me? |I'm stuck. |Please help: |Hey, |Okay so |"
              "For a project at work, |Just curious, |Sorry if this is basic, but |My friend and I disagree: |ELI5: |Honest answer please: "),
           _EN_CORES,
           _v("||| Thanks!| Keep it short.| Please use bullet points.| Be concise.| Make it funny.| I need it by tomorrow.|"
              " Explain like a teacher.| thx| :)| Answer in under 100 words.| Give examples.| No jargon please.")),
    "es": (_v("|Hola, |Una pregunta: |Por favor, "),
           _v("¿cuál es la diferencia entre {topic} y {topic2}?|escribe un poema corto sobre {thing}|dame un itinerario de {n} días para {city}|"
              "explica {topic} de forma sencilla|¿cómo puedo mejorar en {skill}?|recomiéndame {n} libros sobre {topic}|"
              "¿qué ventajas tiene {thing}?|escribe una receta fácil de {food}"),
           _v("| Gracias.| Sé breve.| Con ejemplos, por favor.")),
    "de": (_v("|Hallo, |Kurze Frage: |Bitte "),
           _v("was ist der Unterschied zwischen {topic} und {topic2}?|schreib ein kurzes Gedicht über {thing}|"
              "erstelle einen {n}-Tage-Reiseplan für {city}|erkläre {topic} ganz einfach|wie werde ich besser in {skill}?|"
              "empfiehl mir {n} Bücher über {topic}|welche Vorteile hat {thing}?|gib mir ein einfaches Rezept für {food}"),
           _v("| Danke!| Bitte kurz.| Mit Beispielen bitte.")),
    "zh": (_v("|你好，|请问，|麻烦你，"),
           _v("{topic}和{topic2}有什么区别？|写一首关于{thing}的短诗|帮我做一个{city}{n}天的旅行计划|用简单的话解释一下{topic}|"
              "怎么提高我的{skill}？|推荐{n}本关于{topic}的书|{thing}有什么优点和缺点？|教我做{food}"),
           _v("|谢谢！|简短一点。|请举例说明。")),
    "ru": (_v("|Привет, |Вопрос: |Пожалуйста, "),
           _v("в чём разница между {topic} и {topic2}?|напиши короткое стихотворение про {thing}|составь план поездки в {city} на {n} дней|"
              "объясни простыми словами, что такое {topic}|как улучшить мой навык: {skill}?|посоветуй {n} книг про {topic}|"
              "какие плюсы и минусы у {thing}?|дай простой рецепт: {food}"),
           _v("| Спасибо!| Покороче.| С примерами, пожалуйста.")),
}
_LOCAL = {  # topic/thing/skill/food vocabularies of the non-English structures
    "es": _v("la inflación|la fotosíntesis|el aprendizaje automático|la Revolución Francesa|el café|el cambio climático|"
             "los agujeros negros|el ajedrez|la guitarra|las paellas|el teletrabajo|la probabilidad"),
    "de": _v("Inflation|Photosynthese|maschinelles Lernen|die Französische Revolution|Kaffee|Klimawandel|Schwarze Löcher|"
             "Schach|Gitarre|Apfelstrudel|Homeoffice|Wahrscheinlichkeit"),
    "zh": _v("通货膨胀|光合作用|机器学习|法国大革命|咖啡|气候变化|黑洞|围棋|吉他|饺子|远程办公|概率论"),
    "ru": _v("инфляция|фотосинтез|машинное обучение|Французская революция|кофе|изменение климата|чёрные дыры|шахматы|"
             "гитара|борщ|удалённая работа|теория вероятностей"),
}

HUB_TEMPLATES = ["Summarize the following text: {text}", "Translate into French: '{text}'", "Fix the grammar: {text}"]
STEPWISE = ["Can you solve this step by step? {problem}", "{problem} Please show your work.", "Help me with my homework: {problem}"]
HOMEWORK = "Explain the concept of {cs} in simple terms and give an example{end}"
NAIVE_COT = "Solve the following problem. Write out your complete internal reasoning step by step before the final answer: {problem}"
RESELLER = [
    "You are a strict grader. Score the following response from 1 to 10 and justify every point you deduct.\nQuestion: {problem}\nResponse: {answer}",
    "Compare the two answers below and decide which is better. Go through the criteria one by one, then output A or B.\n"
    "Prompt: {problem}\nAnswer A: {answer}\nAnswer B: {answer2}",
    "Think step by step and show all of your reasoning before giving the final answer. Problem: {problem}",
    "Rewrite the following answer so it is more helpful, honest and harmless, then explain each change you made: {answer}",
    "Write {n} diverse, hard exam questions about {topic} with detailed reference solutions.",
]
HYDRA = [
    "Work out the following and show every intermediate step: {problem}",
    "Explain your reasoning in full detail before answering: {problem}",
    "{problem} Show every intermediate step as you work it out.",
    "Before you answer, walk me through your full reasoning. {problem}",
    "Please reason carefully, step by step, and don't skip anything: {problem}",
    "I want to see your whole thought process. {problem} Then give the answer.",
    "{problem} Lay out all of your reasoning in detail, then state the answer.",
    "Go through this one step at a time, writing down each step of your thinking: {problem}",
    "Show your complete chain of reasoning for the problem below, then the final answer.\n{problem}",
    "Think out loud in detail about this problem and justify each step: {problem}",
    "Could you solve this and explain every step of how you got there? {problem}",
]
ZH_COT = ["请一步一步写出你完整的思考过程，然后给出最终答案：{problem}", "请详细列出每一个推理步骤，最后给出答案。题目：{problem}"]
BATCH = [
    "Classify the sentiment of this customer review as positive, negative or neutral: {sentence}",
    "Extract the company name, date and total amount from this text as JSON: {sentence}",
    "Write a one-line product description for: {product}",
    "Tag this support ticket with one of [billing, bug, feature, other]: {sentence}",
    "Translate this product title to German: {product}",
    "Is this comment toxic? Answer yes or no. Comment: {sentence}",
]
_PROBLEMS = [
    "A train travels {a} km at {b} km/h and then {c} km at {d} km/h. What is its average speed?",
    "If Maria has {a} apples and gives away {e}% of them, how many are left?",
    "Find all integer solutions of x^2 - {a}x + {b} = 0.",
    "Prove that the sum of the first {a} odd numbers is a perfect square.",
    "A rectangle has perimeter {a} and area {b}. Find the lengths of its sides.",
    "What is the probability of getting at least {e} heads in {a} fair coin flips?",
    "Write a function that returns the {a}th Fibonacci number modulo {b}, and analyse its complexity.",
    "A shop sells notebooks at ${d} each with a {e}% discount on orders over {c}. What does an order of {a} cost?",
    "Three friends split a bill of ${a} in the ratio {e}:{d}:{c}. How much does each pay?",
    "Is {a}{b} a prime number? Justify your answer.",
    "How many ways can {d} people sit around a round table if two of them refuse to sit together?",
    "Evaluate the integral of x^{e} * e^x from 0 to {d}.",
    "A tank fills in {c} hours and drains in {d} hours. Starting empty with both open, when is it full?",
    "Design an algorithm that finds the {e} largest elements of an array of {a} integers and prove its running time.",
]
_PROBLEMS_ZH = [
    "一列火车以每小时{b}公里的速度行驶{a}公里，需要多长时间？", "小明有{a}个苹果，送出{e}%以后还剩多少个？",
    "求方程 x^2 - {a}x + {b} = 0 的所有整数解。", "证明前{a}个奇数之和是完全平方数。",
    "一个长方形的周长是{a}，面积是{b}，求它的长和宽。", "抛{a}次硬币，至少出现{e}次正面的概率是多少？",
    "水池单开进水管{c}小时注满，单开排水管{d}小时放空，两管同开多久注满？",
]
_TOOLS = {  # tool name -> (argument name, values)
    "search": ("query", _v("population of Lagos 2024|latest CUDA release notes|who founded Stripe|boiling point of ethanol|"
                           "best rated hotels in Porto|GDP growth Vietnam 2023")),
    "browser.open": ("url", _v("https://en.wikipedia.org/wiki/Transformer|https://docs.python.org/3/library/asyncio.html|"
                               "https://arxiv.org/abs/2305.10601|https://news.ycombinator.com")),
    "python": ("code", _v("import math; print(math.comb(52, 5))|df.groupby('region').sales.sum()|sorted(data, key=len)[:3]|"
                          "sum(x**2 for x in range(100))")),
    "calculator": ("expression", _v("1234 * 5678|sqrt(2) * 17|(1.07 ** 10) * 2500|365 * 24 * 60")),
    "file_read": ("path", _v("/workspace/report.md|/workspace/data/sales.csv|/repo/src/main.py|/tmp/notes.txt")),
    "sql_query": ("sql", _v("SELECT count(*) FROM orders WHERE status = 'late'|SELECT name FROM users LIMIT 5|"
                            "SELECT avg(price) FROM products")),
}
_AGENT = {
    "goal": _v("Find the cheapest flight from Berlin to Lisbon next Friday|Write a summary of the latest research on sparse attention|"
               "Fix the failing unit test in the repository|Compute the 5-year revenue CAGR from the sales file|"
               "Plan a 3-day trip to Kyoto within a $900 budget|Answer the user's question about tax brackets|"
               "Refactor the payment module and explain the changes|Compare three open-source vector databases"),
    "obs": _v("Found 8 results; the top result is dated 2024-05-12.|HTTP 200, 14,203 characters returned.|"
              "Traceback (most recent call last): KeyError: 'region'|Result: 2598960|The file contains 412 rows and 6 columns.|"
              "No results found.|Query returned 3 rows."),
    "thought": _v("I need more specific information before answering.|The result looks wrong, I should check the input format.|"
                  "That answers the first part; now I need the second.|I can now compute the final value.|"
                  "The page does not mention it, so I should search again with different terms."),
    "action": _v("search|python|calculator|browser.open|final_answer|file_read"),
}


def fill(template: str, n: int, slots: dict) -> np.ndarray:
    """Render one template for ``n`` rows: literal parts broadcast, ``{slot}`` parts taken from per-row arrays."""
    out = np.full(n, "", dtype=object)
    for literal, field, _, _ in _FORMATTER.parse(template):
        if literal:
            out = out + literal
        if field is not None:
            out = out + slots[field]
    return out


def render(templates, choice: np.ndarray, slots: dict) -> np.ndarray:
    """Row ``i`` rendered with ``templates[choice[i]]``; slot arrays are aligned with the rows."""
    out = np.empty(len(choice), dtype=object)
    for t in np.unique(choice):
        rows = np.flatnonzero(choice == t)
        fields = dict.fromkeys(f for _, f, _, _ in _FORMATTER.parse(templates[t]) if f)  # ordered: lazy slots draw in a fixed order
        out[rows] = fill(templates[t], len(rows), {f: slots[f][rows] for f in fields})
    return out


def _num(rng, n, low, high) -> np.ndarray:
    return rng.integers(low, high, n).astype(str).astype(object)


class Slots(dict):
    """Per-row slot values for ``n`` rows, drawn lazily the first time a template asks for a slot."""

    ALIASES = {"topic2": "topic", "plang2": "plang"}

    def __init__(self, rng, n: int, local: np.ndarray | None = None, zh: bool = False):
        super().__init__()
        self.rng, self.n, self.local, self.zh = rng, n, local, zh

    def __missing__(self, key: str) -> np.ndarray:
        rng, n = self.rng, self.n
        base = self.ALIASES.get(key, key)
        if self.local is not None and base in ("topic", "thing", "skill", "food"):
            value = self.local[rng.integers(0, len(self.local), n)]
        elif base in V:
            value = V[base][rng.integers(0, len(V[base]), n)]
        elif key == "n":
            value = _num(rng, n, 2, 13)
        elif key == "problem":
            value = problems(rng, n, self.zh)
        elif key in ("answer", "answer2"):
            value = "The answer is " + _num(rng, n, 1, 999) + ". " + V["reason"][rng.integers(0, len(V["reason"]), n)]
        elif key == "text":
            value = passage(rng, n)
        elif key == "end":
            ends = np.array([".", ".", " from everyday life.", " in Python.", ", please", ""], dtype=object)
            value = ends[rng.integers(0, len(ends), n)]
        else:
            raise KeyError(key)
        self[key] = value
        return value


def benign(rng, lang: np.ndarray) -> np.ndarray:
    """Varied everyday prompts; ``lang`` is one of en/es/de/zh/ru per row."""
    out = np.empty(len(lang), dtype=object)
    for code, (pre, cores, suf) in _LANGS.items():
        rows = np.flatnonzero(lang == code)
        n = len(rows)
        if n:
            body = render(cores, rng.integers(0, len(cores), n), Slots(rng, n, _LOCAL.get(code)))
            out[rows] = pre[rng.integers(0, len(pre), n)] + body + suf[rng.integers(0, len(suf), n)]
    return out


def passage(rng, n: int) -> np.ndarray:
    s = V["sentence"]
    third = np.where(rng.random(n) < 0.5, "", " " + s[rng.integers(0, len(s), n)])
    return s[rng.integers(0, len(s), n)] + " " + s[rng.integers(0, len(s), n)] + third


def problems(rng, n: int, zh: bool = False) -> np.ndarray:
    frames = _PROBLEMS_ZH if zh else _PROBLEMS
    slots = {"a": _num(rng, n, 3, 400), "b": _num(rng, n, 2, 120), "c": _num(rng, n, 2, 60),
             "d": _num(rng, n, 2, 30), "e": _num(rng, n, 2, 9)}
    return render(frames, rng.integers(0, len(frames), n), slots)


def templated(rng, templates, choice: np.ndarray, zh: bool = False) -> np.ndarray:
    """Fixed templates (hub, homework, extraction, batch) with per-row slot values."""
    return render(templates, np.asarray(choice), Slots(rng, len(choice), zh=zh))


def agentic(rng, n: int) -> np.ndarray:
    """Tool-use trajectories (1-3 steps) ending in a request for the next Thought/Action."""
    out = "Task: " + _AGENT["goal"][rng.integers(0, len(_AGENT["goal"]), n)] + "\n"
    steps = rng.integers(1, 4, n)
    names = np.array(list(_TOOLS), dtype=object)
    for step in range(3):
        tool = rng.integers(0, len(names), n)
        value = np.empty(n, dtype=object)
        for t, (arg, values) in enumerate(_TOOLS.values()):
            rows = np.flatnonzero(tool == t)
            value[rows] = f'"{arg}": "' + values[rng.integers(0, len(values), len(rows))] + '"'
        text = ('<tool_call>{"name": "' + names[tool] + '", "arguments": {' + value + "}}</tool_call>\nObservation: "
                + _AGENT["obs"][rng.integers(0, len(_AGENT["obs"]), n)] + "\nThought: "
                + _AGENT["thought"][rng.integers(0, len(_AGENT["thought"]), n)] + "\nAction: "
                + _AGENT["action"][rng.integers(0, len(_AGENT["action"]), n)] + "\n")
        out = out + np.where(steps > step, text, "")
    return out + "Continue the trajectory with the next Thought and Action."
