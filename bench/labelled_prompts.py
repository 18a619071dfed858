"""Labelled prompts for the template-grouping benchmark (``bench/bench_templates.py``).

``labelled_prompts(n, seed)`` returns a DataFrame with one row per prompt:

``prompt``          the raw prompt text
``label``           the template family it was generated from (the ground truth)
``kind``            the family's type (see below); ``singleton`` for one-off prompts
``lang``            ``en``, ``zh``, ``es``, ``de`` or ``ru``
``slot_share``      share of the prompt's characters that came from free slots (this prompt)
``slot_dominated``  the family's mean ``slot_share`` is above :data:`SLOT_DOMINATED` (0.5)

``iter_labelled_prompts(n, seed, chunk_size)`` yields the same kind of rows chunk by
chunk (one family bank for the whole ``n``), so a million prompts never sit in memory
at once.  Everything is a deterministic function of ``(n, seed)`` (and the chunk size).

Families
--------
A *family* is one operation's prompt template: a base instruction (10-50 words) with
slots filled per prompt.  The family bank has ``~2.5 * n**0.6`` families (≈950 at
20k prompts, ≈10k at 1M) with log-normal popularity, in five languages (English
about half; Chinese written without spaces, Spanish, German, Russian):

``synthetic``   role + task + 1-3 constraints + optional output format, composed from
                per-language clause grammars; family-level choices (document type,
                audience...) are fixed when the family is made; each word slot (topic,
                person name, city, item, a sentence...) is either fixed for the whole
                family (probability 0.4: an operation that varies only some slots) or
                drawn per prompt; numbers always vary.
``sibling``     hard negative: a copy of a ``synthetic`` family (same role, constraints,
                format and synonyms) with a *different task* clause.  A different request
                with the same boilerplate is a different template.
``wrap-long``   a long instruction (role, "solve the following problem", constraints,
                format) around a word problem drawn from a *shared* per-language problem
                bank, so the same problem text appears in many families.
``wrap-short``  a short instruction ("Solve: {problem}") around the shared problem bank.
``generic``     a short generic instruction around a 2-3 sentence passage drawn from a
                *shared* passage pool ("Summarize the following text: {passage}").
``hydra``, ``stepwise``, ``reseller``, ``cot``, ``homework``, ``batch``, ``hub``, ``agentic``
                the fixed templates of :mod:`graphlinker.sim.text` (HYDRA's eleven
                rotating instructions are eleven families; all problem slots use the
                shared problem bank, so HYDRA/STEPWISE/RESELLER/wrap families wrap the
                very same problems).
``singleton``   one-off free text (≈25% of prompts): an everyday request
                (:func:`~graphlinker.sim.text.benign`) plus free prose, each with its
                own label.

Per-prompt paraphrase noise inside a family (the variation an operation uses to look
different; one label covers all of it): each family fixes a base synonym for every
synonym site of its instruction and each prompt swaps 0-2 of them ("Solve"/"Work out",
"explain"/"describe"); 20% of prompts use a reordered clause order; 25% get a polite
prefix and 25% a polite suffix; 8% get a one-character typo (swap, drop or doubled
letter, anywhere in the prompt).

Labelling rule
--------------
Two prompts have the same label exactly when they were generated from the same family,
whatever their slot contents and noise.  Families that wrap the same slot content with
different instructions (the same problem under two wrappers, the same passage under
"Summarize" and "Paraphrase") are *different* templates, even when the slot makes up most
of the text.  Singletons are never the same template as anything (their free prose makes
their texts distinct; the benchmark checks that no two labels share a normalised text).

A family whose text is mostly free slot text (``summarize: {passage}``, a one-line wrapper
around a long problem, agent trajectories) is still one template by this rule, but
character-shingle Jaccard cannot see that: its prompts differ mostly by the slot.  Such
families are flagged ``slot_dominated`` (mean share of free-slot characters over 0.5,
measured on 24 sample prompts per family; numbers inside slots count as slot text, so the
share is an upper bound on the normalised text's), and the benchmark reports metrics both
with and without them.  Numeric slots (``{n}``) are masked by normalisation and do not
count as free slot text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from graphlinker.sim import text as T

SLOT_DOMINATED = 0.5
LANGS = ("en", "zh", "es", "de", "ru")
LANG_P = (0.5, 0.125, 0.125, 0.125, 0.125)
COLUMNS = ["prompt", "label", "kind", "lang", "slot_share", "slot_dominated"]

P_REORDER, P_PREFIX, P_SUFFIX, P_TYPO = 0.2, 0.25, 0.25, 0.08
SWAPS_P = (0.35, 0.4, 0.25)  # 0, 1 or 2 synonym swaps per prompt
SINGLETON_SHARE = 0.25
P_FREEZE = 0.4  # chance that a word slot of a synthetic family is fixed for the whole family


def _v(text: str) -> np.ndarray:
    return np.array(text.split("|"), dtype=object)


# ----------------------------------------------------------------------------- vocabularies

_FIRST = {
    "en": "James|Mary|Robert|Patricia|John|Jennifer|Michael|Linda|David|Elizabeth|William|Barbara|Richard|Susan|Joseph|"
          "Jessica|Thomas|Sarah|Chris|Karen|Daniel|Nancy|Matthew|Lisa|Anthony|Betty|Mark|Sandra|Steven|Ashley|Priya|Omar|"
          "Wei|Fatima|Kenji|Aisha|Lucas|Chloe|Mateo|Zoe",
    "es": "María|José|Lucía|Javier|Carmen|Pablo|Sofía|Diego|Elena|Alejandro|Paula|Andrés|Laura|Miguel|Valentina|Sergio",
    "de": "Lukas|Anna|Jonas|Lea|Felix|Marie|Paul|Sophie|Maximilian|Laura|Leon|Hannah|Tobias|Julia|Moritz|Katharina",
    "ru": "Алексей|Мария|Дмитрий|Анна|Сергей|Екатерина|Иван|Ольга|Михаил|Наталья|Андрей|Татьяна|Павел|Елена|Никита|Юлия",
    "zh": "伟|芳|娜|敏|静|丽|强|磊|军|洋|勇|艳|杰|娟|涛|明|超|秀英|华|慧",
}
_LAST = {
    "en": "Smith|Johnson|Williams|Brown|Jones|Garcia|Miller|Davis|Rodriguez|Martinez|Hernandez|Lopez|Wilson|Anderson|Taylor|"
          "Thomas|Moore|Jackson|Martin|Lee|Thompson|White|Harris|Clark|Lewis|Walker|Young|Allen|King|Wright|Patel|Khan|Chen|"
          "Nguyen|Kim|Sato|Okafor|Novak|Rossi|Dubois",
    "es": "García|Fernández|González|Rodríguez|López|Martínez|Sánchez|Pérez|Gómez|Martín|Jiménez|Ruiz|Hernández|Díaz|Moreno|Muñoz",
    "de": "Müller|Schmidt|Schneider|Fischer|Weber|Meyer|Wagner|Becker|Schulz|Hoffmann|Koch|Richter|Bauer|Klein|Wolf|Schröder",
    "ru": "Иванов|Смирнов|Кузнецов|Попов|Васильев|Петров|Соколов|Михайлов|Новиков|Фёдоров|Морозов|Волков|Алексеев|Лебедев",
    "zh": "王|李|张|刘|陈|杨|黄|赵|吴|周|徐|孙|马|朱|胡|郭|何|高|林|罗",
}
_TOPICS = {
    "en": np.concatenate([T.V["topic"], T.V["cs"], T.V["thing"], _v(
        "urban gardening|the gig economy|vaccines|electric scooters|the Renaissance|volcanoes|minimum wage laws|cryptography|"
        "coral reefs|the printing press|intermittent fasting|open-source software|the Silk Road|antibiotic resistance|"
        "self-driving cars|carbon taxes|the Apollo program|social anxiety|microplastics|the four-day work week|"
        "Shakespeare's sonnets|index funds|the human microbiome|3D printing|desertification|the Marshall Plan|"
        "remote learning|wind turbines|the gold standard|language acquisition")]),
    "es": np.concatenate([T._LOCAL["es"], _v(
        "la energía solar|el turismo masivo|la inteligencia artificial|la Guerra Civil española|el reciclaje|la vivienda|"
        "las redes sociales|el flamenco|la dieta mediterránea|el cambio de hora|los videojuegos|la sequía|el euro|"
        "la educación pública|los coches eléctricos|la astronomía|el fútbol|la despoblación rural")]),
    "de": np.concatenate([T._LOCAL["de"], _v(
        "die Energiewende|der Fachkräftemangel|künstliche Intelligenz|die Wiedervereinigung|Mülltrennung|Mietpreise|"
        "soziale Medien|die Bahn|Datenschutz|das Bauhaus|erneuerbare Energien|die Rente|Elektroautos|Astronomie|Fußball|"
        "die Digitalisierung|Bienensterben|Inflation im Euroraum")]),
    "ru": np.concatenate([T._LOCAL["ru"], _v(
        "искусственный интеллект|космонавтика|русская литература|ипотека|социальные сети|экология городов|"
        "электромобили|здоровое питание|дистанционное обучение|криптовалюта|история Петербурга|балет|туризм|"
        "пенсионная система|вечная мерзлота|олимпиадная математика|кибербезопасность|семейный бюджет")]),
    "zh": np.concatenate([T._LOCAL["zh"], _v(
        "人工智能|区块链|量子计算|城市化|新能源汽车|唐朝历史|心理健康|垃圾分类|网络安全|养老金|中医|高铁|"
        "短视频|碳中和|乡村振兴|芯片产业|外卖平台|电子商务")]),
}
_CITIES = {
    "en": T.V["city"], "es": _v("Madrid|Sevilla|Valencia|Bilbao|Granada|Buenos Aires|Lima|Bogotá|Ciudad de México|Santiago"),
    "de": _v("Berlin|Hamburg|München|Köln|Wien|Zürich|Dresden|Leipzig|Freiburg|Salzburg"),
    "ru": _v("Москва|Санкт-Петербург|Казань|Сочи|Новосибирск|Екатеринбург|Калининград|Владивосток|Иркутск|Ярославль"),
    "zh": _v("北京|上海|成都|西安|杭州|广州|深圳|重庆|南京|苏州|厦门|青岛|昆明|大理|桂林"),
}
_ITEMS = {
    "en": _v("notebooks|apples|T-shirts|concert tickets|bicycles|laptops|cupcakes|solar panels|phone cases|candles|"
             "board games|coffee mugs|umbrellas|tomato plants|paperback books"),
    "es": _v("cuadernos|manzanas|camisetas|entradas|bicicletas|pasteles|libros|velas"),
    "de": _v("Hefte|Äpfel|T-Shirts|Eintrittskarten|Fahrräder|Kuchen|Bücher|Kerzen"),
    "ru": _v("тетрадей|яблок|футболок|билетов|велосипедов|пирожков|книг|свечей"),
    "zh": _v("本子|苹果|衬衫|门票|自行车|蛋糕|书|蜡烛"),
}
_SENTENCES = {
    "en": np.concatenate([T.V["sentence"], _v(
        "The new library opens at nine and closes at six on weekdays.|My landlord has not fixed the heating since November.|"
        "Our startup doubled its revenue but burned through most of its cash.|The train was delayed again because of signal failures.|"
        "Scientists warn that the glacier could disappear within a few decades.|The recipe calls for fresh basil but dried works too.|"
        "The school board voted to extend the lunch break by ten minutes.|Sales of vinyl records have grown for the tenth year in a row.|"
        "The hotel room was clean but the walls were paper thin.|I think remote work makes people more productive, not less.|"
        "The merger will create the largest airline in the region.|Our neighbours adopted a dog that barks all night.|"
        "The app keeps logging me out every time I switch networks.|Voter turnout was the lowest in twenty years.|"
        "The bakery on the corner sells out of croissants by eight.|The court ruled that the contract was never valid.|"
        "Most participants preferred the cheaper version in blind tests.|The bridge will be closed for repairs all summer.")]),
    "es": _v("El tren llegó con una hora de retraso.|Mi vecino toca la batería todas las noches.|La empresa anunció despidos masivos ayer.|"
             "El museo estará cerrado durante las vacaciones.|Los precios del alquiler no paran de subir en la ciudad.|"
             "La comida del restaurante estaba fría y tardó mucho.|El equipo ganó el partido en el último minuto.|"
             "Creo que el teletrabajo mejora la calidad de vida.|La biblioteca abre los domingos por la mañana.|"
             "El informe muestra un aumento de las ventas en verano.|El paquete llegó roto y nadie responde.|"
             "La universidad ofrece becas para estudiantes extranjeros."),
    "de": _v("Der Zug hatte wieder eine Stunde Verspätung.|Mein Nachbar spielt jede Nacht Schlagzeug.|Die Firma hat gestern Entlassungen angekündigt.|"
             "Das Museum bleibt in den Ferien geschlossen.|Die Mieten in der Stadt steigen immer weiter.|"
             "Das Essen im Restaurant war kalt und kam sehr spät.|Die Mannschaft hat in der letzten Minute gewonnen.|"
             "Ich finde, Homeoffice verbessert die Lebensqualität.|Die Bibliothek ist sonntags vormittags geöffnet.|"
             "Der Bericht zeigt einen Anstieg der Verkäufe im Sommer.|Das Paket kam beschädigt an und niemand antwortet.|"
             "Die Universität bietet Stipendien für ausländische Studierende an."),
    "ru": _v("Поезд снова опоздал на час.|Сосед каждую ночь играет на барабанах.|Компания вчера объявила о массовых сокращениях.|"
             "Музей будет закрыт на время праздников.|Цены на аренду в городе продолжают расти.|"
             "Еда в ресторане была холодной и её долго несли.|Команда выиграла матч на последней минуте.|"
             "Я думаю, что удалённая работа улучшает качество жизни.|Библиотека открыта по воскресеньям утром.|"
             "Отчёт показывает рост продаж летом.|Посылка пришла повреждённой, и никто не отвечает.|"
             "Университет предлагает стипендии иностранным студентам."),
    "zh": _v("火车又晚点了一个小时。|我的邻居每天晚上都在打鼓。|公司昨天宣布了大规模裁员。|博物馆在假期期间闭馆。|"
             "这个城市的房租一直在上涨。|餐厅的菜是凉的，而且上得很慢。|球队在最后一分钟赢得了比赛。|我觉得远程办公提高了生活质量。|"
             "图书馆周日上午开放。|报告显示夏季销量有所增长。|包裹送到时已经破损，客服一直不回复。|这所大学为留学生提供奖学金。"),
}
_PREFIX = {
    "en": _v("Please |Hi, |Hello! |Could you help me? |Hey there, |Quick one: |Thanks in advance. |Hi team, "),
    "es": _v("Hola, |Por favor, |¿Me ayudas? |Buenas, "),
    "de": _v("Hallo, |Bitte |Kannst du mir helfen? |Hi, "),
    "ru": _v("Привет, |Пожалуйста, |Помоги, пожалуйста: |Здравствуйте, "),
    "zh": _v("你好，|请|麻烦你，|您好！"),
}
_SUFFIX = {
    "en": _v(" Thanks!| Thank you.| Much appreciated.| Please be thorough.| Cheers."),
    "es": _v(" Gracias.| ¡Muchas gracias!| Saludos."),
    "de": _v(" Danke!| Vielen Dank.| Grüße."),
    "ru": _v(" Спасибо!| Заранее спасибо.| Благодарю."),
    "zh": _v("谢谢！|多谢。|辛苦了。"),
}

# ----------------------------------------------------------------------------- clause grammars
# Markup: ((a|b)) synonym site (per-prompt noise), <<a|b>> family-level choice, {slot} per-prompt slot.

G = {
    "en": {
        "role": [
            "You are ((an experienced|a seasoned|a senior)) <<data analyst|copywriter|math tutor|software engineer|historian|"
            "nutritionist|employment lawyer|marketing strategist|physics teacher|UX researcher|financial advisor|travel agent|"
            "career coach|medical writer|product manager>>.",
            "Act as <<a strict examiner|a patient teacher|a friendly tutor|a technical reviewer|a hiring manager|"
            "an editor at a magazine|a debate coach|a startup founder>> ((helping|assisting)) a ((client|customer)).",
            "Pretend ((that you are|to be)) <<a museum guide|a tax consultant|a science journalist|a kindergarten teacher|"
            "a sports commentator|a customer support agent>> with <<twenty|many|decades of>> years of ((experience|practice)).",
            "Take on the ((role|persona)) of <<a cautious investor|an award-winning chef|a cybersecurity auditor|"
            "a primary school principal|a climate scientist>> and ((stay in character|never break character)).",
        ],
        "task": [
            "((Write|Draft|Compose)) a <<short|detailed|concise|persuasive|formal|friendly>> <<essay|report|blog post|memo|"
            "newsletter|speech|lesson plan|press release|short story|cover letter>> about {topic} for {name}.",
            "((Explain|Describe)) how {topic} ((affects|influences|shapes)) <<small businesses|teenagers|the housing market|"
            "public health|daily life|the environment|software teams|rural communities>>.",
            "((List|Give me|Enumerate)) {n} <<common misconceptions|key facts|open research questions|practical tips|"
            "historical milestones|risks|interview questions>> about {topic}.",
            "((Compare|Contrast)) {topic} and {topic2} in terms of <<cost|complexity|long-term impact|ease of learning|risk|popularity>>.",
            "((Create|Design|Build)) a <<quiz|study guide|workshop agenda|checklist|decision tree|flashcard set>> on {topic} "
            "with {n} <<questions|sections|items|steps>>.",
            "((Analyse|Examine|Evaluate)) the following statement ((made|written)) by {name}: {sentence}",
            "((Plan|Organise)) a {n}-day <<trip|workshop|study schedule|marketing campaign|training programme>> in {city} for {name}.",
            "((Generate|Produce|Come up with)) {n} <<catchy slogans|product names|blog post titles|tweet ideas|email subject lines>> "
            "for a company that sells {item}.",
            "((Rewrite|Rephrase)) this message from {name} so that it sounds <<more polite|more confident|less formal|more concise>>: {sentence}",
            "Write a {plang} function that {task}, ((and then explain|then explain)) its <<time complexity|edge cases|design choices>>.",
            "((Review|Critique)) a {plang} program that {task} and <<point out likely bugs|suggest improvements|rate its readability>>.",
            "((Tell|Give)) me the <<history|main arguments|economic impact|scientific basis>> of {topic} as if I were {name}, "
            "a <<student|retiree|CEO|child|journalist>>.",
            "((Prepare|Put together)) a <<debate brief|fact sheet|FAQ|briefing note|timeline>> on {topic} ((that|which)) {name} "
            "can ((present|use)) at the <<board meeting|school assembly|town hall|conference>>.",
            "((Suggest|Recommend)) {n} <<books|podcasts|documentaries|online courses|exercises>> for someone in {city} who wants "
            "to ((learn|understand)) {topic}.",
        ],
        "constraint": [
            "((Use|Include)) at least {n} ((concrete|real-world)) examples.",
            "Keep ((it|the answer)) under {n} words.",
            "((Avoid|Do not use)) technical jargon.",
            "((Write|Answer)) in a <<formal|casual|neutral|enthusiastic|academic>> tone.",
            "Cite {n} ((sources|references)) at the end.",
            "End with a ((short|brief)) ((summary|conclusion)).",
            "Make sure ((every|each)) step is ((justified|explained)).",
            "Do not mention <<competitors|prices|your own opinion|that you are an AI>>.",
            "((Assume|Suppose)) the reader is <<a complete beginner|an expert|a high-school student|a busy executive>>.",
            "Address the reader as {name} ((throughout|in every paragraph)).",
            "Include a ((catchy|memorable)) title.",
            "((Highlight|Emphasise)) the <<risks|benefits|trade-offs|costs>> ((clearly|explicitly)).",
            "Think step by step ((before answering|before you answer)).",
            "Double-check ((all|every)) ((numbers|calculation)) ((before|prior to)) giving the final answer.",
            "If ((anything|something)) is unclear, state your assumptions ((first|explicitly)).",
            "Mention {city} ((at least once|somewhere in the text)).",
        ],
        "format": [
            "Format the ((answer|output|response)) as a <<numbered list|table|bulleted list|single paragraph|markdown document>>.",
            "Return ((only|just)) valid JSON with the keys <<title, summary and tags|name, score and reason|"
            "question, answer and difficulty|step and result>>.",
            "((Start|Begin)) your ((answer|response)) with <<a one-sentence summary|the final answer|a question|a short anecdote>>.",
            "((Put|Place)) the final answer ((on|in)) the last line, ((after|below)) <<a horizontal rule|the heading ANSWER|a blank line>>.",
            "Use <<headings|bold keywords|emoji|short sentences>> ((throughout|to structure the answer)).",
        ],
        "solve": "((Solve|Work out)) the <<following|next>> <<problem|exercise|word problem>> ((carefully|rigorously)).",
        "wrap_short": _v("Solve: {problem}|Answer this: {problem}|{problem} Explain briefly.|Help me with this problem: {problem}|"
                         "Quick question: {problem}|Step by step please. {problem}|{problem} What is the answer?|"
                         "Can you do this one? {problem}|Homework help: {problem}|I need the solution to: {problem}|"
                         "Check my reasoning on this: {problem}|{problem} Show the formula you use.|Hint only, no answer: {problem}|"
                         "{problem} Answer with a number.|Explain this question to me: {problem}"),
        "generic": _v("Summarize the following text: {passage}|Summarise this in one sentence: {passage}|TL;DR: {passage}|"
                      "Paraphrase the following paragraph: {passage}|What is the main idea of this passage? {passage}|"
                      "Rewrite this text for a ten-year-old: {passage}|Translate the following into Spanish: {passage}|"
                      "Proofread this: {passage}|Extract the key points from: {passage}|Give this text a title: {passage}|"
                      "Continue this story: {passage}|Make this sound more formal: {passage}|List the claims made in this text: {passage}|"
                      "Is the following text biased? {passage}|Turn this into a tweet: {passage}|"
                      "Write three questions about this text: {passage}|Correct the spelling mistakes: {passage}|"
                      "Simplify this paragraph: {passage}|Identify the tone of this passage: {passage}|Shorten this text: {passage}"),
    },
    "es": {
        "role": [
            "Eres ((un experto|un especialista)) en <<marketing|historia|finanzas personales|nutrición|programación|derecho laboral|"
            "educación infantil|turismo>>.",
            "Actúa como <<un profesor paciente|un editor exigente|un asesor financiero|un guía turístico|un entrenador personal>> "
            "que ((ayuda|asesora)) a un cliente.",
        ],
        "task": [
            "((Escribe|Redacta)) un <<artículo|informe|correo|resumen|discurso|guion>> <<breve|detallado|formal|persuasivo>> sobre {topic} para {name}.",
            "((Explica|Describe)) cómo {topic} ((afecta|influye)) en <<las pequeñas empresas|los jóvenes|la economía local|"
            "la salud pública|la vida diaria>>.",
            "((Enumera|Dame)) {n} <<consejos prácticos|datos curiosos|errores comunes|preguntas de examen|ventajas y desventajas>> sobre {topic}.",
            "((Compara|Contrasta)) {topic} y {topic2} en cuanto a <<coste|dificultad|impacto|popularidad>>.",
            "((Planifica|Organiza)) un viaje de {n} días a {city} para {name}, ((incluyendo|con)) <<museos|restaurantes baratos|"
            "actividades al aire libre|transporte público>>.",
            "((Analiza|Evalúa)) la siguiente frase de {name}: {sentence}",
            "((Prepara|Elabora)) una <<guía de estudio|lista de control|ficha informativa|cronología>> sobre {topic} que {name} "
            "pueda ((presentar|usar)) en <<clase|la reunión|el congreso>>.",
        ],
        "constraint": [
            "((Usa|Incluye)) al menos {n} ejemplos ((concretos|reales)).",
            "No ((superes|pases de)) las {n} palabras.",
            "((Evita|No uses)) tecnicismos.",
            "Usa un tono <<formal|cercano|neutral|académico>>.",
            "Termina con una ((conclusión|síntesis)) breve.",
            "Justifica ((cada paso|todos los pasos)).",
            "Menciona {city} ((al menos una vez|en algún momento)).",
            "Piensa paso a paso antes de ((responder|contestar)).",
        ],
        "format": [
            "((Responde|Contesta)) en forma de <<lista numerada|tabla|párrafo único|lista con viñetas>>.",
            "Devuelve ((solo|únicamente)) JSON con las claves <<título y resumen|nombre y puntuación|pregunta y respuesta>>.",
            "((Empieza|Comienza)) con <<un resumen de una frase|la respuesta final|una pregunta>>.",
        ],
        "solve": "((Resuelve|Soluciona)) el siguiente <<problema|ejercicio>> con ((cuidado|detalle)).",
        "wrap_short": _v("Resuelve: {problem}|Ayúdame con este problema: {problem}|{problem} Explica el resultado.|¿Cómo se hace esto? {problem}"),
        "generic": _v("Resume el siguiente texto: {passage}|Traduce al inglés: {passage}|Corrige la gramática: {passage}|"
                      "¿Cuál es la idea principal? {passage}"),
    },
    "de": {
        "role": [
            "Du bist ((ein erfahrener|ein erfahrener und geduldiger)) <<Datenanalyst|Lehrer|Steuerberater|Reiseleiter|"
            "Softwareentwickler|Historiker|Ernährungsberater>>.",
            "Handle als <<strenger Prüfer|freundlicher Tutor|technischer Gutachter|Personalchef>> und ((hilf|unterstütze)) einen Kunden.",
        ],
        "task": [
            "((Schreibe|Verfasse)) einen <<kurzen|ausführlichen|sachlichen|überzeugenden>> <<Artikel|Bericht|Blogbeitrag|Brief|Vortrag>> "
            "über {topic} für {name}.",
            "((Erkläre|Beschreibe)), wie {topic} <<kleine Unternehmen|Jugendliche|den Wohnungsmarkt|die Gesundheit|den Alltag>> "
            "((beeinflusst|verändert)).",
            "((Nenne|Liste)) {n} <<praktische Tipps|häufige Irrtümer|wichtige Fakten|Prüfungsfragen|Risiken>> zu {topic}.",
            "((Vergleiche|Kontrastiere)) {topic} und {topic2} hinsichtlich <<Kosten|Aufwand|Wirkung|Beliebtheit>>.",
            "((Plane|Organisiere)) eine {n}-tägige Reise nach {city} für {name} mit <<Museen|günstigen Restaurants|Wanderungen|"
            "öffentlichen Verkehrsmitteln>>.",
            "((Analysiere|Bewerte)) den folgenden Satz von {name}: {sentence}",
            "((Erstelle|Bereite)) einen <<Lernzettel|Faktencheck|Zeitstrahl|Foliensatz>> zu {topic}, den {name} <<im Unterricht|"
            "bei der Sitzung|auf der Konferenz>> ((vorstellen|nutzen)) kann.",
        ],
        "constraint": [
            "((Nutze|Verwende)) mindestens {n} ((konkrete|anschauliche)) Beispiele.",
            "Bleib unter {n} Wörtern.",
            "((Vermeide|Verzichte auf)) Fachbegriffe.",
            "Schreibe in einem <<förmlichen|lockeren|neutralen|wissenschaftlichen>> Ton.",
            "Schließe mit einer kurzen ((Zusammenfassung|Schlussfolgerung)).",
            "Begründe jeden ((Schritt|Punkt)).",
            "Erwähne {city} ((mindestens einmal|irgendwo im Text)).",
            "Denke Schritt für Schritt, bevor du ((antwortest|die Antwort gibst)).",
        ],
        "format": [
            "((Formatiere|Gib)) die Antwort als <<nummerierte Liste|Tabelle|einzelnen Absatz|Stichpunktliste>>.",
            "Gib ((nur|ausschließlich)) JSON mit den Schlüsseln <<titel und zusammenfassung|name und punktzahl|frage und antwort>> zurück.",
            "((Beginne|Starte)) mit <<einer Zusammenfassung in einem Satz|der endgültigen Antwort|einer Frage>>.",
        ],
        "solve": "((Löse|Bearbeite)) die folgende <<Aufgabe|Textaufgabe>> ((sorgfältig|gründlich)).",
        "wrap_short": _v("Löse: {problem}|Hilf mir bei dieser Aufgabe: {problem}|{problem} Erkläre kurz.|Wie rechnet man das? {problem}"),
        "generic": _v("Fasse den folgenden Text zusammen: {passage}|Übersetze ins Englische: {passage}|Korrigiere die Grammatik: {passage}|"
                      "Was ist die Kernaussage? {passage}"),
    },
    "ru": {
        "role": [
            "Ты ((опытный|профессиональный)) <<аналитик данных|учитель математики|юрист|копирайтер|программист|историк|диетолог>>.",
            "Выступи в роли <<строгого экзаменатора|терпеливого репетитора|технического рецензента|карьерного консультанта>> "
            "и ((помоги|подскажи)) клиенту.",
        ],
        "task": [
            "((Напиши|Составь)) <<короткую|подробную|убедительную|официальную>> <<статью|заметку|речь|инструкцию|рецензию>> "
            "на тему {topic} для {name}.",
            "((Объясни|Опиши)), как {topic} ((влияет|воздействует)) на <<малый бизнес|подростков|рынок жилья|здоровье людей|"
            "повседневную жизнь>>.",
            "((Перечисли|Назови)) {n} <<практических советов|распространённых заблуждений|ключевых фактов|экзаменационных вопросов|"
            "рисков>> по теме {topic}.",
            "((Сравни|Сопоставь)) {topic} и {topic2} по <<стоимости|сложности|влиянию|популярности>>.",
            "((Спланируй|Распиши)) поездку в {city} на {n} дней для {name}, ((включая|с учётом)) <<музеи|недорогие рестораны|"
            "прогулки|общественный транспорт>>.",
            "((Проанализируй|Оцени)) следующее высказывание, автор {name}: {sentence}",
            "((Подготовь|Сделай)) <<шпаргалку|справку|хронологию|презентацию>> по теме {topic}, которую {name} сможет "
            "((показать|использовать)) <<на уроке|на совещании|на конференции>>.",
        ],
        "constraint": [
            "((Приведи|Используй)) не менее {n} ((конкретных|реальных)) примеров.",
            "Уложись в {n} слов.",
            "((Избегай|Не используй)) профессионального жаргона.",
            "Пиши в <<официальном|дружелюбном|нейтральном|научном>> тоне.",
            "В конце дай краткий ((вывод|итог)).",
            "Обоснуй каждый ((шаг|пункт)).",
            "Упомяни {city} ((хотя бы один раз|где-нибудь в тексте)).",
            "Рассуждай шаг за шагом, прежде чем ((ответить|дать ответ)).",
        ],
        "format": [
            "((Оформи|Представь)) ответ в виде <<нумерованного списка|таблицы|одного абзаца|маркированного списка>>.",
            "Верни ((только|исключительно)) JSON с ключами <<title и summary|name и score|question и answer>>.",
            "((Начни|Начинай)) с <<краткого резюме в одно предложение|окончательного ответа|вопроса>>.",
        ],
        "solve": "((Реши|Разбери)) следующую <<задачу|текстовую задачу>> ((внимательно|аккуратно)).",
        "wrap_short": _v("Реши: {problem}|Помоги решить задачу: {problem}|{problem} Объясни кратко.|Как решить? {problem}"),
        "generic": _v("Кратко перескажи следующий текст: {passage}|Переведи на английский: {passage}|"
                      "Исправь грамматические ошибки: {passage}|В чём главная мысль? {passage}"),
    },
    "zh": {
        "role": [
            "你是一位((经验丰富的|资深的))<<数据分析师|数学老师|律师|文案策划|软件工程师|历史学家|营养师>>。",
            "请扮演<<严格的考官|耐心的家教|技术评审|职业顾问>>，((帮助|协助))一位客户。",
        ],
        "task": [
            "((写|撰写))一篇关于{topic}的<<简短|详细|正式|有说服力的>><<文章|报告|演讲稿|博客|说明>>，读者是{name}。",
            "((解释|说明)){topic}如何((影响|改变))<<小企业|青少年|房地产市场|公共健康|日常生活>>。",
            "((列出|给出)){n}条关于{topic}的<<实用建议|常见误区|关键事实|考试题目|风险>>。",
            "((比较|对比)){topic}和{topic2}在<<成本|难度|影响|受欢迎程度>>方面的差异。",
            "为{name}((规划|安排))一次{n}天的{city}之旅，((包括|涵盖))<<博物馆|便宜的餐厅|户外活动|公共交通>>。",
            "((分析|评价)){name}说的这句话：{sentence}",
            "((准备|整理))一份关于{topic}的<<复习提纲|资料卡|时间线|演示文稿>>，供{name}在<<课堂上|会议上|研讨会上>>((使用|展示))。",
        ],
        "constraint": [
            "((至少|最少))举{n}个((具体|真实))的例子。",
            "字数不超过{n}字。",
            "((避免|不要))使用专业术语。",
            "使用<<正式|轻松|中立|学术>>的语气。",
            "最后给出简短的((总结|结论))。",
            "每一步都要((说明理由|给出依据))。",
            "((至少|务必))提到一次{city}。",
            "回答之前请((一步一步|逐步))思考。",
        ],
        "format": [
            "请以<<编号列表|表格|一段话|要点列表>>的形式((回答|输出))。",
            "((只|仅))返回JSON，包含<<title和summary|name和score|question和answer>>字段。",
            "((先|首先))给出<<一句话总结|最终答案|一个问题>>。",
        ],
        "solve": "请((认真|仔细))解答下面这道<<数学题|应用题>>。",
        "wrap_short": _v("解答：{problem}|请帮我做这道题：{problem}|{problem}请写出过程。|这道题怎么做？{problem}"),
        "generic": _v("总结下面这段话：{passage}|把这段话翻译成英文：{passage}|改正下面这段话的语病：{passage}|这段话的中心思想是什么？{passage}"),
    },
}

# word problems: the text.py frames plus frames with names, items, topics and cities
_PROBLEM_FRAMES = {
    "en": list(T._PROBLEMS) + [
        "{name} buys {a} {item} for ${b} each and sells them for ${c} each. What is the total profit?",
        "{name} reads {a} pages of a book about {topic} every day. The book has {b} pages. How many days does it take to finish?",
        "{name} and {name2} share {a} {item} in the ratio {d}:{e}. How many does each get?",
        "A class of {a} students voted on {topic}; {e}0% voted yes. How many voted no?",
        "{name} drives from {city} to {city2}, {a} km, at {b} km/h. How long does the trip take?",
        "The price of {item} rose from ${a} to ${b}. What is the percentage increase?",
        "{name} saves ${a} a month for {d} years at {e}% interest compounded yearly. How much has {name} saved?",
        "{name} is {d} years older than {name2}. In {e} years their ages will add up to {a}. How old is {name2} now?",
        "A factory makes {a} {item} per hour and {e}% are defective. How many good {item} are made in {d} hours?",
        "{name} walks {d} km north and {e} km east from the station in {city}. How far is {name} from the start?",
        "In a survey about {topic}, {a} of {b}0 people agreed. Estimate the proportion with a 95% confidence interval.",
        "A shop in {city} sells {item} at ${d} each and gives one free for every {e} bought. How much do {a} {item} cost?",
    ],
    "zh": list(T._PROBLEMS_ZH) + [
        "{name}买了{a}个{item}，每个{b}元，又以每个{c}元卖出，一共赚了多少钱？",
        "{name}每天读{a}页关于{topic}的书，这本书共{b}页，几天能读完？",
        "{name}和{name2}按{d}:{e}分{a}个{item}，每人分到多少？",
        "{name}从{city}开车到{city2}，全程{a}公里，时速{b}公里，需要几个小时？",
        "一家工厂每小时生产{a}个{item}，次品率为{e}%，{d}小时能生产多少个合格品？",
    ],
    "es": [
        "{name} compra {a} {item} a {b} euros cada uno y los vende a {c} euros. ¿Cuánto gana en total?",
        "{name} lee {a} páginas al día de un libro sobre {topic} que tiene {b} páginas. ¿Cuántos días tarda en terminarlo?",
        "{name} y {name2} se reparten {a} {item} en la proporción {d}:{e}. ¿Cuántos recibe cada uno?",
        "Un tren recorre {a} km de {city} a {city2} a {b} km/h. ¿Cuánto dura el viaje?",
        "Una fábrica produce {a} {item} por hora y el {e}% salen defectuosos. ¿Cuántos buenos produce en {d} horas?",
        "Halla todas las soluciones enteras de x^2 - {a}x + {b} = 0.",
    ],
    "de": [
        "{name} kauft {a} {item} zu je {b} Euro und verkauft sie für {c} Euro. Wie hoch ist der Gewinn?",
        "{name} liest jeden Tag {a} Seiten eines Buches über {topic} mit {b} Seiten. Wie viele Tage braucht {name}?",
        "{name} und {name2} teilen {a} {item} im Verhältnis {d}:{e}. Wie viele bekommt jeder?",
        "Ein Zug fährt {a} km von {city} nach {city2} mit {b} km/h. Wie lange dauert die Fahrt?",
        "Eine Fabrik stellt {a} {item} pro Stunde her, {e}% davon sind fehlerhaft. Wie viele gute entstehen in {d} Stunden?",
        "Bestimme alle ganzzahligen Lösungen von x^2 - {a}x + {b} = 0.",
    ],
    "ru": [
        "{name} купил {a} {item} по {b} рублей и продал по {c} рублей. Какова прибыль?",
        "{name} читает {a} страниц в день книги про {topic}, в которой {b} страниц. За сколько дней {name} её прочтёт?",
        "{name} и {name2} делят {a} {item} в отношении {d}:{e}. Сколько получит каждый?",
        "Поезд проходит {a} км из города {city} в город {city2} со скоростью {b} км/ч. Сколько длится поездка?",
        "Завод выпускает {a} {item} в час, {e}% из них бракованные. Сколько годных изделий за {d} часов?",
        "Найдите все целые решения уравнения x^2 - {a}x + {b} = 0.",
    ],
}

# word-level synonyms used to put paraphrase noise into fixed (text.py and pool) instructions
_AUTO_SYN = {
    "en": {"solve": "work out", "explain": "describe", "show": "write out", "following": "next", "problem": "question",
           "answer": "reply", "reasoning": "thinking", "detailed": "thorough", "detail": "depth", "help": "assist",
           "summarize": "sum up", "summarise": "sum up", "translate": "convert", "fix": "correct", "classify": "categorize",
           "extract": "pull out", "text": "passage", "carefully": "thoroughly", "every": "each", "complete": "full",
           "compare": "contrast", "rewrite": "rephrase", "diverse": "varied", "hard": "difficult", "justify": "explain",
           "decide": "determine", "final": "last", "please": "kindly", "comment": "message", "simple": "plain",
           "concept": "idea", "example": "illustration", "paragraph": "passage", "main": "central", "write": "produce",
           "give": "provide", "tag": "label", "strict": "tough", "short": "brief"},
    "es": {"resuelve": "soluciona", "explica": "describe", "problema": "ejercicio", "texto": "fragmento", "resume": "sintetiza",
           "traduce": "pasa", "corrige": "revisa", "ayúdame": "échame una mano", "principal": "central"},
    "de": {"löse": "berechne", "erkläre": "beschreibe", "aufgabe": "übung", "text": "abschnitt", "fasse": "fass",
           "übersetze": "übertrage", "korrigiere": "verbessere", "hilf": "helf", "kurz": "knapp"},
    "ru": {"реши": "решите", "объясни": "поясни", "задачу": "задачку", "текст": "отрывок", "перескажи": "изложи",
           "переведи": "переложи", "исправь": "поправь", "кратко": "коротко", "помоги": "подскажи"},
    "zh": {"总结": "概括", "翻译": "译", "改正": "修改", "解答": "解", "写出": "列出", "过程": "步骤", "答案": "结果",
           "详细": "具体", "思考": "推理", "题目": "问题", "帮我": "帮忙"},
}

# ----------------------------------------------------------------------------- markup


_TOKEN = re.compile(r"\(\((.*?)\)\)|<<(.*?)>>|\{(\w+)\}|((?:(?!\(\(|<<|\{).)+)", re.S)


@dataclass
class Syn:
    alts: tuple[str, ...]
    base: int = 0


@dataclass
class Slot:
    name: str




def parse(markup: str, rng: np.random.Generator, random_base: bool = True) -> list:
    """Pieces of one clause; ``<<..>>`` choices are fixed now, ``((..))`` bases too (randomly unless told not to)."""
    pieces: list = []
    for syn, fixed, slot, lit in _TOKEN.findall(markup):
        if syn:
            alts = tuple(syn.split("|"))
            pieces.append(Syn(alts, int(rng.integers(0, len(alts))) if random_base else 0))
        elif fixed:
            options = fixed.split("|")
            pieces.append(options[int(rng.integers(0, len(options)))])
        elif slot:
            pieces.append(Slot(slot))
        elif lit:
            pieces.append(lit)
    return pieces


def auto_markup(text: str, lang: str) -> str:
    """Wrap the known words of a fixed instruction into synonym sites (slots left alone)."""
    table = _AUTO_SYN[lang]
    if lang == "zh":
        pattern = re.compile("|".join(map(re.escape, sorted(table, key=len, reverse=True))))
    else:
        pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(table, key=len, reverse=True))) + r")\b", re.I)

    def sub(m: re.Match) -> str:
        word = m.group(0)
        alt = table[word.lower()]
        if word[:1].isupper():
            alt = alt[:1].upper() + alt[1:]
        return f"(({word}|{alt}))"

    parts = re.split(r"(\{\w+\})", text)  # never touch slot names
    return "".join(p if p.startswith("{") else pattern.sub(sub, p) for p in parts)


# ----------------------------------------------------------------------------- families


@dataclass
class Family:
    label: str
    kind: str
    lang: str
    clauses: list  # list of piece lists
    orders: list  # clause orders; orders[0] is canonical
    weight: float
    slot_share: float = 0.0
    extra: dict = field(default_factory=dict)
    frozen: dict = field(default_factory=dict)  # word slots fixed for the whole family (slot -> value)

    @property
    def slot_dominated(self) -> bool:
        return self.slot_share > SLOT_DOMINATED


class SlotDraw:
    """Per-prompt slot values for ``m`` prompts of one language, drawn lazily."""

    def __init__(self, rng: np.random.Generator, m: int, lang: str, bank: Bank):
        self.rng, self.m, self.lang, self.bank = rng, m, lang, bank
        self.values: dict[str, np.ndarray] = {}

    def _pick(self, pool: np.ndarray) -> np.ndarray:
        return pool[self.rng.integers(0, len(pool), self.m)]

    def get(self, name: str) -> np.ndarray:
        if name not in self.values:
            self.values[name] = self._draw(name)
        return self.values[name]

    def _draw(self, name: str) -> np.ndarray:
        rng, m, lang = self.rng, self.m, self.lang
        base = name.rstrip("0123456789")
        if base == "topic":
            return self._pick(_TOPICS[lang])
        if base == "name":
            return _names(rng, m, lang)
        if base == "city":
            return self._pick(_CITIES[lang])
        if base == "item":
            return self._pick(_ITEMS[lang])
        if base == "sentence":
            return self._pick(_SENTENCES[lang])
        if name == "n":
            return rng.integers(2, 21, m).astype(str).astype(object)
        if name in ("problem", "problem2"):
            return self.bank.problems(rng, m, lang)
        if name in ("passage", "text"):
            s = _SENTENCES[lang]
            sep = "" if lang == "zh" else " "
            third = np.where(rng.random(m) < 0.5, "", sep + self._pick(s))
            return self._pick(s) + sep + self._pick(s) + third
        if name in ("answer", "answer2"):
            return "The answer is " + rng.integers(1, 999, m).astype(str).astype(object) + ". " + self._pick(T.V["reason"])
        if name in T.V:
            return self._pick(T.V[name])
        if name == "end":
            return self._pick(np.array([".", ".", " from everyday life.", " in Python.", ", please", ""], dtype=object))
        if name == "trajectory":
            return T.agentic(rng, m)
        raise KeyError(name)


NUMERIC_SLOTS = {"n"}


def _names(rng: np.random.Generator, m: int, lang: str) -> np.ndarray:
    first, last = _v(_FIRST[lang]), _v(_LAST[lang])
    f = first[rng.integers(0, len(first), m)]
    surname = last[rng.integers(0, len(last), m)]
    return surname + f if lang == "zh" else f + " " + surname


def _lengths(values: np.ndarray) -> np.ndarray:
    return np.fromiter(map(len, values), dtype=np.int64, count=len(values))


class Bank:
    """The family bank of one ``(n, seed)``: families, their popularity, the shared problem bank."""

    def __init__(self, n: int, seed: int):
        self.seed = seed
        rng = np.random.default_rng([seed, 7001])
        self._problem_bank = {lang: self._make_problems(rng, lang, 400 if lang == "en" else 120) for lang in LANGS}
        self.families: list[Family] = []
        n_families = max(40, int(round(2.5 * max(n, 1) ** 0.6)))
        self._build(rng, n_families)
        w = np.array([f.weight for f in self.families])
        self.p = w / w.sum()
        self._measure_slot_share()

    # -- problems -----------------------------------------------------------------
    def _make_problems(self, rng, lang: str, size: int) -> list[tuple[str, dict]]:
        """Problem templates with their word slots fixed (numbers still free): the shared slot content."""
        frames = _PROBLEM_FRAMES[lang]
        out = []
        for _ in range(size):
            frame = frames[int(rng.integers(0, len(frames)))]
            words = {}
            for _, f, _, _ in T._FORMATTER.parse(frame):
                if f and f not in "abcde" and f not in words:
                    one = SlotDraw(rng, 1, lang, self)
                    words[f] = str(one.get(f)[0])
            out.append((frame, words))
        return out

    def problems(self, rng, m: int, lang: str) -> np.ndarray:
        bank = self._problem_bank[lang]
        which = rng.integers(0, len(bank), m)
        nums = {"a": rng.integers(3, 400, m), "b": rng.integers(2, 120, m), "c": rng.integers(2, 60, m),
                "d": rng.integers(2, 30, m), "e": rng.integers(2, 9, m)}
        nums = {k: v.astype(str).astype(object) for k, v in nums.items()}
        out = np.empty(m, dtype=object)
        for b in np.unique(which):
            rows = np.flatnonzero(which == b)
            frame, words = bank[b]
            slots = {k: np.full(len(rows), v, dtype=object) for k, v in words.items()}
            slots.update({k: v[rows] for k, v in nums.items()})
            out[rows] = T.fill(frame, len(rows), slots)
        return out

    # -- families -----------------------------------------------------------------
    def _add(self, rng, kind: str, lang: str, clauses: list, orders: list | None = None, weight: float | None = None) -> Family:
        orders = orders or [list(range(len(clauses)))]
        w = float(rng.lognormal(0.0, 1.0)) if weight is None else weight
        fam = Family(f"f{len(self.families):05d}", kind, lang, clauses, orders, w)
        self.families.append(fam)
        return fam

    def _build(self, rng, n_families: int) -> None:
        # 1. the fixed templates of graphlinker.sim.text, one family each
        fixed = ([("hydra", t, "en") for t in T.HYDRA] + [("stepwise", t, "en") for t in T.STEPWISE]
                 + [("reseller", t, "en") for t in T.RESELLER] + [("cot", T.NAIVE_COT, "en")]
                 + [("cot", t, "zh") for t in T.ZH_COT] + [("homework", T.HOMEWORK, "en")]
                 + [("batch", t, "en") for t in T.BATCH] + [("hub", t, "en") for t in T.HUB_TEMPLATES])
        for kind, text, lang in fixed:
            self._add(rng, kind, lang, [parse(auto_markup(text, lang), rng, random_base=False)])
        self._add(rng, "agentic", "en", [[Slot("trajectory")]])
        remaining = max(0, n_families - len(self.families))
        # 2. generic and short-wrapper pools (each pool entry is one family, at most once)
        pools = [(kind, lang, text) for kind, key in (("generic", "generic"), ("wrap-short", "wrap_short"))
                 for lang in LANGS for text in G[lang][key]]
        take = min(len(pools), int(round(0.11 * remaining)))
        for i in rng.permutation(len(pools))[:take]:
            kind, lang, text = pools[i]
            self._add(rng, kind, lang, [parse(auto_markup(text, lang), rng, random_base=False)])
        remaining = max(0, n_families - len(self.families))
        # 3. long wrappers, synthetic families and their siblings
        n_wrap = int(round(0.1 * remaining))
        n_sib = int(round(0.09 * remaining))
        n_syn = remaining - n_wrap - n_sib
        langs = rng.choice(LANGS, n_wrap + n_syn, p=LANG_P)
        for lang in langs[:n_wrap]:
            self._wrap_long(rng, str(lang))
        synthetic = [self._synthetic(rng, str(lang)) for lang in langs[n_wrap:]]
        for parent in (synthetic[i] for i in rng.integers(0, max(1, len(synthetic)), n_sib if synthetic else 0)):
            self._sibling(rng, parent)

    def _common(self, rng, lang: str) -> tuple[list, list, list]:
        g = G[lang]
        role = [parse(g["role"][rng.integers(0, len(g["role"]))], rng)] if rng.random() < 0.6 else []
        k = int(rng.choice([1, 2, 3], p=[0.35, 0.4, 0.25]))
        constraints = [parse(g["constraint"][i], rng) for i in rng.choice(len(g["constraint"]), k, replace=False)]
        fmt = [parse(g["format"][rng.integers(0, len(g["format"]))], rng)] if rng.random() < 0.6 else []
        return role, constraints, fmt

    @staticmethod
    def _orders(n_role: int, n_main: int, n_cons: int, n_fmt: int, rng) -> list[list[int]]:
        idx = list(range(n_role + n_main + n_cons + n_fmt))
        role = idx[:n_role]
        main = idx[n_role:n_role + n_main]
        cons = idx[n_role + n_main:n_role + n_main + n_cons]
        fmt = idx[n_role + n_main + n_cons:]
        canonical = role + main + cons + fmt
        alts = [main + role + cons + fmt if role else main + cons[::-1] + fmt,  # role after the task / constraints reversed
                role + cons + main + fmt,  # constraints before the task
                role + main + fmt + cons]  # format before the constraints
        alts = [a for a in alts if a != canonical] or [canonical]
        return [canonical] + [alts[i] for i in rng.permutation(len(alts))[:2]]

    def _synthetic(self, rng, lang: str) -> Family:
        g = G[lang]
        role, constraints, fmt = self._common(rng, lang)
        task_i = int(rng.integers(0, len(g["task"])))
        task = [parse(g["task"][task_i], rng)]
        clauses = role + task + constraints + fmt
        fam = self._add(rng, "synthetic", lang, clauses, self._orders(len(role), 1, len(constraints), len(fmt), rng))
        fam.extra = {"task": task_i, "n_role": len(role)}
        fam.frozen = self._freeze(rng, lang, clauses)
        return fam

    def _freeze(self, rng, lang: str, clauses: list, frozen: dict | None = None) -> dict:
        """Fix each word slot of the family for all its prompts with probability P_FREEZE (numbers always vary)."""
        frozen = dict(frozen or {})
        names = dict.fromkeys(p.name for clause in clauses for p in clause if isinstance(p, Slot))
        for name in names:
            if name in frozen or name in NUMERIC_SLOTS or name in ("problem", "passage", "text", "trajectory"):
                continue
            if rng.random() < P_FREEZE:
                frozen[name] = str(SlotDraw(rng, 1, lang, self).get(name)[0])
        return frozen

    def _sibling(self, rng, parent: Family) -> Family:
        """Same boilerplate (role, constraints, format, synonym bases) as ``parent``, a different task."""
        g = G[parent.lang]
        task_i = int((parent.extra["task"] + rng.integers(1, len(g["task"]))) % len(g["task"]))
        clauses = list(parent.clauses)
        clauses[parent.extra["n_role"]] = parse(g["task"][task_i], rng)
        fam = self._add(rng, "sibling", parent.lang, clauses, parent.orders)
        fam.frozen = self._freeze(rng, parent.lang, clauses, {k: v for k, v in parent.frozen.items()})
        return fam

    def _wrap_long(self, rng, lang: str) -> Family:
        role, constraints, fmt = self._common(rng, lang)
        solve = [parse(G[lang]["solve"], rng)]
        problem = [[Slot("problem")]]
        if rng.random() < 0.3:  # problem first
            clauses = problem + role + solve + constraints + fmt
            orders = [list(range(len(clauses))), [*range(1, len(clauses)), 0]]
        else:
            clauses = role + solve + constraints + fmt + problem
            last = len(clauses) - 1
            orders = [list(range(len(clauses))), [last, *range(last)]]
        return self._add(rng, "wrap-long", lang, clauses, orders)

    def _measure_slot_share(self) -> None:
        rng = np.random.default_rng([self.seed, 7002])
        for fam in self.families:
            _, share = render_family(fam, rng, 24, self, noise=False)
            fam.slot_share = float(share.mean())


# ----------------------------------------------------------------------------- rendering


def render_family(fam: Family, rng, m: int, bank: Bank, noise: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``m`` prompts of one family and each prompt's free-slot character share."""
    slots = SlotDraw(rng, m, fam.lang, bank)
    sites = [p for clause in fam.clauses for p in clause if isinstance(p, Syn)]
    swapped: dict[int, np.ndarray] = {}
    if noise and sites:
        k = rng.choice(3, m, p=SWAPS_P)
        ranks = np.argsort(np.argsort(rng.random((m, len(sites))), axis=1), axis=1)
        swap = ranks < k[:, None]
        for j, site in enumerate(sites):
            swapped[id(site)] = swap[:, j]
    slot_chars = np.zeros(m, dtype=np.int64)
    rendered = []
    for clause in fam.clauses:
        out = np.full(m, "", dtype=object)
        for piece in clause:
            if isinstance(piece, str):
                out = out + piece
            elif isinstance(piece, Syn):
                choice = np.full(m, piece.alts[piece.base], dtype=object)
                mask = swapped.get(id(piece))
                if mask is not None and mask.any() and len(piece.alts) > 1:
                    others = [a for i, a in enumerate(piece.alts) if i != piece.base]
                    pick = np.asarray(others, dtype=object)[rng.integers(0, len(others), int(mask.sum()))]
                    choice[mask] = pick
                out = out + choice
            elif piece.name in fam.frozen:
                out = out + fam.frozen[piece.name]
            else:
                values = slots.get(piece.name)
                out = out + values
                if piece.name not in NUMERIC_SLOTS:
                    slot_chars += _lengths(values)
        rendered.append(out)
    sep = "" if fam.lang == "zh" else " "
    order = np.zeros(m, dtype=np.int64)
    if noise and len(fam.orders) > 1:
        alt = rng.random(m) < P_REORDER
        order[alt] = rng.integers(1, len(fam.orders), int(alt.sum()))
    text = np.empty(m, dtype=object)
    for o in np.unique(order):
        rows = np.flatnonzero(order == o)
        parts = [rendered[c][rows] for c in fam.orders[o]]
        joined = parts[0]
        for part in parts[1:]:
            joined = joined + sep + part
        text[rows] = joined
    if noise:
        pre = rng.random(m) < P_PREFIX
        suf = rng.random(m) < P_SUFFIX
        text[pre] = _PREFIX[fam.lang][rng.integers(0, len(_PREFIX[fam.lang]), int(pre.sum()))] + text[pre]
        text[suf] = text[suf] + _SUFFIX[fam.lang][rng.integers(0, len(_SUFFIX[fam.lang]), int(suf.sum()))]
        typo = np.flatnonzero(rng.random(m) < P_TYPO)
        for i, r in zip(typo, rng.random((len(typo), 2))):
            text[i] = _typo(text[i], r)
    share = slot_chars / np.maximum(_lengths(text), 1)
    return text, share


def _typo(s: str, r: np.ndarray) -> str:
    letters = [i for i, c in enumerate(s) if c.isalpha()]
    if len(letters) < 2:
        return s
    i = letters[int(r[0] * len(letters))]
    op = int(r[1] * 3)
    if op == 0 and i + 1 < len(s):
        return s[:i] + s[i + 1] + s[i] + s[i + 2:]  # swap with the next character
    if op == 1:
        return s[:i] + s[i + 1:]  # drop
    return s[:i] + s[i] + s[i:]  # double


# ----------------------------------------------------------------------------- singletons

_WORDS: dict[str, np.ndarray] = {}


def _words(lang: str) -> np.ndarray:
    """Word pool for free prose: every word of the language's vocabularies (Chinese: 1-2 character chunks)."""
    if lang not in _WORDS:
        texts = [*_TOPICS[lang], *_SENTENCES[lang], *_CITIES[lang], *_ITEMS[lang]]
        for key in ("role", "task", "constraint", "format"):
            texts += [re.sub(r"[(){}<>|]", " ", t) for t in G[lang][key]]
        if lang == "en":
            for values in T.V.values():
                texts += list(values)
        if lang == "zh":
            chars = sorted({c for t in texts for c in t if "\u4e00" <= c <= "\u9fff"})
            words = chars + [a + b for a, b in zip(chars, chars[7:] + chars[:7])]
        else:
            words = sorted({w for t in texts for w in re.findall(r"[^\W\d_]{2,}", t.lower())})
        _WORDS[lang] = np.array(words, dtype=object)
    return _WORDS[lang]


def singletons(rng, m: int, lang: np.ndarray) -> np.ndarray:
    """One-off prompts: an everyday request plus 6-40 words of free prose (before or after it)."""
    core = T.benign(rng, lang)
    out = np.empty(m, dtype=object)
    for code in LANGS:
        rows = np.flatnonzero(lang == code)
        if not len(rows):
            continue
        words = _words(code)
        sep = "" if code == "zh" else " "
        stop = "。" if code == "zh" else ". "
        length = rng.integers(6, 41, len(rows))
        draw = words[rng.integers(0, len(words), (len(rows), 40))]
        prose = np.array([sep.join(w[:k]) for w, k in zip(draw, length)], dtype=object)
        if code != "zh":
            prose = np.array([p[:1].upper() + p[1:] for p in prose], dtype=object)
        before = rng.random(len(rows)) < 0.5
        out[rows] = np.where(before, prose + stop + core[rows], core[rows] + sep + prose + stop.strip())
    return out


# ----------------------------------------------------------------------------- public API


def iter_labelled_prompts(n: int, seed: int, chunk_size: int = 200_000) -> Iterator[pd.DataFrame]:
    """``n`` labelled prompts in chunks of ``chunk_size`` rows (the family bank is built once for ``n``)."""
    bank = Bank(n, seed)
    for c, start in enumerate(range(0, n, chunk_size)):
        yield _chunk(bank, seed, c, min(chunk_size, n - start))


def labelled_prompts(n: int, seed: int) -> pd.DataFrame:
    """``n`` labelled prompts (columns :data:`COLUMNS`; see the module docstring)."""
    if n <= 0:
        return _frame([], [], [], [], [], [])
    return next(iter_labelled_prompts(n, seed, chunk_size=n))


def family_table(n: int, seed: int) -> pd.DataFrame:
    """The families of the bank for ``(n, seed)``: label, kind, lang, weight, slot_share, slot_dominated."""
    bank = Bank(n, seed)
    return pd.DataFrame([(f.label, f.kind, f.lang, p, f.slot_share, f.slot_dominated) for f, p in zip(bank.families, bank.p)],
                        columns=["label", "kind", "lang", "p", "slot_share", "slot_dominated"])


def _chunk(bank: Bank, seed: int, c: int, m: int) -> pd.DataFrame:
    rng = np.random.default_rng([seed, 7003, c])
    n_single = int(rng.binomial(m, SINGLETON_SHARE))
    sizes = rng.multinomial(m - n_single, bank.p)
    prompts, labels, kinds, langs, shares, dominated = [], [], [], [], [], []
    for fam, size in zip(bank.families, sizes):
        if size == 0:
            continue
        text, share = render_family(fam, rng, int(size), bank)
        prompts.append(text)
        shares.append(share)
        labels.append(np.full(size, fam.label, dtype=object))
        kinds.append(np.full(size, fam.kind, dtype=object))
        langs.append(np.full(size, fam.lang, dtype=object))
        dominated.append(np.full(size, fam.slot_dominated))
    lang = rng.choice(LANGS, n_single, p=LANG_P).astype(object)
    prompts.append(singletons(rng, n_single, lang))
    labels.append(np.array([f"s{c}-{i}" for i in range(n_single)], dtype=object))
    kinds.append(np.full(n_single, "singleton", dtype=object))
    langs.append(lang)
    shares.append(np.full(n_single, np.nan))
    dominated.append(np.zeros(n_single, dtype=bool))
    frame = _frame(*(np.concatenate(x) for x in (prompts, labels, kinds, langs, shares, dominated)))
    return frame.iloc[rng.permutation(m)].reset_index(drop=True)


def _frame(prompts, labels, kinds, langs, shares, dominated) -> pd.DataFrame:
    return pd.DataFrame({
        "prompt": pd.array(np.asarray(prompts, dtype=object), dtype="string[pyarrow]"),
        "label": pd.array(np.asarray(labels, dtype=object), dtype="string[pyarrow]"),
        "kind": pd.Categorical(np.asarray(kinds, dtype=object)),
        "lang": pd.Categorical(np.asarray(langs, dtype=object)),
        "slot_share": np.asarray(shares, dtype=np.float32),
        "slot_dominated": np.asarray(dominated, dtype=bool),
    })


if __name__ == "__main__":
    import sys

    df = labelled_prompts(int(sys.argv[1]) if len(sys.argv) > 1 else 30, int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    with pd.option_context("display.max_colwidth", 200, "display.width", 250):
        print(df)
